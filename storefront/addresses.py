"""Indonesian shipping addresses: province, regency/city, district, village/ward, postal code, street.

Every place is chosen from the Kemendagri list (storefront/indonesia): the province, its regency
or city, its district (kecamatan) and the village or ward (desa/kelurahan). The postal code must
be one of the chosen district's (the village's own is the one the messages name): shipping zones
are decided from the regency's code, so an address cannot claim a regency its postal code is not
in. The checks are here, for services and forms alike; the form is ``address_forms.AddressForm``.
"""
from flask_babel import gettext as _

from .indonesia import regions


def regency_problem(province_name, regency_code):
    """Why this regency/city does not go with this province, or None."""
    regency, province = regions.regency(regency_code), regions.province_named(province_name)
    if regency is None:
        return _("Choose the regency or city from the list.")
    if province is not None and regency.province != province:
        return _("%(regency)s is in %(province)s, not in %(chosen)s.", regency=regency.name,
                 province=regency.province.name, chosen=province.name)
    return None


def postal_code_problem(regency_code, postal_code, village=None):
    """Why ``postal_code`` is not an address in this regency/city (and, with ``village``, in
    that village's district), or None.

    Says which codes fit and, when the data knows it, whose code it is instead.
    """
    regency = regions.regency(regency_code)
    if regency is None:
        return None
    if postal_code in regency.postal_codes:
        return village_postal_code_problem(village, postal_code) if village is not None else None
    message = _("Postal code %(code)s is not a postal code of %(regency)s (%(expected)s).",
                code=postal_code, regency=regency.name,
                expected=regions.describe_postal_codes(regency, postal_code or ""))
    owners = regions.regencies_with_postal_code(postal_code)
    if owners:
        message += " " + _("%(code)s is a postal code of %(places)s.", code=postal_code, places="; ".join(
            f"{r.name}, {r.province.name}" for r in owners))
    if village is not None:
        message += " " + _("The postal code of %(village)s, %(district)s is %(expected)s.",
                           village=village.name, district=village.district.name, expected=village.postal_code)
    return message


def village_postal_code_problem(village, postal_code):
    """Why ``postal_code`` is not a postal code of this village's district, or None.

    Any postal code of the district is taken (the data gives one per village, and a street
    near a border may use the neighbour's); the message names the village's own and the
    district's others, and, when the data knows it, whose code it is instead.
    """
    district = village.district
    if postal_code in district.postal_codes:
        return None
    others = district.postal_codes - {village.postal_code}
    if others:
        message = _("Postal code %(code)s does not fit %(village)s, %(district)s: its postal code is "
                    "%(expected)s (other postal codes of %(district)s: %(others)s).", code=postal_code,
                    village=village.name, district=district.name, expected=village.postal_code,
                    others=regions.list_postal_codes(others))
    else:
        message = _("Postal code %(code)s does not fit %(village)s, %(district)s: its postal code is "
                    "%(expected)s.", code=postal_code, village=village.name, district=district.name,
                    expected=village.postal_code)
    regency = district.regency
    places = [f"{d.name}, {regency.name}" for d in regions.districts(regency) if postal_code in d.postal_codes]
    places += [f"{r.name}, {r.province.name}" for r in regions.regencies_with_postal_code(postal_code)
               if r != regency]
    if places:
        message += " " + _("%(code)s is a postal code of %(places)s.", code=postal_code, places="; ".join(places))
    return message


def place_of(address):
    """The district and village of an address dict, by their exact names in its regency, or
    ``(None, None)`` where a name is not on the list."""
    regency = regions.regency(address.get("regency_code"))
    district = regions.district_named(regency, address.get("district"))
    return district, regions.village_named(district, address.get("village_ward"), address.get("postal_code"))


def address_problem(address):
    """The first reason an address dict (``AddressForm.address()``) is not consistent, or None.

    The form says the same at each field; services call this so that no other way in can
    place an order with a regency its postal code does not belong to.
    """
    if regions.province_named(address.get("province")) is None:
        return _("Choose the province.")
    problem = (regency_problem(address.get("province"), address.get("regency_code"))
               or postal_code_problem(address.get("regency_code"), address.get("postal_code")))
    if problem:
        return problem
    district, village = place_of(address)
    if district is None:
        return _("Choose the district from the list.")
    if village is None:
        return _("Choose the village or ward from the list.")
    return postal_code_problem(address.get("regency_code"), address.get("postal_code"), village)


def saved_address_data(saved):
    """Form data for a saved address, and notes to show at the fields to choose again.

    Addresses saved before places were chosen from the list hold typed names: a name is used
    only if it is exactly a place of the one above it (regency of the province, district of the
    regency, village of the district); otherwise the buyer chooses it again, told what was typed.
    Returns ``(data, notes)``, ``notes`` mapping a field name to its message.
    """
    data = {name: getattr(saved, name) for name in ("name", "phone", "postal_code", "street")}
    province = regions.province_named(saved.province)
    regency = regions.regency(saved.regency_code) if saved.regency_code else \
        regions.regency_named(province, saved.regency)
    district = regions.district_named(regency, saved.district)
    village = regions.village_named(district, saved.village_ward, saved.postal_code)
    data.update(province=province.name if province else "", regency=regency.code if regency else "",
                district=district.code if district else "", village_ward=village.code if village else "")
    notes = {}
    if regency is None:
        notes["regency"] = _("Choose the regency or city of this address again: “%(typed)s” is not on the list.",
                             typed=saved.regency)
    elif district is None:
        notes["district"] = _("Choose the district of this address again: “%(typed)s” is not on the list.",
                              typed=saved.district)
    elif village is None:
        notes["village_ward"] = _("Choose the village or ward of this address again: “%(typed)s” is not "
                                  "on the list.", typed=saved.village_ward)
    return data, notes

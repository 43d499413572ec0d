"""Indonesian shipping addresses: province, regency/city, district, village/ward, postal code, street.

The province and the regency/city are chosen from the Kemendagri list (storefront/indonesia), and
the postal code must be one of the chosen regency's: shipping zones are decided from the regency's
code, so an address cannot claim a regency its postal code is not in. The checks are here, for
services and forms alike; the form is ``address_forms.AddressForm``.
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


def postal_code_problem(regency_code, postal_code):
    """Why ``postal_code`` is not an address in this regency/city, or None.

    Says which codes the regency has and, when the data knows it, whose code it is instead.
    """
    regency = regions.regency(regency_code)
    if regency is None or postal_code in regency.postal_codes:
        return None
    message = _("Postal code %(code)s is not a postal code of %(regency)s (%(expected)s).",
                code=postal_code, regency=regency.name,
                expected=regions.describe_postal_codes(regency, postal_code or ""))
    owners = regions.regencies_with_postal_code(postal_code)
    if owners:
        message += " " + _("%(code)s is a postal code of %(places)s.", code=postal_code, places="; ".join(
            f"{r.name}, {r.province.name}" for r in owners))
    return message


def address_problem(address):
    """The first reason an address dict (``AddressForm.address()``) is not consistent, or None.

    The form says the same at each field; services call this so that no other way in can
    place an order with a regency its postal code does not belong to.
    """
    if regions.province_named(address.get("province")) is None:
        return _("Choose the province.")
    return (regency_problem(address.get("province"), address.get("regency_code"))
            or postal_code_problem(address.get("regency_code"), address.get("postal_code")))


def saved_address_data(saved):
    """Form data for a saved address, and the note to show at the regency field (or None).

    Addresses saved before regencies were chosen from the list hold a typed name: it is used
    only if it is exactly a regency of that province; otherwise the buyer chooses it again.
    """
    data = {name: getattr(saved, name) for name in ("name", "phone", "district", "village_ward",
                                                     "postal_code", "street")}
    province = regions.province_named(saved.province)
    regency = regions.regency(saved.regency_code) if saved.regency_code else \
        regions.regency_named(province, saved.regency)
    data["province"] = province.name if province else ""
    data["regency"] = regency.code if regency else ""
    if regency is not None:
        return data, None
    return data, _("Choose the regency or city of this address again: “%(typed)s” is not on the list.",
                   typed=saved.regency)

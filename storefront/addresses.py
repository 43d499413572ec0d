"""Indonesian shipping addresses: province, regency/city, district, village/ward, postal code, street.

The province and the regency/city are chosen from the Kemendagri list (storefront/indonesia), and
the postal code must be one of the chosen regency's: shipping zones are decided from the regency's
code, so an address cannot claim a regency its postal code is not in.
"""
from functools import cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from .contact import ContactError, normalise_phone
from .forms import ShopForm
from .indonesia import regions


def _strip(value):
    return " ".join(value.split()) if isinstance(value, str) else value


def _phone(form, field):
    try:
        field.data = normalise_phone(field.data)
    except ContactError:
        raise ValidationError(_l("Enter an Indonesian phone number, e.g. 0812 3456 7890.")) from None


@cache
def _province_choices():
    return [SelectChoice("", _l("Choose…"))] + [SelectChoice(p.name, p.name) for p in regions.provinces()]


@cache
def _regency_choices():
    """Every regency and city, in an <optgroup> per province: the page works without JavaScript."""
    return [SelectChoice("", _l("Choose…"))] + [
        SelectChoice(r.code, r.name, optgroup=r.province.name) for r in regions.regencies()]


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


class AddressForm(ShopForm):
    """The fields of an Indonesian address; checkout and saved addresses both use it."""

    name = StringField(_l("Recipient's name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the recipient's name.")), Length(max=120)])
    phone = StringField(_l("Phone / WhatsApp"), filters=[_strip], validators=[
        DataRequired(_l("Enter a phone number.")), Length(max=30), _phone],
        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    province = SelectField(_l("Province"), choices=_province_choices,
                           validators=[DataRequired(_l("Choose the province."))])
    regency = SelectField(_l("Regency or city"), choices=_regency_choices,
                          invalid_choice_message=_l("Choose the regency or city from the list."),
                          validators=[DataRequired(_l("Choose the regency or city."))])
    district = StringField(_l("District (kecamatan)"), filters=[_strip], validators=[
        DataRequired(_l("Enter the district.")), Length(max=80)])
    village_ward = StringField(_l("Village or ward (desa/kelurahan)"), filters=[_strip], validators=[
        DataRequired(_l("Enter the village or ward.")), Length(max=80)])
    postal_code = StringField(_l("Postal code"), filters=[_strip], validators=[
        DataRequired(_l("Enter the postal code.")),
        Regexp(r"^\d{5}$", message=_l("A postal code has 5 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "postal-code", "maxlength": 5})
    street = TextAreaField(_l("Street, house number, RT/RW, landmarks"), filters=[_strip], validators=[
        DataRequired(_l("Enter the street and house details.")), Length(max=500)])

    ADDRESS_FIELDS = ("name", "phone", "province", "regency", "district", "village_ward",
                      "postal_code", "street")

    def validate_regency(self, field):
        if field.errors or self.province.errors or not field.data:
            return
        problem = regency_problem(self.province.data, field.data)
        if problem:
            raise ValidationError(problem)

    def validate_postal_code(self, field):
        if field.errors or self.regency.errors or not self.regency.data:
            return
        problem = postal_code_problem(self.regency.data, field.data)
        if problem:
            raise ValidationError(problem)

    def address(self):
        """The address as orders and saved addresses store it: names to read, and the regency's code."""
        data = {name: getattr(self, name).data for name in self.ADDRESS_FIELDS}
        regency = regions.regency(data["regency"])
        data.update(regency=regency.name, regency_code=regency.code)
        return data

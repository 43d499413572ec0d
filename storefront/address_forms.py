"""The form of an Indonesian address (checkout and saved addresses), checked by ``addresses``."""
from functools import cache

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from .addresses import postal_code_problem, regency_problem
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

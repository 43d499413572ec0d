"""Indonesian shipping addresses: province, regency/city, district, village/ward, postal code, street."""
import re

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from .contact import ContactError, normalise_phone
from .forms import ShopForm

#: Indonesia's 38 provinces.
PROVINCES = (
    "Aceh", "Sumatera Utara", "Sumatera Barat", "Riau", "Kepulauan Riau", "Jambi", "Bengkulu",
    "Sumatera Selatan", "Kepulauan Bangka Belitung", "Lampung", "Banten", "DKI Jakarta",
    "Jawa Barat", "Jawa Tengah", "DI Yogyakarta", "Jawa Timur", "Bali", "Nusa Tenggara Barat",
    "Nusa Tenggara Timur", "Kalimantan Barat", "Kalimantan Tengah", "Kalimantan Selatan",
    "Kalimantan Timur", "Kalimantan Utara", "Sulawesi Utara", "Gorontalo", "Sulawesi Tengah",
    "Sulawesi Barat", "Sulawesi Selatan", "Sulawesi Tenggara", "Maluku", "Maluku Utara",
    "Papua", "Papua Barat", "Papua Barat Daya", "Papua Selatan", "Papua Tengah", "Papua Pegunungan",
)
NTT = "Nusa Tenggara Timur"


def _strip(value):
    return " ".join(value.split()) if isinstance(value, str) else value


def _phone(form, field):
    try:
        field.data = normalise_phone(field.data)
    except ContactError:
        raise ValidationError(_l("Enter an Indonesian phone number, e.g. 0812 3456 7890.")) from None


class AddressForm(ShopForm):
    """The fields of an Indonesian address; checkout and saved addresses both use it."""

    name = StringField(_l("Recipient's name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the recipient's name.")), Length(max=120)])
    phone = StringField(_l("Phone / WhatsApp"), filters=[_strip], validators=[
        DataRequired(_l("Enter a phone number.")), Length(max=30), _phone],
        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    province = SelectField(_l("Province"), choices=[("", _l("Choose…"))] + [(p, p) for p in PROVINCES],
                           validators=[DataRequired(_l("Choose the province."))])
    regency = StringField(_l("Regency or city"), filters=[_strip], validators=[
        DataRequired(_l("Enter the regency or city.")), Length(max=80)])
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

    def address(self):
        return {name: getattr(self, name).data for name in self.ADDRESS_FIELDS}


def same_regency(address_regency, village_regency_name):
    """Whether a typed regency/city names the village's regency ("Kab. Ngada" = "Ngada")."""
    def simple(text):
        text = re.sub(r"^(kabupaten|kab\.?|kota|kotamadya)\s+", "", (text or "").strip().lower())
        return " ".join(text.split())
    typed = (address_regency or "").strip().lower()
    if village_regency_name.lower().startswith("kota "):
        return typed.startswith("kota") and simple(typed) == simple(village_regency_name)
    return not typed.startswith("kota") and simple(typed) == simple(village_regency_name)

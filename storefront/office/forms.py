from flask_babel import lazy_gettext as _l
from wtforms import EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import HiddenInput

from ..forms import ShopForm
from ..villages.models import GROUP_TYPES
from ..villages.regions import REGENCIES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class VillageForm(ShopForm):
    name = StringField(_l("Village name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the village's name.")), Length(max=120)])
    slug = StringField(_l("Web address (lower-case letters, digits and hyphens)"), filters=[_strip],
                       validators=[DataRequired(_l("Enter the web address.")), Length(max=80),
                                   Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                                          message=_l("Use lower-case letters, digits and hyphens only."))])
    regency_code = SelectField(_l("Regency or city"), choices=[SelectChoice(code, name) for code, name in REGENCIES.items()])
    district = StringField(_l("District (kecamatan)"), filters=[_strip], validators=[Length(max=120)])
    group_name = StringField(_l("Producer group"), filters=[_strip], validators=[
        DataRequired(_l("Enter the producer group's name.")), Length(max=160)])
    group_type = SelectField(_l("Kind of group"), choices=[SelectChoice(k, v[0]) for k, v in GROUP_TYPES.items()])
    phone = StringField(_l("Phone / WhatsApp (+62)"), filters=[_strip], validators=[Optional(), Length(max=30)])
    email = EmailField(_l("E-mail"), filters=[_strip], validators=[
        Optional(), Email(_l("Enter a valid e-mail address, e.g. nama@contoh.id.")), Length(max=254)])
    story = TextAreaField(_l("Story"), validators=[Length(max=5000)])


class InviteForm(ShopForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the person's name.")), Length(max=120)])
    email = EmailField(_l("E-mail"), filters=[_strip], validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Email(_l("Enter a valid e-mail address, e.g. nama@contoh.id.")), Length(max=254)])


class RoleForm(ShopForm):
    role = SelectField(_l("Role"), choices=[SelectChoice("customer", _l("Customer")),
                                                 SelectChoice("verifier", _l("Verifier"))])


def _rate(label):
    return IntegerField(label, validators=[
        InputRequired(_l("Enter a rate in whole rupiah.")),
        NumberRange(min=0, max=10_000_000, message=_l("Enter a rate from 0 to 10,000,000 rupiah."))],
        render_kw={"inputmode": "numeric"})


class RatesForm(ShopForm):
    same_regency = _rate(_l("Same regency as the village (Rp per kg)"))
    ntt = _rate(_l("Elsewhere in NTT (Rp per kg)"))
    indonesia = _rate(_l("Elsewhere in Indonesia (Rp per kg)"))


class ListingDecisionForm(ShopForm):
    """Approve or refuse a listing, or the proposed change the office looked at."""

    #: The proposal on the page; empty for a new listing. A newer one is never decided unseen.
    revision_id = IntegerField(validators=[Optional()], widget=HiddenInput())
    reason = TextAreaField(_l("Reason (the village will see it)"), validators=[
        Optional(), Length(max=2000, message=_l("Keep the reason under 2,000 characters."))])

"""The office's forms for partners: a new partner, a new key, the partner's webhook address."""
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, IntegerField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from ..forms import ShopForm
from ..outbox.services import URL_MAX
from ..partners.keys import DEFAULT_REQUESTS_PER_MINUTE, MAX_REQUESTS_PER_MINUTE
from ..partners.services import NAME_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class PartnerForm(ShopForm):
    name = StringField(_l("Partner's name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the partner's name.")), Length(max=NAME_MAX)])
    contact_email = EmailField(_l("Contact e-mail (optional)"), filters=[_strip], validators=[
        Optional(), Email(_l("Enter a valid e-mail address, e.g. nama@contoh.id.")), Length(max=254)])


class KeyForm(ShopForm):
    requests_per_minute = IntegerField(
        _l("Requests a minute"), default=DEFAULT_REQUESTS_PER_MINUTE, validators=[
            InputRequired(_l("Enter how many requests a minute the key may make.")),
            NumberRange(min=1, max=MAX_REQUESTS_PER_MINUTE,
                        message=_l("The limit must be a whole number from 1 to %(max)d requests a minute.",
                                   max=MAX_REQUESTS_PER_MINUTE))])


class PartnerWebhookForm(ShopForm):
    url = StringField(_l("Receiver address (https://...)"), filters=[_strip], validators=[
        InputRequired(message=_l("Enter the address of your receiver, starting with https://.")),
        Length(max=URL_MAX, message=_l("The address is too long (at most %(max)d characters).", max=URL_MAX))])

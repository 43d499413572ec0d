"""The village's bank account form (the portal's finance pages)."""
import re

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from ..forms import ShopForm
from ..settlement.banks import BANKS
from ..settlement.payouts import ACCOUNT_NUMBER


def _squeeze(value):
    return " ".join(value.split()) if isinstance(value, str) else value


def _digits_only(value):
    """Spaces, dots and hyphens people type between groups of digits are dropped (as the
    service does)."""
    return re.sub(r"[\s.-]", "", value) if isinstance(value, str) else value


class BankAccountForm(ShopForm):
    bank_code = SelectField(_l("Bank"), choices=[SelectChoice("", _l("Choose the bank"))] + [
        SelectChoice(code, f"{name} ({code})") for code, name in BANKS.items()],
        validators=[DataRequired(_l("Choose the bank from the list."))])
    account_number = StringField(_l("Account number"), filters=[_digits_only], validators=[
        DataRequired(_l("Enter the account number.")),
        Regexp(ACCOUNT_NUMBER, message=_l("An account number has 6 to 20 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 30})
    holder_name = StringField(_l("Account holder's name"), filters=[_squeeze], validators=[
        DataRequired(_l("Enter the account holder's name, as the bank book shows it.")),
        Length(min=2, max=120, message=_l("Enter the account holder's name, as the bank book shows it."))],
        render_kw={"maxlength": 120, "autocomplete": "off"})

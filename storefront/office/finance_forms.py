"""Forms of the office's finance pages: the shop's fee, a payout batch, a payout's outcome, an
account refused, an adjustment of a village's balance and its reversal."""
import re
import secrets
from decimal import Decimal

from flask_babel import format_decimal, gettext as _, lazy_gettext as _l
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import TextInput

from ..forms import ShopForm
from ..portal.listing_forms import WholeNumberField

#: A percentage as people type it: ``2.5``, ``2,5``, ``2,50 %``, ``10``.
_PERCENT = re.compile(r"^(\d{1,3})(?:[.,](\d{1,2}))?$")
#: The most an adjustment may move at once; a larger correction is a mistake in the typing.
MAX_ADJUSTMENT_IDR = 1_000_000_000


def _squeeze(value):
    return " ".join(value.split()) if isinstance(value, str) else value


class InRange:
    """``min <= data <= max``; a value that could not be read was explained already."""

    def __init__(self, minimum, maximum, message):
        self.minimum, self.maximum, self.message = minimum, maximum, message

    def __call__(self, form, field):
        if field.data is not None and not self.minimum <= field.data <= self.maximum:
            raise ValidationError(self.message)


class PercentField(StringField):
    """A percentage with at most two decimals; its data is whole basis points (2.5 % -> 250)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off", "maxlength": 10})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = valuelist[0].replace("%", "").replace(" ", "").strip()
        if not raw:
            self.data = None
            return
        match = _PERCENT.match(raw)
        if not match:
            self.data = None
            raise ValueError(_("Enter the fee as a percentage with at most two decimals, e.g. 2.5."))
        self.data = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format_decimal(Decimal(self.data) / 100, "0.##")


class SignedRupiahField(WholeNumberField):
    """Whole rupiah with an optional sign: ``-25.000`` takes, ``25000`` or ``+25.000`` gives."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = valuelist[0].strip()
        sign = -1 if raw[:1] in ("-", "\u2212") else 1
        digits = raw[1:].strip() if raw[:1] in ("-", "+", "\u2212") else raw
        if raw and not digits:  # a sign alone is not an amount
            self.data = None
            raise ValueError(self.invalid or self.gettext("Enter a whole number."))
        super().process_formdata([digits])
        if self.data is not None:
            self.data *= sign


class FeeForm(ShopForm):
    percent = PercentField(_l("Shop's fee, percent of the goods"), validators=[
        InputRequired(_l("Enter the fee as a percentage with at most two decimals, e.g. 2.5.")),
        InRange(0, 5000, _l("The fee must be between 0 % and 50 %."))])


class BatchForm(ShopForm):
    minimum_idr = WholeNumberField(_l("Pay villages with at least (rupiah)"), validators=[
        InputRequired(_l("Enter the minimum in whole rupiah.")),
        InRange(1, 999_999_999_999, _l("Enter a minimum from Rp 1 to Rp 999.999.999.999."))],
        invalid=_l("Enter the minimum in whole rupiah, e.g. 50000 or 50.000."))


class ReasonForm(ShopForm):
    """Refuse an account, report a failed transfer, reverse an adjustment: a reason is required."""

    reason = TextAreaField(_l("Reason"), filters=[_squeeze], validators=[
        DataRequired(_l("Say why, so the village and an auditor can follow it.")),
        Length(max=500, message=_l("Keep the reason under 500 characters."))])


class PayoutPaidForm(ShopForm):
    bank_reference = StringField(_l("Bank reference"), filters=[lambda s: s.strip() if isinstance(s, str) else s],
                                 validators=[DataRequired(_l("Enter the bank's reference, 3 to 60 letters and digits, "
                                                             "as on the bank's record.")), Length(max=60)])
    paid_on = DateField(_l("Date of transfer"), validators=[
        InputRequired(_l("Enter the date of the transfer (not in the future)."))])


class AdjustmentForm(ShopForm):
    amount_idr = SignedRupiahField(_l("Amount in rupiah (minus takes from the village)"), validators=[
        InputRequired(_l("Enter the amount in whole rupiah, e.g. 25000 or -25.000.")),
        InRange(-MAX_ADJUSTMENT_IDR, MAX_ADJUSTMENT_IDR, _l("An adjustment is at most Rp 1.000.000.000 either way."))],
        invalid=_l("Enter the amount in whole rupiah, e.g. 25000 or -25.000."),
        render_kw={"inputmode": "text", "autocomplete": "off"})
    reason = TextAreaField(_l("Reason (the village reads it on its statement)"), filters=[_squeeze], validators=[
        DataRequired(_l("Say why, so the village and an auditor can follow it.")),
        Length(max=500, message=_l("Keep the reason under 500 characters."))])
    #: Made when the form is shown: the same form sent twice (a double tap, a resend) books once.
    once = HiddenField(validators=[Optional(), Regexp(r"^[A-Za-z0-9_-]{16,43}$", message=_l("The form has expired"))],
                       default=lambda: secrets.token_urlsafe(24))

"""The forms of money received: the office records a transfer or a refund, or cancels an order
whose money did not all come; the buyer says "I have transferred" with the receipt."""
import re

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import ShopForm
from .reconcile import MAX_AMOUNT_IDR

#: "150000", "150.000", "Rp 150.000": whole rupiah, dots between thousands.
_AMOUNT = re.compile(r"(?:RP\.?)?\s*([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)")


def parse_rupiah(text):
    """Whole rupiah typed by a person, or None."""
    match = _AMOUNT.fullmatch((text or "").strip().upper())
    if not match:
        return None
    digits = match.group(1).replace(".", "")
    return int(digits) if len(digits) <= 12 else None


class AmountField(StringField):
    """Whole rupiah from 1 to ``MAX_AMOUNT_IDR``; ``data`` is the int once validated."""

    def post_validate(self, form, validation_stopped):
        if validation_stopped or self.errors:
            return
        amount = parse_rupiah(self.data)
        if amount is None or not 1 <= amount <= MAX_AMOUNT_IDR:
            self.errors.append(
                _l("Type the amount in whole rupiah, e.g. 150000 (from Rp 1 to Rp 1.000.000.000)."))
            return
        self.data = amount


class TransferForm(ShopForm):
    amount = AmountField(_l("Amount received (Rp)"),
                         validators=[InputRequired(_l("Type the amount received."))])
    received_on = DateField(_l("Date on the bank statement"),
                            validators=[InputRequired(_l("Give the date of the transfer."))])
    reference = StringField(_l("Bank reference"), validators=[
        DataRequired(_l("Type the bank's reference of the transfer.")), Length(max=60)])


class RefundForm(ShopForm):
    amount = AmountField(_l("Amount returned (Rp)"),
                         validators=[InputRequired(_l("Type the amount returned."))])
    received_on = DateField(_l("Date of the refund"),
                            validators=[InputRequired(_l("Give the date of the refund."))])
    reference = StringField(_l("Bank or Stripe reference (optional)"),
                            validators=[Optional(), Length(max=60)])


class CancelForm(ShopForm):
    reason = TextAreaField(_l("Reason (the buyer will read it)"), validators=[
        DataRequired(_l("Say why, so the buyer knows.")), Length(max=500)])


class TransferReportForm(ShopForm):
    receipt = FileField(
        _l("Photo or PDF of the transfer receipt (optional; JPEG or PNG up to 20 MB, PDF up to 5 MB)"),
        render_kw={"accept": "application/pdf,image/jpeg,image/png"})


def first_error(form):
    """The first message of a refused form, for a flash on a page of many forms."""
    for field in form:
        if field.errors:
            label = field.label.text if field.type != "CSRFTokenField" else ""
            message = field.errors[0]
            return f"{label}: {message}" if label else str(message)
    return None

"""The form behind a parcel's buttons."""
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, Optional, Regexp

from ..forms import ShopForm
from ..orders.models import PARCEL_STATUSES

#: Couriers that pick up in NTT (docs/domain.md).
COURIERS = ("JNE", "J&T Express", "POS Indonesia", "TIKI", "SiCepat")


class ParcelForm(ShopForm):
    to_status = HiddenField(validators=[AnyOf(PARCEL_STATUSES, message=_l("Choose what to do with the parcel."))])
    reason = TextAreaField(_l("Reason (for declining or cancelling)"), validators=[Optional(), Length(max=500)])
    courier = SelectField(_l("Courier"), choices=[SelectChoice("", "—")] + [SelectChoice(c, c) for c in COURIERS],
                          validators=[Optional()])
    tracking_number = StringField(_l("Tracking number"), validators=[
        Optional(), Length(max=40), Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]{5,39}$", message=_l(
            "A tracking number has 6 to 40 letters and digits, as printed on the courier's receipt."))],
                                  filters=[lambda value: value.strip() if value else value])

"""The form behind a parcel's buttons."""
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, Optional, Regexp, ValidationError

from ..forms import ShopForm
from ..orders.models import PARCEL_STATUSES
from .tracking import COURIERS, OTHER_COURIER, VILLAGE_DELIVERY


def _strip(value):
    return " ".join(value.split()) if isinstance(value, str) else value


class ParcelForm(ShopForm):
    to_status = HiddenField(validators=[AnyOf(PARCEL_STATUSES, message=_l("Choose what to do with the parcel."))])
    reason = TextAreaField(_l("Reason (for declining or cancelling)"), validators=[Optional(), Length(max=500)])
    courier = SelectField(_l("Courier"), validators=[Optional()], choices=(
        [SelectChoice("", "—")] + [SelectChoice(c.name, c.name) for c in COURIERS]
        + [SelectChoice(OTHER_COURIER, _l("Another courier (type its name)")),
           SelectChoice(VILLAGE_DELIVERY, _l("Our village delivers it (no tracking number)"))]))
    courier_name = StringField(_l("Name of the other courier"), filters=[_strip],
                               validators=[Optional(), Length(max=40)])
    tracking_number = StringField(_l("Tracking number"), validators=[
        Optional(), Length(max=40), Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]{5,39}$", message=_l(
            "A tracking number has 6 to 40 letters and digits, as printed on the courier's receipt."))],
                                  filters=[lambda value: value.strip() if value else value])

    def validate_courier_name(self, field):
        if self.courier.data == OTHER_COURIER and not field.data:
            raise ValidationError(_l("Type the name of the courier."))

    def chosen_courier(self):
        """The courier as the shipment records it: a listed courier's name, the other courier's
        typed name, or the village's own delivery."""
        if self.courier.data == OTHER_COURIER:
            return self.courier_name.data or OTHER_COURIER
        return self.courier.data or ""

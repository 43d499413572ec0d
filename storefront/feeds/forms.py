"""The form behind the portal's "make new feed links" button."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from ..forms import ShopForm


class RotateFeedTokenForm(ShopForm):
    #: On a shared phone one tap must not break the village's spreadsheet: replacing addresses
    #: that exist is confirmed first (the view asks for it only then).
    confirm = BooleanField(_l("Yes, make new addresses: the old ones stop working at once"))

"""The form behind the portal's "make new feed links" button (CSRF only)."""
from ..forms import ShopForm


class RotateFeedTokenForm(ShopForm):
    """No fields: the button is the whole request."""

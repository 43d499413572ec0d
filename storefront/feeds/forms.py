"""The form behind the portal's "make new feed links" button (CSRF only)."""
from flask_wtf import FlaskForm


class RotateFeedTokenForm(FlaskForm):
    """No fields: the button is the whole request."""

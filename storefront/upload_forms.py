"""Forms that send files, and their page when a request is too large to be read at all.

Flask refuses a request larger than ``MAX_CONTENT_LENGTH`` before reading any of it (413). For
a page whose form sends files, a dead-end error page loses the way on: instead the 413 handler
(``web.py``) shows that same form again, as its own GET shows it, with the message at the file
field. What was typed is lost with the body (nothing of it could be read), so the message says
to fill the form in again. A page takes part in two steps:

- its form derives from ``UploadForm`` and names its file field (``upload_field``), and may say
  in its own words what to do (``too_large_message``);
- its view (GET shows the form, POST sends it) is marked with ``@form_page_on_too_large``, under
  the route decorator.
"""
from flask import current_app, g, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from .forms import ShopForm, remember_checked

MB = 1024 * 1024


def request_limit_mb():
    """The most one request may carry, in whole MB (``MAX_CONTENT_LENGTH``)."""
    return (current_app.config["MAX_CONTENT_LENGTH"] or 0) // MB


class UploadForm(ShopForm):
    """A form with a file field; see the module's docstring."""

    #: The name of the file field that shows why a too-large request was refused.
    upload_field = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if g.get("too_large_request") and self.upload_field:
            getattr(self, self.upload_field).errors = [self.too_large_message()]
            remember_checked(self)  # so that the page's error summary lists it too

    def too_large_message(self):
        """What to tell someone whose request was too large to be read; override it to name
        what the form sends."""
        return _("Nothing was saved: what you sent is more than the shop can take at once (%(total)s MB). "
                 "Fill in the form again and choose a smaller file.", total=request_limit_mb())


def form_page_on_too_large(view):
    """Mark ``view`` as the page of an ``UploadForm``: a request to it that is too large (413)
    gets its form back (see the module's docstring)."""
    view.form_page_on_too_large = True
    return view


def too_large_form_page():
    """For a request refused as too large: the form page of the view it was sent to, with the
    message at the file field and status 413; None when that view has no such page (the 413
    handler then shows its general page)."""
    view = current_app.view_functions.get(request.endpoint)
    if request.method != "POST" or not getattr(view, "form_page_on_too_large", False):
        return None
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and limit is not None and request.content_length <= limit:
        return None  # refused for another limit (a text field over MAX_FORM_MEMORY_SIZE): not the files
    g.too_large_request = True
    request.method = "GET"  # the view shows its form as a GET does: the body is never read
    try:
        response = current_app.make_response(current_app.ensure_sync(view)(**(request.view_args or {})))
    except HTTPException:
        return None  # e.g. the product is not the member's: the general page says it all the same
    finally:
        request.method = "POST"
        g.too_large_request = False
    if response.status_code == 200:
        response.status_code = 413
    return response


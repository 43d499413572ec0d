"""Links: redirect targets kept on this site, and absolute links that leave a request.

An absolute link in a mail, a webhook, a QR label, a feed or the API is read later, somewhere
else: it must name the shop's own address (``PUBLIC_URL``), never whatever ``Host`` header the
request that caused it carried (a password-reset link pointing at an attacker's host would hand
over the account).
"""
from urllib.parse import urlsplit

from flask import current_app


def safe_next(target, default="/"):
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


def external_url(endpoint, **values):
    """An absolute link to ``endpoint`` on ``PUBLIC_URL``, inside a request or not.

    Takes full endpoint names (``"catalog.product_detail"``) and the values ``url_for`` takes;
    ``_anchor`` adds a fragment.
    """
    app = current_app
    base = urlsplit(app.config["PUBLIC_URL"])
    anchor = values.pop("_anchor", None)
    app.inject_url_defaults(endpoint, values)
    adapter = app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url

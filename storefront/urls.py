"""Links: redirect targets kept on this site, and absolute links for mail and webhooks."""
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def safe_next(target, default="/"):
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


def external_url(endpoint, **values):
    """An absolute link, inside a request or not (``PUBLIC_URL`` when there is none)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        return url_for(endpoint, _external=True, **values)

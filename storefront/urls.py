"""Redirect targets taken from the query string, kept on this site."""
from urllib.parse import urlsplit


def safe_next(target, default="/"):
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target

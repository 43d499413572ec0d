"""Refuse a form posted from another website, without a token in the page.

"Add to cart" sits on the public catalogue pages, which are the same for every anonymous visitor
(any HTTP cache may keep them, ``catalog/caching.py``): they cannot hold a per-session CSRF token.
That one form is guarded by what the browser itself says about where the request comes from, in
headers no page can set (OWASP's CSRF Prevention Cheat Sheet: "Fetch Metadata headers" and
"Verifying origin with standard headers"). Every other form keeps Flask-WTF's token.

The first of these headers that the request carries decides:

1. ``Sec-Fetch-Site`` (Chrome 76, Firefox 90, Safari 16.4 and later): ``same-origin``, or ``none``
   (typed or bookmarked by the person), is accepted; ``same-site`` (another host of the same
   domain) and ``cross-site`` are refused.
2. ``Origin`` (older browsers): accepted when it is the shop's own origin, ``PUBLIC_URL``'s or
   the request's own scheme and host (which ``TRUSTED_HOSTS`` has already checked); ``null`` and
   any other origin are refused. The whole origin is compared, so ``shop.example.evil.test``
   never passes for ``shop.example``.
3. ``Referer``: its origin, the same way.
4. None of them: refused. OWASP recommends blocking when neither Origin nor Referer is present:
   every browser that can show the shop's pages sends one of the three on a form post, so such a
   request comes from a script or from a browser told to hide where it comes from, and with no
   token behind this check nothing else would stop a forged post. It is logged, so that an
   operator would see honest buyers refused.

The session and cart cookies are also ``SameSite=Lax``: a cross-site post from a current browser
carries neither. It could still start a new cart and set its cookie (a cart the attacker filled);
the refusal stops that too.
"""
import logging
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, render_template, request
from flask_babel import gettext as _

log = logging.getLogger(__name__)

#: ``Sec-Fetch-Site`` values of a request this site's own pages (or the person) made.
SAME_ORIGIN_FETCH = ("same-origin", "none")


def _origin(url):
    """``scheme://host[:port]`` of a URL, lower case; None when it has none."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins():
    """The origins this shop's pages are served from: ``PUBLIC_URL``'s and this request's."""
    return {_origin(current_app.config["PUBLIC_URL"]), f"{request.scheme}://{request.host}".lower()}


def cross_site_reason():
    """Why this request may not be one of the shop's own pages posting, or None when it is."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return None if fetch_site.strip().lower() in SAME_ORIGIN_FETCH else f"Sec-Fetch-Site: {fetch_site}"
    for header in ("Origin", "Referer"):
        value = request.headers.get(header)
        if value is not None:
            return None if _origin(value) in own_origins() else f"{header}: {value[:200]}"
    return "no Sec-Fetch-Site, Origin or Referer"


def same_origin_only(view):
    """Run ``view`` only for a request from the shop's own pages; anything else gets 403 and a
    page that says what to do, and nothing is changed."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        reason = cross_site_reason()
        if reason is None:
            return view(*args, **kwargs)
        log.warning("cross-site %s %s refused (%s)", request.method, request.path, reason)
        title = _("The form was not sent from this shop")
        message = _("For your security the shop did nothing with it. Open the product on this shop "
                    "and press “Add to cart” there.")
        return render_template("errors/error.html", status=403, title=title, message=message), 403

    return wrapper

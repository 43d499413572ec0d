"""The shop's own pages at their Indonesian addresses: ``/tentang``, ``/cara-belanja``, ...

Light and cacheable: one query for the text (and one for the shipping rates on ``/pengiriman``).
An anonymous visitor's page is the same for everyone (``public``), with an ETag made of the
release, the language and the revision shown, so a browser or proxy asks again and gets 304
until the office saves a new text (or, on the shipping page, changes a rate).
"""
import hashlib

from flask import Blueprint, current_app, make_response, render_template, request, session
from flask_babel import lazy_gettext as _l
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response

from ..catalog.caching import anonymous_request, private, public
from ..checkout.models import ZONES
from ..checkout.shipping import rates
from ..clock import to_wita
from ..i18n import current_language
from .markup import render_markdown
from .services import PAGES, page_text

bp = Blueprint("pages", __name__)

#: The page that shows the shipping rates as they are now, under its text.
SHIPPING_PAGE = "pengiriman"
ZONE_LABELS = {
    "same_regency": _l("Within the village's own regency"),
    "ntt": _l("Elsewhere in Nusa Tenggara Timur"),
    "indonesia": _l("Elsewhere in Indonesia"),
}
_SLUGS = ", ".join(f'"{slug}"' for slug in PAGES)


def _etag(*parts):
    return hashlib.sha1(repr((current_app.config["RELEASE"],) + parts).encode()).hexdigest()[:24]


@bp.get(f"/<any({_SLUGS}):slug>")
def show(slug):
    """A page of the shop in the visitor's language."""
    lang = current_language()
    text = page_text(slug)
    table = None
    if slug == SHIPPING_PAGE:
        current = rates()
        table = [(ZONE_LABELS[zone], current.get(zone, 0)) for zone in ZONES]
    etag = _etag(lang, slug, text.revision_id, table and [rate for _label, rate in table])
    anonymous = anonymous_request()
    if anonymous and not is_resource_modified(request.environ, etag=etag):
        return public(Response(status=304), etag)
    response = make_response(render_template(
        "pages/page.html", slug=slug, title=text.title(lang), body=render_markdown(text.body(lang)),
        changed_on=to_wita(text.revision.created_at).date() if text.revision else None, rates=table))
    if anonymous and not session.modified and "Set-Cookie" not in response.headers:
        return public(response, etag)
    return private(response)


@bp.app_template_global()
def shop_pages():
    """(address, label) of each page, for the footer of every page."""
    return PAGES.items()

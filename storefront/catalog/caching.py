"""Conditional GET and a page cache for anonymous buyers of the public catalogue pages.

Safety rests on one cheap value, the *catalogue version*: the counter in ``catalogue_state``
(moved by database triggers in the same transaction as any change to products, photos,
villages, categories, certificates or a paper's product list, see ``CatalogueState``) and
today's date in WITA (papers expire at midnight WITA). Every stored page and every ETag is keyed
on it, so a product that stops being sellable is never served from a cache: the next request
reads a new version, and the page is rendered afresh.

Only anonymous requests are cached: no signed-in user, no cart or remember-me cookie, no flash
message waiting (``anonymous_request``). Pages carrying a CSRF token are stored with a
placeholder and given the requester's own token on the way out, and are marked ``private``;
pages without one are ``public, no-cache`` (a shared cache must revalidate every time, and gets
a 304 while the version holds). The views mark what may be stored (``cached_page``); the store
itself sits in front of Flask (``front.PageCacheFront``), so that a hit costs no more than a
look-up and the version query.
"""
import hashlib
from functools import wraps
from typing import NamedTuple

from flask import current_app, g, make_response, request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response

from ..clock import today_wita
from ..extensions import db
from ..i18n import LANG_COOKIE, locale_for
from ..products.models import CatalogueState

#: Cookies that make a request personal: its pages are never shared or stored.
PERSONAL_COOKIES = ("keranjang", "remember_token")
#: Stands in a stored page where each buyer's own CSRF token goes.
PLACEHOLDER = b"\x00csrf\x00"
#: The environ key where ``cached_page`` tells the front what may be stored.
STORABLE = "storefront.page_cache.storable"

#: The one statement that reads the version, from a request's session or from the front.
VERSION_QUERY = (select(CatalogueState.version, CatalogueState.listing_version)
                 .where(CatalogueState.id == 1))


class Version(NamedTuple):
    #: What a page shows: every catalogue change, and today's WITA date.
    page: str
    #: What is listed: the same, but not a product's stock alone.
    listing: str


def version_of(row):
    """The ``Version`` of a ``VERSION_QUERY`` row on today's WITA date.

    Pages carry no Last-Modified: a time of one-second resolution (SQLite), or the transaction's
    start (PostgreSQL), could answer ``If-Modified-Since`` with 304 for a product whose paper was
    revoked a moment later. The counter behind the ETag moves with every commit, exactly."""
    counter, listing = row if row is not None else (0, 0)
    today = today_wita().isoformat()
    return Version(f"{counter}|{today}", f"{listing}|{today}")


def catalogue_version():
    """The ``Version`` of everything the public pages show; one query, asked once per request."""
    if "catalogue_version" not in g:
        g.catalogue_version = version_of(db.session.execute(VERSION_QUERY).first())
    return g.catalogue_version


def cached_count(name, compute):
    """A value computed over what is listed (a filtered total, where page N starts, a ranking of
    villages), kept once per listing version per process: counting 100,000 products against the
    listing rule is the slow part of a page, and an order (which changes stock alone) keeps it."""
    if not current_app.config.get("COUNT_CACHE", not current_app.testing):
        return compute()
    counts = current_app.extensions["page_cache"].counts
    key = (catalogue_version().listing, name)
    value = counts.get(key)
    if value is None:
        value = compute()
        counts.put(key, value)
    return value


def page_key(environ, lang, config):
    """What a cached page depends on besides the version: language (from the ``lang`` cookie's
    value), path and query string."""
    return (locale_for(lang, config), environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""))


def page_etag(version, key):
    return hashlib.sha1(repr((version, key)).encode()).hexdigest()[:24]


def anonymous_session(buyer_session):
    """True for a Flask session of nobody signed in, with no message waiting to be shown."""
    return "_user_id" not in buyer_session and "_flashes" not in buyer_session


def anonymous_request():
    """True for a GET that no signed-in user, cart, remember-me cookie or flash makes personal."""
    if request.method != "GET" or any(name in request.cookies for name in PERSONAL_COOKIES):
        return False
    return anonymous_session(session)


def cached_page(view):
    """Serve a public GET page with an ETag and 304s; mark it storable for the front
    when the request is anonymous."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not anonymous_request():
            response = make_response(view(*args, **kwargs))
            response.cache_control.private = True
            response.cache_control.no_cache = True
            return response
        version = catalogue_version().page
        key = page_key(request.environ, request.cookies.get(LANG_COOKIE), current_app.config)
        etag = page_etag(version, key)
        if not is_resource_modified(request.environ, etag=etag):
            return conditional_headers(Response(status=304), etag, public=True)
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or response.direct_passthrough:
            return response
        token = g.get("csrf_token") and generate_csrf()
        request.environ[STORABLE] = (version, etag, token)
        return conditional_headers(response, etag, public=not token)

    return wrapper


def conditional_headers(response, etag, public):
    response.set_etag(etag)
    response.cache_control.no_cache = True
    if public:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    response.vary.update(("Cookie",))
    return response

"""Conditional GET and shared page data for anonymous buyers of the public catalogue pages.

Safety rests on one cheap value, the *catalogue version*: the counter in ``catalogue_state``
(moved by database triggers in the same transaction as any change to products, photos,
villages, categories, certificates or a paper's product list, see ``CatalogueState``) and
today's date in WITA (papers expire at midnight WITA). It is read once per request, and every
ETag and every stored page or count is keyed on it and on the *release* (``storefront/release.py``),
so a product that stops being sellable is never served from a cache, and a new deploy never
keeps a browser or a proxy on a page the old code made.

Everything happens inside Flask's request cycle: sessions, sign-in timeouts, rate limits, input
checks and security headers run for a stored page as for any other. ``cached_page`` answers an
anonymous request (``anonymous_request``: nobody signed in, no cart or remember-me cookie, no
message waiting) with 304 while its ETag holds, else with the page body kept in the shared cache
under that ETag, else renders it and keeps it. The cache is Flask-Caching's: Redis when
``REDIS_URL`` is set (one copy for every worker and server), else the memory of each process.

A public page is the same for every anonymous visitor: it holds no CSRF token (add-to-cart is
guarded by the request's origin instead, ``storefront/same_origin.py``), no message and no
user. So it goes out ``public, no-cache``: a shared HTTP cache may keep it, and must ask again
each time (a 304 while the version holds). A page whose rendering touched the session anyway (a
token, a message) is never kept and never gets an ETag: it goes out ``private``.
"""
import hashlib
import logging
import threading
from collections import OrderedDict
from functools import wraps
from typing import NamedTuple

from flask import current_app, g, make_response, request, session
from flask_caching import Cache
from sqlalchemy import make_url, select
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response

from ..clock import today_wita
from ..extensions import db
from ..i18n import LANG_COOKIE, explicit_language, locale_for
from ..products.models import CatalogueState
from ..release import release_id

log = logging.getLogger(__name__)

#: Page bodies and counts shared by every worker (Redis) or kept per process (memory).
cache = Cache(with_jinja2_ext=False)
#: How long a page body is kept. Each is keyed on a version, which every catalogue change and
#: every order moves: an old one is never read again, and goes when its time is up.
PAGE_SECONDS = 600
#: How long a count is kept: keyed on the listing version, which orders do not move.
COUNT_SECONDS = 3600
#: The most entries one process keeps without Redis (about 30 KB a page).
MEMORY_ENTRIES = 2000
#: Entries each process also keeps in front of Redis (the most read pages and counts).
RECENT_ENTRIES = 256

#: Cookies that make a request personal: its pages are never shared or stored.
PERSONAL_COOKIES = ("keranjang", "remember_token")

#: The one statement that reads the version.
VERSION_QUERY = (select(CatalogueState.version, CatalogueState.listing_version)
                 .where(CatalogueState.id == 1))


def _digest(*parts):
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:24]


def init_app(app):
    """Bind the shared cache: Redis when ``REDIS_URL`` is set, memory otherwise. The page store
    and the count cache are on outside tests (``PAGE_CACHE``, ``COUNT_CACHE``), since tests reuse
    one database for many catalogues."""
    config = app.config
    config.setdefault("PAGE_CACHE", not app.testing)
    config.setdefault("COUNT_CACHE", not app.testing)
    config["RELEASE"] = release_id(config)
    if config.get("REDIS_URL"):
        config.setdefault("CACHE_TYPE", "RedisCache")
        config.setdefault("CACHE_REDIS_URL", config["REDIS_URL"])
        # A Redis that hangs must not hang the pages: after this long they are rendered instead.
        config.setdefault("CACHE_OPTIONS", {"socket_timeout": 0.5, "socket_connect_timeout": 0.5})
    else:
        config.setdefault("CACHE_TYPE", "SimpleCache")
        config.setdefault("CACHE_THRESHOLD", MEMORY_ENTRIES)
    # One Redis may serve several shops (staging and production, the benchmark's two
    # databases): each database's versions count on their own, so its keys are its own.
    database = make_url(config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    if not config.get("CACHE_KEY_PREFIX"):
        config["CACHE_KEY_PREFIX"] = f"produkdesa:{_digest(database)[:8]}:"
    config.setdefault("CACHE_DEFAULT_TIMEOUT", PAGE_SECONDS)
    cache.init_app(app)
    app.extensions["recent_pages"] = _Recent(RECENT_ENTRIES)


class _Recent:
    """The entries this process read or wrote last, in front of Redis. Safe without any
    invalidation: every key names the release and the catalogue version it was made for, so
    the value under a key never changes; a newer version is simply another key."""

    def __init__(self, size):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


    def clear(self):
        with self.lock:
            self.items.clear()


def _recent():
    """This app's (this worker's) recent entries, in front of the shared cache: a hit here costs
    no round trip to Redis."""
    return current_app.extensions["recent_pages"]


def clear_cache():
    """Forget every stored page and count (tests; an operator never needs to)."""
    _recent().clear()
    cache.clear()


def _shared_get(key):
    """A value from this process's recent entries or the shared cache, or None; a cache that
    does not answer is no cache."""
    value = _recent().get(key)
    if value is not None:
        return value
    try:
        value = cache.get(key)
    except Exception as exc:  # noqa: BLE001 - Redis away: the page is rendered, not refused
        log.warning("shared cache unavailable (get): %s", exc)
        return None
    if value is not None:
        _recent().put(key, value)
    return value


def _shared_set(key, value, seconds):
    _recent().put(key, value)
    try:
        cache.set(key, value, timeout=seconds)
    except Exception as exc:  # noqa: BLE001 - as above
        log.warning("shared cache unavailable (set): %s", exc)


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
    """The ``Version`` of everything the public pages show; one query, asked once per request.

    Read on a connection of its own in autocommit mode: a page answered from the cache then
    opens no transaction (no BEGIN and ROLLBACK around one indexed read). A page rendered after
    it reads data at least as new as this version, so nothing older is ever kept under it."""
    if "catalogue_version" not in g:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            g.catalogue_version = version_of(connection.execute(VERSION_QUERY).first())
    return g.catalogue_version


def cached_count(name, compute):
    """A value computed over what is listed (a filtered total, where page N starts, a ranking of
    villages), kept once per listing version in the shared cache: counting 100,000 products
    against the listing rule is the slow part of a page, and an order (which changes stock alone)
    keeps it. ``compute()`` must return something other than None."""
    if not current_app.config["COUNT_CACHE"]:
        return compute()
    key = "count:" + _digest(current_app.config["RELEASE"], catalogue_version().listing, name)
    value = _shared_get(key)
    if value is None:
        value = compute()
        _shared_set(key, value, COUNT_SECONDS)
    return value


def page_key(lang, config):
    """What a public page depends on besides the version: language (the URL's ``?lang=``, else
    the ``lang`` cookie's value), path and query string."""
    environ = request.environ
    language = explicit_language(request.args, config) or locale_for(lang, config)
    return (language, environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""))


def page_etag(release, version, key):
    """The ETag of a public page: the release, the catalogue version and what the page is."""
    return _digest(release, version, key)


def anonymous_session(buyer_session):
    """True for a Flask session of nobody signed in, with no message waiting to be shown."""
    return "_user_id" not in buyer_session and "_flashes" not in buyer_session


def anonymous_request():
    """True for a GET that no signed-in user, cart, remember-me cookie or flash makes personal."""
    if request.method != "GET" or any(name in request.cookies for name in PERSONAL_COOKIES):
        return False
    return anonymous_session(session)


def _personal(response):
    """Whether rendering made this page someone's own: it wrote to the session (a CSRF token,
    a message), put a CSRF token in the page, or sets a cookie. Such a page is never shared."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return session.modified or field in g or "Set-Cookie" in response.headers


def cached_page(view):
    """Serve a public GET page: for an anonymous request, 304 while its ETag holds, else the body
    kept in the shared cache, else rendered (and kept); anyone else gets a page of their own."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not anonymous_request():
            return private(make_response(view(*args, **kwargs)))
        config = current_app.config
        etag = page_etag(config["RELEASE"], catalogue_version().page,
                         page_key(request.cookies.get(LANG_COOKIE), config))
        if not is_resource_modified(request.environ, etag=etag):
            return public(Response(status=304), etag)
        body = _shared_get("page:" + etag) if config["PAGE_CACHE"] else None
        if body is not None:
            return public(current_app.response_class(body, mimetype="text/html"), etag)
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or response.direct_passthrough:
            return response
        if _personal(response):
            return private(response)
        if config["PAGE_CACHE"]:
            _shared_set("page:" + etag, response.get_data(), PAGE_SECONDS)
        return public(response, etag)

    return wrapper


def public(response, etag):
    """The same for every anonymous visitor: any cache may keep it, and must ask again each time
    (``If-None-Match``: 304 while the version holds)."""
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.no_cache = True
    response.vary.add("Cookie")
    return response


def private(response):
    """Someone's own page: only their browser may keep it, and must ask again each time."""
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response

"""Conditional GET and a small page cache for anonymous buyers of the public catalogue pages.

Safety rests on one cheap value, the *catalogue version*: the latest ``updated_at`` of products,
villages and certificates, the number of certificates, and today's date
in WITA (papers expire at midnight WITA). Anything that can change what a public page shows moves
it: a product edited or sold (stock), a village suspended, a paper verified, revoked, edited,
deleted or re-linked (``touch_catalogue`` below stamps ``updated_at`` where an ORM change to a
paper's product list or a photo would not). Every
cached page and every ETag is keyed on it, so a product that stops being sellable is never served
from a cache: the next request sees a new version, a new ETag and renders afresh.

Only anonymous requests are cached: no signed-in user, no cart cookie, no flash message waiting.
Pages carrying a CSRF token are stored with a placeholder and given the requester's own token on
the way out, and are marked ``private``; pages without one are ``public, no-cache`` (a shared
cache must revalidate every time, and gets a 304 while the version holds).
"""
import hashlib
from collections import OrderedDict
from datetime import datetime, time, timezone
from functools import wraps
from threading import Lock

from flask import current_app, g, make_response, request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import Session
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response

from ..clock import WITA, as_utc, now_utc, today_wita
from ..extensions import db
from ..i18n import select_locale
from ..legality.models import Certificate
from ..villages.models import Village
from .models import Product, ProductPhoto

#: Cookies that make a request personal: its pages are never shared or stored.
PERSONAL_COOKIES = ("keranjang", "remember_token")
PLACEHOLDER = b"\x00csrf\x00"
MAX_ENTRIES = 256
MAX_COUNTS = 2048

_store = OrderedDict()
_counts = OrderedDict()
_lock = Lock()


def catalogue_version():
    """``(version string, last modified)`` of everything the public pages show; one query,
    asked once per request."""
    if "catalogue_version" not in g:
        g.catalogue_version = _read_version()
    return g.catalogue_version


def cached_count(name, compute):
    """A count over the catalogue (e.g. a filtered total), computed once per catalogue version
    per process: counting 100,000 products against the listing rule is the slow part of a page."""
    if not current_app.config.get("COUNT_CACHE", not current_app.testing):
        return compute()
    key = (catalogue_version()[0], name)
    value = _counts.get(key)
    if value is None:
        value = compute()
        with _lock:
            _counts[key] = value
            while len(_counts) > MAX_COUNTS:
                _counts.popitem(last=False)
    return value


def _read_version():
    row = db.session.execute(select(
        select(func.max(Product.updated_at)).scalar_subquery(),
        select(func.max(Village.updated_at)).scalar_subquery(),
        select(func.max(Certificate.updated_at)).scalar_subquery(),
        select(func.count()).select_from(Certificate).scalar_subquery(),
    )).one()
    today = today_wita()
    midnight = datetime.combine(today, time(), WITA).astimezone(timezone.utc)
    stamps = [as_utc(value) for value in row[:3] if value is not None]
    last_modified = max(stamps + [midnight]).replace(microsecond=0)
    version = "|".join(str(value) for value in row) + f"|{today.isoformat()}"
    return version, last_modified


def _anonymous():
    if request.method != "GET" or any(name in request.cookies for name in PERSONAL_COOKIES):
        return False
    return "_user_id" not in session and "_flashes" not in session


def _enabled():
    """The in-process store (pages and counts); off in tests unless ``PAGE_CACHE`` says so,
    since tests reuse one database whose versions can repeat."""
    return current_app.config.get("PAGE_CACHE", not current_app.testing)


def clear_page_cache():
    with _lock:
        _store.clear()
        _counts.clear()


def cached_page(view):
    """Serve a public GET page with ETag/Last-Modified, 304s and an in-process cache (anonymous)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _anonymous():
            response = make_response(view(*args, **kwargs))
            response.cache_control.private = True
            response.cache_control.no_cache = True
            return response
        version, last_modified = catalogue_version()
        key = (version, select_locale(), request.full_path)
        etag = hashlib.sha1(repr(key).encode()).hexdigest()[:24]
        if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
            response = Response(status=304)
            return _conditional_headers(response, etag, last_modified, public=True)
        entry = _store.get(key) if _enabled() else None
        if entry is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.direct_passthrough:
                return response
            body = response.get_data()
            token = g.get("csrf_token") and generate_csrf()
            stored = body.replace(token.encode(), PLACEHOLDER) if token else body
            if _enabled():
                with _lock:
                    _store[key] = (stored, response.mimetype, bool(token))
                    while len(_store) > MAX_ENTRIES:
                        _store.popitem(last=False)
            has_token = bool(token)
        else:
            stored, mimetype, has_token = entry
            body = stored.replace(PLACEHOLDER, generate_csrf().encode()) if has_token else stored
            response = Response(body, mimetype=mimetype)
            with _lock:
                if key in _store:
                    _store.move_to_end(key)
        return _conditional_headers(response, etag, last_modified, public=not has_token)

    return wrapper


def _conditional_headers(response, etag, last_modified, public):
    response.set_etag(etag)
    response.last_modified = last_modified
    response.cache_control.no_cache = True
    if public:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    response.vary.update(("Cookie",))
    return response


def touch_catalogue(session, flush_context, instances):
    """Stamp ``updated_at`` where a change would otherwise leave the catalogue version as it was:
    a paper's product list edited, a photo added, changed or removed."""
    now = now_utc()
    for obj in list(session.dirty):
        if (isinstance(obj, Certificate) and session.is_modified(obj, include_collections=True)
                and not inspect(obj).attrs.updated_at.history.has_changes()):  # set on purpose: keep it
            obj.updated_at = now
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, ProductPhoto) and obj.product_id is not None:
            session.execute(update(Product).where(Product.id == obj.product_id).values(updated_at=now))


# Every session of every app: the catalogue version must move whoever changes the data.
event.listen(Session, "before_flush", touch_catalogue)

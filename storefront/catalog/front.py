"""The page cache's store, in front of Flask (WSGI middleware).

A stored page is answered before Flask runs: one dictionary look-up and the version query on a
connection of the front's own. That is what makes a catalogue page for an anonymous buyer cost
about what the smallest Flask page costs (bench/README.md). Anything the front is not sure of
goes on to Flask: a request with a cart or remember-me cookie, a page not stored yet, a version
that moved, a database that does not answer. Pages are stored only when ``cached_page`` marked
them (anonymous request, 200) and only with the headers Flask sent, less the cookies.

A request that carries a session cookie, or a page that holds a CSRF token, needs the buyer's
session: Flask's session interface reads it (is it a signed-in one?) and writes it back when a
new visitor gets their first CSRF token; the token is signed as Flask-WTF signs its own. No
request context is pushed: on a product page that would cost as much again as the rest.
"""
import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, make_url
from werkzeug.http import is_resource_modified, parse_cookie

from ..i18n import LANG_COOKIE
from .caching import (PERSONAL_COOKIES, PLACEHOLDER, STORABLE, VERSION_QUERY, anonymous_session, page_key,
                      version_of)

MAX_PAGES = 256
MAX_COUNTS = 2048
#: Headers a stored page does not repeat: cookies are each buyer's own.
_NOT_STORED = {"set-cookie"}
#: Headers a 304 does not carry (RFC 9110 15.4.5).
_NOT_IN_304 = {"content-type", "content-length", "set-cookie"}
#: Flask-WTF signs its CSRF tokens with this salt (flask_wtf/csrf.py, generate_csrf).
CSRF_SALT = "wtf-csrf-token"


@dataclass(frozen=True)
class StoredPage:
    version: str
    etag: str
    headers: list  # (name, value) as Flask sent them, without cookies
    body: bytes  # with PLACEHOLDER where the CSRF token was
    has_token: bool

    @property
    def not_modified_headers(self):
        return [(k, v) for k, v in self.headers if k.lower() not in _NOT_IN_304]


class LRU:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size):
        self.size = size
        self.items = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        value = self.items.get(key)
        if value is not None:
            with self.lock:
                if key in self.items:
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


class VersionReader:
    """``VERSION_QUERY`` on one autocommit connection per thread: one round trip per read, no
    pool checkout, ping or transaction. A broken connection is replaced once, then the error
    goes up (the front then leaves the request to Flask and its error pages)."""

    def __init__(self, url):
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=64)
        compiled = VERSION_QUERY.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True})
        self.sql = str(compiled)
        self.local = threading.local()

    def read(self):
        for attempt in (1, 2):
            connection = getattr(self.local, "connection", None)
            try:
                if connection is None:
                    connection = self.local.connection = self.engine.raw_connection()
                cursor = connection.cursor()
                try:
                    cursor.execute(self.sql)
                    return cursor.fetchone()
                finally:
                    cursor.close()
            except self.engine.dialect.loaded_dbapi.Error:
                self.local.connection = None
                if connection is not None:
                    connection.invalidate()
                if attempt == 2:
                    raise


_readers = {}
_readers_lock = threading.Lock()


def version_reader(url):
    """One reader per database per process (a forked worker makes its own)."""
    if make_url(url).database in (None, "", ":memory:"):
        return None  # a private in-memory database: only the app's own connection sees it
    key = (os.getpid(), url)
    with _readers_lock:
        if key not in _readers:
            _readers[key] = VersionReader(url)
        return _readers[key]


class PageCacheFront:
    """WSGI middleware: answers stored pages, stores what ``cached_page`` marked."""

    def __init__(self, app):
        self.app = app
        self.next = app.wsgi_app
        self.pages = LRU(MAX_PAGES)
        self.counts = LRU(MAX_COUNTS)
        self._reader = None
        self._csrf_signer = None  # (secret, serializer): built once, not per request

    def enabled(self):
        """On in production and development; off in tests unless ``PAGE_CACHE`` says so, since
        tests reuse one database for many catalogues."""
        return self.app.config.get("PAGE_CACHE", not self.app.testing)

    def clear(self):
        self.pages.clear()
        self.counts.clear()

    def current_version(self):
        if self._reader is None:
            self._reader = version_reader(self.app.config["SQLALCHEMY_DATABASE_URI"]) or False
        if not self._reader:
            return None
        try:
            return version_of(self._reader.read()).page
        except Exception:  # noqa: BLE001 - Flask answers instead, with its own error page
            return None

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or not self.enabled():
            return self.next(environ, start_response)
        cookies = parse_cookie(environ["HTTP_COOKIE"]) if environ.get("HTTP_COOKIE") else {}
        if any(name in cookies for name in PERSONAL_COOKIES):
            return self.next(environ, start_response)
        key = page_key(environ, cookies.get(LANG_COOKIE), self.app.config)
        page = self.pages.get(key)
        if page is not None and page.version == self.current_version():
            if not page.has_token and self.app.config["SESSION_COOKIE_NAME"] not in cookies:
                return self._answer(page, environ, start_response)
            answer = self._answer_with_session(page, environ, start_response)
            if answer is not None:
                return answer
        return self._render(key, environ, start_response)

    @staticmethod
    def _answer(page, environ, start_response):
        """The stored bytes as they are: nothing in them is personal."""
        if not is_resource_modified(environ, etag=page.etag):
            start_response("304 NOT MODIFIED", page.not_modified_headers)
            return []
        start_response("200 OK", page.headers)
        return [page.body]

    def _answer_with_session(self, page, environ, start_response):
        """The stored page for this buyer's Flask session, with their own CSRF token; None (Flask
        answers) when the session turns out to be a signed-in one or to hold a message."""
        app = self.app
        interface = app.session_interface
        buyer_session = interface.open_session(app, app.request_class(environ))
        if buyer_session is None or not anonymous_session(buyer_session):
            return None
        if not page.has_token or not is_resource_modified(environ, etag=page.etag):
            return self._answer(page, environ, start_response)
        body = page.body.replace(PLACEHOLDER, self._csrf_token(buyer_session).encode())
        headers = [(k, v) for k, v in page.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        if interface.should_set_cookie(app, buyer_session):  # a new visitor's first token
            cookie = app.response_class()
            interface.save_session(app, buyer_session, cookie)
            headers += [("Set-Cookie", value) for value in cookie.headers.getlist("Set-Cookie")]
        start_response("200 OK", headers)
        return [body]

    def _csrf_token(self, buyer_session):
        """The token Flask-WTF's ``generate_csrf`` puts in a form, made without a request
        context: the session's raw token (created on first use) signed with Flask-WTF's salt,
        so that ``CSRFProtect`` takes it as its own (tests/test_caching.py posts such tokens)."""
        config = self.app.config
        field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        if field not in buyer_session:
            buyer_session[field] = hashlib.sha1(os.urandom(64)).hexdigest()
        secret = config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key
        if self._csrf_signer is None or self._csrf_signer[0] != secret:
            self._csrf_signer = (secret, URLSafeTimedSerializer(secret, salt=CSRF_SALT))
        return self._csrf_signer[1].dumps(buyer_session[field])

    def _render(self, key, environ, start_response):
        """Flask renders; a page ``cached_page`` marked storable is kept."""
        sent = []

        def capture(status, headers, exc_info=None):
            sent[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.next(environ, capture)
        storable = environ.get(STORABLE)
        if storable is None or not sent or not sent[0].startswith("200"):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        version, etag, token = storable
        stored_body = body.replace(token.encode(), PLACEHOLDER) if token else body
        headers = [(k, v) for k, v in sent[1] if k.lower() not in _NOT_STORED]
        self.pages.put(key, StoredPage(version, etag, headers, stored_body, bool(token)))
        return [body]


def init_app(app):
    front = PageCacheFront(app)
    app.wsgi_app = front
    app.extensions["page_cache"] = front
    return front

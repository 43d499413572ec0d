"""One id per request, to follow it from nginx through the app's log lines to the access log.

nginx sends its ``$request_id`` (32 hex digits) in ``X-Request-ID``; a well-formed id that comes
in is kept, anything else is replaced by a new random one, so a client cannot put arbitrary text
(or a line break) into the logs. The id goes back in the response's ``X-Request-ID`` (which
gunicorn's access log reads, ``{x-request-id}o``), is ``g.request_id`` in views, and is on every
log record written while the request is handled (``logs.RequestIdFilter``).

It is given as WSGI middleware, outside Flask, so that every response carries it: pages, error
pages, and ``/metrics``, which is answered before Flask (``metrics.py``).
"""
import re
import uuid

from flask import g, has_request_context, request

HEADER = "X-Request-ID"
#: Where the id is kept for the rest of the request.
ENVIRON_KEY = "storefront.request_id"
#: What an incoming id may look like: nginx's 32 hex digits, a UUID, a tracing tool's id.
WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{8,64}")


def new_request_id():
    """32 random hex digits, the shape of nginx's ``$request_id``."""
    return uuid.uuid4().hex


def chosen_request_id(incoming):
    """``incoming`` when it is well formed, else a new id."""
    if incoming and WELL_FORMED.fullmatch(incoming):
        return incoming
    return new_request_id()


def current_request_id():
    """The id of the request being handled, or None outside a request (CLI, worker)."""
    if not has_request_context():
        return None
    return request.environ.get(ENVIRON_KEY)


class RequestIdMiddleware:
    """Gives each request its id and sends it back in ``X-Request-ID``."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = chosen_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id

        def start_with_id(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_id)


def init_app(app):
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)

    @app.before_request
    def remember_request_id():
        g.request_id = request.environ.get(ENVIRON_KEY)

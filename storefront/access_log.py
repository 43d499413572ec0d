"""Access logs without the secrets some URLs carry.

A password-reset or invitation link, a village's feed address and a guest's order link hold a
secret in the URL itself; whoever reads the server's logs must not be able to use them. gunicorn
logs through ``RedactingLogger`` (gunicorn.conf.py; its JSON lines through
``observability/gunicorn_logs.py``, a subclass), the development server through ``RedactFilter``,
and production's app log lines are scrubbed by ``observability/logs.py``; all use ``redact``.
"""
import logging
import re
from urllib.parse import unquote

from gunicorn.glogging import Logger

#: Path prefixes whose next segment is a secret: every route with a ``<token>`` argument
#: (tests/test_security_headers.py fails on a new one missing here).
SECRET_PATHS = ("/reset-sandi/", "/undangan/", "/feed/", "/daftar/konfirmasi/")
#: Query parameters that are secrets: the private order link's ``kunci``.
SECRET_QUERY = ("kunci", "token")
REDACTED = "[redacted]"

# In any letter case: a link typed in capitals is refused, but its secret is still good.
_PATH = re.compile("(" + "|".join(map(re.escape, SECRET_PATHS)) + r")[^/?#\s\"]+", re.IGNORECASE)
_QUERY = re.compile(r"((?:^|[?&;])(?:" + "|".join(SECRET_QUERY) + r")=)[^&#\s\"]*", re.IGNORECASE)
#: gunicorn's atoms that hold a URL: request line, path, query, referrer.
_URL_ATOMS = ("r", "U", "q", "f", "{referer}i")


def _redact_as_written(text):
    return _QUERY.sub(r"\1" + REDACTED, _PATH.sub(r"\1" + REDACTED, text))


def redact(text):
    """``text`` (a URL, a request line) with every secret replaced by ``[redacted]``.

    A link may arrive percent-encoded (``/reset%2Dsandi/...``, ``?k%75nci=...``): the app decodes
    it and serves the secret all the same, so such text is checked decoded too, and written
    decoded when that form holds a secret."""
    if not isinstance(text, str):
        return text
    if "%" in text:
        decoded = unquote(text)
        cleaned = _redact_as_written(decoded)
        if cleaned != decoded:
            return cleaned
    return _redact_as_written(text)


class RedactingLogger(Logger):
    """gunicorn's logger; the access log's URL parts go through ``redact``."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in _URL_ATOMS:
            if atoms.get(key):
                atoms[key] = redact(atoms[key])
        return atoms


class RedactFilter(logging.Filter):
    """For the development server's request lines (the ``werkzeug`` logger)."""

    def filter(self, record):
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) for arg in record.args)
        record.msg = redact(record.msg)
        return True


def init_app(app):
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactFilter())

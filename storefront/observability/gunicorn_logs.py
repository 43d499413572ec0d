"""gunicorn's log as JSON lines (``LOG_FORMAT=json``, the default in production; gunicorn.conf.py).

Its own messages (start, workers, errors) in the app's shape (``logs.JsonFormatter``), and one
line per request: ``method``, ``path`` (with its query, redacted: ``access_log.redact``),
``status``, ``bytes``, ``duration_ms``, ``remote_addr`` (the client's, once the app's ProxyFix has
read ``X-Forwarded-For``), ``user_agent``, ``protocol`` and the ``request_id`` the response carried.
No request header other than the user agent is ever written (not Authorization, not Cookie).
"""
import traceback

from ..access_log import RedactingLogger, redact
from .logs import JsonFormatter
from .request_id import HEADER


def _status(resp):
    status = resp.status
    if isinstance(status, str):
        status = status.split(None, 1)[0]
    try:
        return int(status)
    except (TypeError, ValueError):
        return None


def access_fields(resp, environ, request_time):
    """What the access line says about one request (no secret, no header but the user agent)."""
    raw = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
    return {
        "method": environ.get("REQUEST_METHOD"),
        "path": redact(raw),
        "status": _status(resp),
        "bytes": getattr(resp, "sent", None),
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
        "remote_addr": environ.get("REMOTE_ADDR"),
        "user_agent": environ.get("HTTP_USER_AGENT"),
        "protocol": environ.get("SERVER_PROTOCOL"),
    }


def response_request_id(resp):
    for name, value in resp.headers or ():
        if name.lower() == HEADER.lower():
            return value
    return None


class JsonLogger(RedactingLogger):
    """gunicorn's logger (``logger_class``) writing JSON lines."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        try:
            fields = access_fields(resp, environ, request_time)
            message = f"{fields['method']} {fields['path']} {fields['protocol']} {fields['status']}"
            self.access_log.info(message, extra={"request_id": response_request_id(resp), "access": fields})
        except Exception:  # noqa: BLE001 - a log line must never fail a request (as gunicorn's own)
            self.error(traceback.format_exc())

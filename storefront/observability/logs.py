"""The app's log lines: one JSON object a line in production, readable text in development.

``LOG_FORMAT`` (``json`` or ``text``; ``json`` when ``STOREFRONT_ENV=production``) and
``LOG_LEVEL`` (``INFO``) choose. One handler on the root logger writes every record (the
shop's ``storefront.*`` loggers and ``app.logger``, and warnings of the libraries) to standard
error, with the id of the request being handled (``request_id.py``). gunicorn's own lines go
through ``gunicorn_logs.py``, in the same shape.

In production a message and a traceback are scrubbed before they are written: the secrets some
URLs carry (``access_log.redact``), bearer tokens and the secret part of a partner's API key. A
development log keeps them, since an unsent mail written to the log (no ``MAIL_SERVER``) is how a
developer opens a sign-up or password link. Request headers are never logged.
"""
import json
import logging
import re
import sys
import time
from datetime import datetime, timezone

from flask.logging import default_handler

from ..access_log import redact
from ..config import ConfigError
from .request_id import current_request_id

FORMATS = ("json", "text")
#: ``mitra_<10 hex>`` names a partner's key on the office's pages; what follows it is the secret.
_PARTNER_KEY = re.compile(r"\b(mitra_[0-9a-f]{10})_[A-Za-z0-9_-]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
REDACTED = "[redacted]"


def scrub(text):
    """``text`` without URL secrets, bearer tokens and partner keys."""
    text = redact(text)
    return _BEARER.sub(r"\1" + REDACTED, _PARTNER_KEY.sub(r"\1_" + REDACTED, text))


def utc_timestamp(created):
    """``2026-12-03T04:05:06.789Z`` for a record's ``created``."""
    moment = datetime.fromtimestamp(created, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or None) on each record as ``request_id``."""

    def filter(self, record):
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", "pid"}``, ``"exception"`` with a traceback,
    and the fields of an access line (``record.access``, a dict: gunicorn_logs.py)."""

    def __init__(self, scrub_secrets=True):
        super().__init__()
        self.clean = scrub if scrub_secrets else str

    def format(self, record):
        entry = {"time": utc_timestamp(record.created), "level": record.levelname, "logger": record.name,
                 "message": self.clean(record.getMessage()),
                 "request_id": getattr(record, "request_id", None), "pid": record.process}
        entry.update(getattr(record, "access", None) or {})
        if record.exc_info:
            entry["exception"] = self.clean(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.clean(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-12-03T04:05:06Z INFO storefront.x [request id] message`` for a terminal."""

    converter = time.gmtime

    def __init__(self, scrub_secrets=False):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
                         datefmt="%Y-%m-%dT%H:%M:%SZ")
        self.clean = scrub if scrub_secrets else str

    def format(self, record):
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return self.clean(super().format(record))


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (gunicorn's, or a test's capture)."""

    def __init__(self):
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def chosen_format(value, production):
    """``LOG_FORMAT`` checked; JSON in production unless told otherwise."""
    value = (value or ("json" if production else "text")).strip().lower()
    if value not in FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(FORMATS)} (got {value!r}).")
    return value


def chosen_level(value):
    name = (value or "INFO").strip().upper()
    if name not in logging.getLevelNamesMapping():
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR (got {value!r}).")
    return name


def configure(log_format, level, scrub_secrets):
    """One handler of ours on the root logger (replacing an earlier one: apps built again in
    one process, as the tests do), and the shop's loggers at ``level``."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handler.setFormatter(formatter(scrub_secrets=scrub_secrets))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    logging.getLogger("storefront").setLevel(level)
    return handler


def init_app(app):
    cfg = app.config
    production = cfg.get("STOREFRONT_ENV") == "production"
    explicit = cfg.get("LOG_FORMAT")
    cfg["LOG_FORMAT"] = chosen_format(explicit, production)
    cfg["LOG_LEVEL"] = chosen_level(cfg.get("LOG_LEVEL"))
    if app.testing and not explicit:
        return  # the test runner collects log records itself
    configure(cfg["LOG_FORMAT"], cfg["LOG_LEVEL"], scrub_secrets=production)
    # Flask's own handler would write each record a second time, in its format.
    app.logger.removeHandler(default_handler)

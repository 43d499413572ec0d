"""What an operator sees of the running shop: a request id on every request and log line
(``request_id.py``), JSON log lines (``logs.py``, ``gunicorn_logs.py``), Prometheus metrics at
``/metrics`` (``metrics.py``, ``business.py``); ``/healthz`` reports the outbox's backlog too
(``storefront/health.py``). docs/observability.md is the operator's guide.

Settings (read by config.py, checked here): ``LOG_FORMAT``, ``LOG_LEVEL``, ``METRICS_TOKEN``,
``OUTBOX_ALERT_SECONDS``; ``PROMETHEUS_MULTIPROC_DIR`` under gunicorn.
"""
from ..config import ConfigError
from . import logs, metrics, request_id

#: ``/healthz`` says ``degraded`` when the oldest waiting outbox message is older than this.
OUTBOX_ALERT_SECONDS = 900
#: A shorter token could be guessed; ``secrets.token_urlsafe(32)`` gives 43 characters.
METRICS_TOKEN_MIN = 16


def _settings(cfg):
    token = cfg.get("METRICS_TOKEN")
    if token is not None and len(token) < METRICS_TOKEN_MIN:
        raise ConfigError(f"METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters "
                          "(python -c 'import secrets; print(secrets.token_urlsafe(32))').")
    value = cfg.get("OUTBOX_ALERT_SECONDS")
    value = OUTBOX_ALERT_SECONDS if value is None else value
    seconds = int(value) if str(value).strip().isdigit() else 0
    if seconds <= 0:
        raise ConfigError(f"OUTBOX_ALERT_SECONDS must be a whole number of seconds above 0 (got {value!r}).")
    cfg["OUTBOX_ALERT_SECONDS"] = seconds


def init_app(app):
    _settings(app.config)
    logs.init_app(app)
    metrics.init_app(app)
    # Outermost of the two middlewares: /metrics answers carry the request id too.
    request_id.init_app(app)

"""Prometheus metrics at ``GET /metrics`` (docs/observability.md lists every one).

Requests are counted by prometheus_flask_exporter: by method and status, and their latency by
``route``, the URL rule (``/produk/<slug>``) and not the path, so ids and slugs cannot make a
series each. A request with a method the shop does not know is not counted (a client could
invent any number of methods). Under gunicorn the workers share their counts through files
(``PROMETHEUS_MULTIPROC_DIR``, set up by gunicorn.conf.py), so any worker answers for all.
The shop's own figures (outbox, orders, payments) are read from the database at each scrape
(``business.py``).

``/metrics`` is answered here, as WSGI middleware in front of Flask: no session, no rate limit,
no page cache, no host check, and it does not count itself. Only Prometheus may read it: with
``METRICS_TOKEN`` set, a request must send ``Authorization: Bearer <token>``; without it, only a
request from this machine (loopback) that did not come through a proxy (no ``X-Forwarded-For``
or the like). Anyone else gets the shop's ordinary 404, as for any unknown address.
"""
import hmac
import ipaddress
import logging
import os

from flask import request
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .business import read_figures

log = logging.getLogger(__name__)

PATH = "/metrics"
#: Request latency buckets, in seconds: pages take tens of milliseconds; gunicorn stops at 30 s.
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Headers a proxy adds: a request carrying one came through a proxy, whatever its address.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_X_REAL_IP",
                 "HTTP_FORWARDED")


def route(req):
    """The latency histogram's ``route`` label (the exporter names the label after this function)."""
    rule = req.url_rule
    return rule.rule if rule is not None else "unmatched"


def is_loopback(address):
    try:
        return ipaddress.ip_address((address or "").strip("[]")).is_loopback
    except ValueError:
        return False


class BusinessCollector:
    """The shop's figures, read from its database at each scrape."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        try:
            with self.app.app_context(), db.engine.connect() as connection:
                figures = read_figures(connection)
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            yield GaugeMetricFamily("storefront_database_up", "1 when the database answered this scrape", 0)
            return
        yield GaugeMetricFamily("storefront_database_up", "1 when the database answered this scrape", 1)
        waiting = GaugeMetricFamily("storefront_outbox_waiting_messages",
                                    "Outbox messages not delivered yet (due or waiting for a retry)",
                                    labels=["channel"])
        failed = GaugeMetricFamily("storefront_outbox_failed_messages",
                                   "Outbox messages given up after 24 hours of failures, not sent again",
                                   labels=["channel"])
        for channel, count in figures.waiting.items():
            waiting.add_metric([channel], count)
        for channel, count in figures.failed_messages.items():
            failed.add_metric([channel], count)
        yield waiting
        yield failed
        yield GaugeMetricFamily("storefront_outbox_oldest_waiting_seconds",
                                "Age of the oldest outbox message not delivered yet (0 when none waits)",
                                figures.backlog.oldest_seconds())
        orders = CounterMetricFamily("storefront_orders_placed", "Orders placed, by payment method",
                                     labels=["payment_method"])
        for method, count in figures.orders.items():
            orders.add_metric([method], count)
        yield orders
        failures = CounterMetricFamily("storefront_payment_failures",
                                       "Payments refused by the shop or failed at the provider",
                                       labels=["provider", "reason"])
        for (provider, reason), count in figures.payment_failures.items():
            failures.add_metric([provider, reason], count)
        yield failures


class MetricsEndpoint:
    """Answers ``GET /metrics`` for Prometheus; passes every other request on to the app."""

    def __init__(self, wsgi_app, registry, token=None):
        self.wsgi_app, self.registry, self.token = wsgi_app, registry, token

    def allowed(self, environ):
        if self.token:
            scheme, _sep, value = environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(),
                                                                      self.token.encode())
        if any(environ.get(header) for header in PROXY_HEADERS):
            return False
        return is_loopback(environ.get("REMOTE_ADDR"))

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") not in ("GET", "HEAD") \
                or not self.allowed(environ):
            return self.wsgi_app(environ, start_response)
        encode, content_type = choose_encoder(environ.get("HTTP_ACCEPT"))
        body = encode(self.registry)
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def multiprocess_folder():
    """``PROMETHEUS_MULTIPROC_DIR`` (made if missing), or None for one process alone."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
    return folder


def init_app(app):
    options = {"path": None, "group_by": route, "buckets": BUCKETS}
    if multiprocess_folder():
        # Each worker writes its counts to files; a scrape adds up every worker's, dead ones too.
        exporter = GunicornInternalPrometheusMetrics.for_app_factory(**options)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        # One registry per app: tests build many apps in one process.
        registry = CollectorRegistry()
        exporter = PrometheusMetrics.for_app_factory(registry=registry, **options)

    @app.before_request
    def count_known_methods_only():
        if request.method not in KNOWN_METHODS:
            request.prom_do_not_track = True

    exporter.init_app(app)
    registry.register(BusinessCollector(app))
    app.extensions["prometheus_metrics"] = exporter
    app.wsgi_app = MetricsEndpoint(app.wsgi_app, registry, app.config.get("METRICS_TOKEN"))

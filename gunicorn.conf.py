"""gunicorn settings for production: ``gunicorn wsgi:app``."""
import atexit
import glob
import multiprocessing
import os
import shutil
import tempfile

# Served by gunicorn means production: the app then refuses a missing or weak SECRET_KEY.
os.environ.setdefault("STOREFRONT_ENV", "production")

#: Set in the master once it has prepared the metrics folder (a reload reads this file again).
_METRICS_OWNER = "STOREFRONT_METRICS_MASTER"
#: The folder this master made for itself, removed when it exits.
_METRICS_TEMP = "STOREFRONT_METRICS_TEMP"


def _remove_own_metrics_folder(folder, master):
    # Workers are forked with this exit handler: only the master that made the folder removes it.
    if os.getpid() == master:
        shutil.rmtree(folder, ignore_errors=True)


def _metrics_folder():
    """The workers share their request counts through files (prometheus_client's multiprocess
    mode): ``PROMETHEUS_MULTIPROC_DIR``, emptied of an earlier run's files, or a new private
    folder when it is unset. Set before the app is loaded: prometheus_client reads it on import."""
    if os.environ.get(_METRICS_OWNER) == str(os.getpid()):
        return  # a reload (HUP): the running workers keep their files
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    # A master started by another (USR2 upgrade) makes its own: the old one removes its folder.
    if folder and folder != os.environ.get(_METRICS_TEMP):
        os.makedirs(folder, exist_ok=True)
        for stale in glob.glob(os.path.join(folder, "*.db")):  # only the metric files: it may be shared
            os.remove(stale)
    else:
        folder = tempfile.mkdtemp(prefix="storefront-metrics-")
        os.environ[_METRICS_TEMP] = folder
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        # At any exit of the master, a start refused by the app's checks too.
        atexit.register(_remove_own_metrics_folder, folder, os.getpid())
    os.environ[_METRICS_OWNER] = str(os.getpid())


_metrics_folder()

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
timeout = 30
graceful_timeout = 20
keepalive = 5
# The app is loaded once, before the workers fork: a worker that max_requests recycles starts
# in milliseconds instead of importing and building the app again (about 2 s of CPU here, which
# at 2,000 requests per worker cost a fifth of the machine under load; bench/RESULTS.md).
preload_app = True
max_requests = 10000
max_requests_jitter = 1000
accesslog = "-"
# JSON lines in production (docs/observability.md), as the app's own log: LOG_FORMAT=text for
# gunicorn's usual lines. Secrets in URLs (reset and invitation links, feed addresses, order
# links) never reach the log either way.
_json_logs = os.environ.get("LOG_FORMAT", "json" if os.environ["STOREFRONT_ENV"] == "production"
                            else "text").strip().lower() == "json"
logger_class = ("storefront.observability.gunicorn_logs.JsonLogger" if _json_logs
                else "storefront.access_log.RedactingLogger")
# The text line: gunicorn's usual one, with the time taken and the request id (request_id.py).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %({x-request-id}o)s'


def _json_app_log():
    """The app's own lines are JSON from the first: its production checks log while the app is
    still being built, before it sets up its log (which then does the same again)."""
    from storefront.observability.logs import chosen_level, configure

    configure("json", chosen_level(os.environ.get("LOG_LEVEL")),
              scrub_secrets=os.environ["STOREFRONT_ENV"] == "production")


if _json_logs:
    _json_app_log()
# gunicorn believes no X-Forwarded-* header: the app's ProxyFix does, for exactly
# TRUSTED_PROXY_HOPS proxies (README, "Production"), so there is one place that decides.
forwarded_allow_ips = ""
secure_scheme_headers = {}


def post_fork(server, worker):
    """A forked worker must not share the master's database connections (SQLAlchemy's advice
    for multiprocessing): drop any pooled ones without closing them under the master."""
    app = server.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):
        return  # not the shop (bench/hello.py shares these settings)
    from storefront.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def child_exit(server, worker):
    """A worker that ended (max_requests, a crash): its counts stay in the sums, its gauges go."""
    from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

    GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)

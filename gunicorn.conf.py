"""gunicorn settings for production: ``gunicorn wsgi:app``."""
import multiprocessing
import os

# Served by gunicorn means production: the app then refuses a missing or weak SECRET_KEY.
os.environ.setdefault("STOREFRONT_ENV", "production")

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
# Secrets in URLs (reset and invitation links, feed addresses, order links) never reach the log.
logger_class = "storefront.access_log.RedactingLogger"
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

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
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

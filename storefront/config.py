"""Settings, read from the environment.

SQLite under ``instance/`` is the default so that a fresh clone runs with no
set-up; ``DATABASE_URL`` switches to PostgreSQL in production.
"""
import math
import os
import secrets
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

#: Secret keys that must never protect a production shop.
KNOWN_WEAK_KEYS = {"", "dev", "development", "secret", "changeme", "change-me", "please-change-me"}


class ConfigError(RuntimeError):
    """The app was started with settings it must refuse."""


#: Host names a development server also answers to (``make run`` on this machine).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: Shannon estimate a production SECRET_KEY must reach: ``token_hex(32)`` gives about 240,
#: ``token_hex(16)`` (128 random bits in 32 characters) about 115, ``"a" * 32`` none.
MIN_KEY_BITS = 96
#: Werkzeug's scrypt at its default cost (n=2**15, r=8, p=1): about 50 ms and 32 MB per hash.
STRONG_PASSWORD_HASH = "scrypt"


def _flag(value):
    return str(value or "").lower() in ("1", "true", "yes", "on")


def secret_key_problem(key):
    """Why ``key`` cannot protect a production shop, or None.

    Length alone is not enough: ``"a" * 32`` is long and guessable. The key must be 32+ characters,
    not a known default, not one short piece repeated, and its characters must carry at least
    ``MIN_KEY_BITS`` bits by a Shannon estimate (the characters' spread times the length)."""
    key = key or ""
    if not key:
        return "is missing"
    if key.lower() in KNOWN_WEAK_KEYS or len(key) < 32:
        return "is too short or a known default (at least 32 random characters)"
    if any(key == (key[:size] * (len(key) // size + 1))[:len(key)] for size in range(1, len(key) // 2 + 1)):
        return "is one short piece repeated"
    steps = sum(abs(ord(a) - ord(b)) == 1 for a, b in zip(key, key[1:]))
    if steps * 2 >= len(key):
        return "is a run of neighbouring characters (abcd..., 1234...)"
    counts = Counter(key)
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    if bits < MIN_KEY_BITS:
        return f"carries too little randomness (about {bits:.0f} bits, at least {MIN_KEY_BITS} needed)"
    return None


def public_url(value):
    """``PUBLIC_URL`` checked and without a trailing slash: http(s), a host, no query or fragment."""
    value = (value or "").strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ConfigError(f"PUBLIC_URL must look like https://shop.example (got {value!r}).")
    return value


def trusted_hosts(public, extra="", loopback=False):
    """The host names requests may carry: PUBLIC_URL's, ``EXTRA_HOSTS``, and in development the
    loopback names. Anything else gets 400 before a view runs."""
    hostname = urlsplit(public).hostname
    hosts = [f"[{hostname}]" if ":" in hostname else hostname]
    hosts += [name.strip().lower() for name in (extra or "").split(",") if name.strip()]
    if loopback:
        hosts += [name for name in LOOPBACK_NAMES if name not in hosts]
    return hosts


def _hops(value):
    try:
        hops = int(value)
    except (TypeError, ValueError):
        hops = -1
    if not 0 <= hops <= 5:
        raise ConfigError(f"TRUSTED_PROXY_HOPS must be a number of proxies from 0 to 5 (got {value!r}).")
    return hops


def normalise_database_url(url):
    """Let operators paste the URL their host gives them (``postgres://``)
    and still use the psycopg 3 driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _development_secret_key(instance_path):
    """A random key kept in ``instance/`` so development sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_config(app, overrides=None):
    """Fill ``app.config`` from the environment, then apply ``overrides`` (tests)."""
    env = os.environ
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    cfg = app.config
    cfg["STOREFRONT_ENV"] = env.get("STOREFRONT_ENV", "development")
    cfg["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        env.get("DATABASE_URL") or f"sqlite:///{instance / 'storefront.db'}"
    )
    cfg["SECRET_KEY"] = env.get("SECRET_KEY")
    #: Earlier keys, still accepted on what they signed (sessions, device cookies) while a new
    #: SECRET_KEY takes over: comma-separated, oldest first (docs/operations.md, rotating secrets).
    cfg["SECRET_KEY_FALLBACKS"] = [key.strip() for key in env.get("SECRET_KEY_FALLBACKS", "").split(",")
                                   if key.strip()]
    cfg["MEDIA_ROOT"] = env.get("MEDIA_ROOT") or str(instance / "media")
    cfg["BABEL_DEFAULT_LOCALE"] = "id"
    cfg["BABEL_DEFAULT_TIMEZONE"] = "Asia/Makassar"
    cfg["LANGUAGES"] = ("id", "en")
    cfg["CATALOG_PAGE_SIZE"] = int(env.get("CATALOG_PAGE_SIZE", 24))
    cfg["API_PAGE_SIZE_MAX"] = 100
    cfg["OFFICE_NAME"] = env.get(
        "OFFICE_NAME", "Pemerintah Provinsi Nusa Tenggara Timur"
    )
    cfg["SCAN_ROOT"] = env.get("SCAN_ROOT") or str(instance / "scans")
    # Photos and scans: "local" (MEDIA_ROOT, SCAN_ROOT on this machine) or "s3" (an object store
    # every web server shares; storefront/storage/).
    cfg["STORAGE"] = (env.get("STORAGE") or "local").strip().lower()
    cfg["S3_BUCKET"] = env.get("S3_BUCKET") or None
    #: Another bucket for the private scans, if they should not share the photos' bucket.
    cfg["S3_SCAN_BUCKET"] = env.get("S3_SCAN_BUCKET") or None
    #: Empty for Amazon S3 itself; the address of MinIO or another S3-compatible store.
    cfg["S3_ENDPOINT_URL"] = env.get("S3_ENDPOINT_URL") or None
    cfg["S3_REGION"] = env.get("S3_REGION") or None
    # One request: a product form with its photos (each up to 20 MB; 64 MB holds eight ordinary
    # 12 MP phone photos of 3-8 MB, or three 50 MP ones) or a paper with its scan (20 MB). Flask
    # refuses more before reading it (413): a form that sends files comes back with the message at
    # its file field (upload_forms.py), other pages get web.py's page. Werkzeug keeps uploads
    # above 500 KB in temporary files, not in memory. A proxy in front must let as much through
    # (nginx: client_max_body_size 64m).
    cfg["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    cfg["MAIL_SERVER"] = env.get("MAIL_SERVER") or None
    cfg["MAIL_PORT"] = int(env.get("MAIL_PORT", 25))
    cfg["MAIL_USERNAME"] = env.get("MAIL_USERNAME") or None
    cfg["MAIL_PASSWORD"] = env.get("MAIL_PASSWORD") or None
    cfg["MAIL_STARTTLS"] = env.get("MAIL_STARTTLS", "").lower() in ("1", "true", "yes")
    cfg["MAIL_TIMEOUT"] = int(env.get("MAIL_TIMEOUT", 20))
    # The shop's own address: every absolute link that leaves a request (mail, webhook, QR label,
    # feed, API) is built on it, never on the request's Host header. Required in production.
    cfg["PUBLIC_URL"] = env.get("PUBLIC_URL") or None
    #: Extra host names the shop answers to besides PUBLIC_URL's (comma-separated).
    cfg["EXTRA_HOSTS"] = env.get("EXTRA_HOSTS", "")
    #: Proxies in front of the app whose X-Forwarded-For/-Proto may be believed (nginx: 1).
    cfg["TRUSTED_PROXY_HOPS"] = env.get("TRUSTED_PROXY_HOPS", "0")
    cfg["ACK_DEADLINE_HOURS"] = int(env.get("ACK_DEADLINE_HOURS", 48))
    #: A shipped parcel the buyer has not confirmed counts as delivered (earned) after this.
    cfg["DELIVERED_AFTER_DAYS"] = int(env.get("DELIVERED_AFTER_DAYS", 14))
    #: The smallest balance the office's payout batch proposes to pay (whole rupiah).
    cfg["PAYOUT_MINIMUM_IDR"] = int(env.get("PAYOUT_MINIMUM_IDR", 50_000))
    #: The weekday the office pays villages (0 = Monday ... 4 = Friday), told to villages.
    cfg["PAYOUT_WEEKDAY"] = int(env.get("PAYOUT_WEEKDAY", 4))
    # Village webhooks must be HTTPS; plain http to loopback only for local trials.
    cfg["OUTBOX_ALLOW_HTTP"] = env.get("OUTBOX_ALLOW_HTTP", "").lower() in ("1", "true", "yes")
    cfg["MAIL_FROM"] = env.get("MAIL_FROM", "Produk Desa NTT <noreply@produkdesa-ntt.example>")
    #: Where the office's notices go; empty means every active verifier and admin.
    cfg["OFFICE_EMAIL"] = env.get("OFFICE_EMAIL", "")
    cfg["INVITATION_DAYS"] = int(env.get("INVITATION_DAYS", 7))
    cfg["PASSWORD_RESET_MINUTES"] = int(env.get("PASSWORD_RESET_MINUTES", 60))
    #: How long the link that activates a new account works.
    cfg["SIGN_UP_CONFIRM_HOURS"] = int(env.get("SIGN_UP_CONFIRM_HOURS", 48))
    cfg["STRIPE_SECRET_KEY"] = env.get("STRIPE_SECRET_KEY") or None
    cfg["STRIPE_WEBHOOK_SECRET"] = env.get("STRIPE_WEBHOOK_SECRET") or None
    #: Only for tests and the Stripe CLI's mock servers; empty means Stripe itself.
    cfg["STRIPE_API_BASE"] = env.get("STRIPE_API_BASE") or None
    #: Seconds to wait for Stripe per attempt (one retry); the buyer is told and may try again.
    cfg["STRIPE_TIMEOUT"] = float(env.get("STRIPE_TIMEOUT", 10))
    # Midtrans Snap (QRIS, bank virtual accounts, e-wallets): on when the server key is set.
    cfg["MIDTRANS_SERVER_KEY"] = env.get("MIDTRANS_SERVER_KEY") or None
    #: ``1`` for Midtrans' production servers; otherwise its sandbox.
    cfg["MIDTRANS_PRODUCTION"] = env.get("MIDTRANS_PRODUCTION", "").lower() in ("1", "true", "yes")
    #: Only for tests and local trials: other addresses of the Core API and of Snap.
    cfg["MIDTRANS_API_BASE"] = env.get("MIDTRANS_API_BASE") or None
    cfg["MIDTRANS_SNAP_BASE"] = env.get("MIDTRANS_SNAP_BASE") or None
    #: Seconds to wait for Midtrans per call; then the buyer is told and may try again.
    cfg["MIDTRANS_TIMEOUT"] = float(env.get("MIDTRANS_TIMEOUT", 10))
    #: The payment channels offered on Midtrans' page (comma-separated Snap codes).
    cfg["MIDTRANS_ENABLED_PAYMENTS"] = [code.strip() for code in env.get(
        "MIDTRANS_ENABLED_PAYMENTS", "other_qris,gopay,shopeepay,dana,bca_va,bni_va,bri_va,permata_va,echannel,"
        "other_va").split(",") if code.strip()]
    #: How long an unpaid Midtrans order holds its stock; its payment expires as it ends.
    cfg["MIDTRANS_EXPIRY_MINUTES"] = int(env.get("MIDTRANS_EXPIRY_MINUTES", 180))
    #: How long an unpaid bank transfer holds its stock.
    cfg["BANK_TRANSFER_HOURS"] = int(env.get("BANK_TRANSFER_HOURS", 48))
    #: The buyer of an unpaid bank transfer is reminded this long before its hold runs out.
    cfg["PAYMENT_REMINDER_HOURS"] = int(env.get("PAYMENT_REMINDER_HOURS", 6))
    cfg["BANK_NAME"] = env.get("BANK_NAME", "Bank NTT")
    cfg["BANK_ACCOUNT_NUMBER"] = env.get("BANK_ACCOUNT_NUMBER", "001.01.02.012345-6")
    cfg["BANK_ACCOUNT_HOLDER"] = env.get("BANK_ACCOUNT_HOLDER", "Toko Produk Desa NTT")
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["WTF_CSRF_TIME_LIMIT"] = None  # a form left open on a slow phone must still submit
    # Sessions end after this long without a request (staff: office and village roles) ...
    cfg["SESSION_IDLE_MINUTES_STAFF"] = int(env.get("SESSION_IDLE_MINUTES_STAFF", 30))
    cfg["SESSION_IDLE_MINUTES_CUSTOMER"] = int(env.get("SESSION_IDLE_MINUTES_CUSTOMER", 120))
    # ... and this long after sign-in whatever happens; "keep me signed in" lasts as long.
    cfg["SESSION_ABSOLUTE_HOURS"] = int(env.get("SESSION_ABSOLUTE_HOURS", 12))
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    # Rate limits (Flask-Limiter): Redis when REDIS_URL is set, else per-process memory.
    cfg["REDIS_URL"] = env.get("REDIS_URL") or None
    #: Production without Redis only when chosen knowingly: each process then counts alone.
    cfg["ALLOW_PER_PROCESS_LIMITS"] = _flag(env.get("ALLOW_PER_PROCESS_LIMITS"))
    cfg["RATELIMIT_ENABLED"] = env.get("RATELIMIT_ENABLED", "1").lower() not in ("0", "false", "no")
    #: Names the deployed release in ETags and cache keys (storefront/release.py); empty: a digest
    #: of the code, templates, translations and static files.
    cfg["RELEASE"] = env.get("RELEASE") or None
    #: Whether a production start checks that Redis and the file store answer (startup_checks.py).
    cfg["VERIFY_SERVICES"] = _flag(env.get("VERIFY_SERVICES", "1"))
    # Logs and metrics (checked by storefront/observability/, docs/observability.md).
    cfg["LOG_FORMAT"] = env.get("LOG_FORMAT") or None  # json in production, text otherwise
    cfg["LOG_LEVEL"] = env.get("LOG_LEVEL") or None  # INFO
    cfg["METRICS_TOKEN"] = env.get("METRICS_TOKEN") or None
    cfg["OUTBOX_ALERT_SECONDS"] = env.get("OUTBOX_ALERT_SECONDS") or None  # 900
    #: Not read from the environment: only the test suite chooses a cheaper hash (hashing.py).
    cfg["PASSWORD_HASH_METHOD"] = STRONG_PASSWORD_HASH
    if overrides:
        cfg.update(overrides)

    production = cfg["STOREFRONT_ENV"] == "production"
    if production:
        problem = secret_key_problem(cfg["SECRET_KEY"])
        if problem:
            raise ConfigError(
                f"SECRET_KEY {problem}: set a random value "
                "(python -c 'import secrets; print(secrets.token_hex(32))') before starting in production."
            )
        for number, key in enumerate(cfg["SECRET_KEY_FALLBACKS"], 1):
            problem = secret_key_problem(key)
            if problem:
                raise ConfigError(f"SECRET_KEY_FALLBACKS: key {number} {problem}; list only keys that were "
                                  "SECRET_KEY before.")
        if cfg["PASSWORD_HASH_METHOD"] != STRONG_PASSWORD_HASH:
            raise ConfigError(f"PASSWORD_HASH_METHOD must be {STRONG_PASSWORD_HASH!r} in production "
                              "(a cheaper method is for the test suite only).")
        if not cfg["PUBLIC_URL"]:
            raise ConfigError(
                "PUBLIC_URL is not set: give the shop's public address (e.g. https://produkdesa.nttprov.go.id); "
                "every link in mails, webhooks, QR labels and feeds is built on it.")
        if not cfg["REDIS_URL"] and not _flag(cfg.get("ALLOW_PER_PROCESS_LIMITS")):
            raise ConfigError(
                "REDIS_URL is not set: without Redis every gunicorn worker counts rate limits on its own, "
                "so a sign-in limit of 10 becomes 10 per worker. Set REDIS_URL=redis://HOST:6379/0, or "
                "ALLOW_PER_PROCESS_LIMITS=1 to accept per-process limits knowingly.")
        cfg["SESSION_COOKIE_SECURE"] = True
        cfg["REMEMBER_COOKIE_SECURE"] = True
        cfg["PREFERRED_URL_SCHEME"] = "https"
    elif not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = _development_secret_key(instance)
    cfg["PUBLIC_URL"] = public_url(cfg["PUBLIC_URL"] or f"http://127.0.0.1:{env.get('PORT', '5000')}")
    cfg["TRUSTED_PROXY_HOPS"] = _hops(cfg["TRUSTED_PROXY_HOPS"])
    if cfg.get("TRUSTED_HOSTS") is None:
        cfg["TRUSTED_HOSTS"] = trusted_hosts(cfg["PUBLIC_URL"], cfg["EXTRA_HOSTS"], loopback=not production)

    if not cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A server restart must not surface as errors on the next requests.
        # (SQLite's WAL mode and busy timeout are set per connection in extensions.py.)
        cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})

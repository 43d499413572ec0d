"""What a production start checks before it serves anyone, each refusal saying what to do.

``config.load_config`` checks the settings themselves (SECRET_KEY, PUBLIC_URL, REDIS_URL); this
module checks what they point at: the compiled translations (build output of
``pybabel compile``, which a deploy by pip alone does not make), the storage settings, and, when
``VERIFY_SERVICES`` is on (the default in production), that Redis and the file store answer now.
gunicorn loads the app once before it forks (``preload_app``), so a bad deploy stops there, with
the reason in the log, instead of serving English pages marked ``lang="id"`` or losing uploads.
"""
from pathlib import Path

from .config import ConfigError

#: The command that compiles the catalogues (``make install`` runs it too).
COMPILE_COMMAND = ".venv/bin/pybabel compile -d storefront/translations"
STORAGE_BACKENDS = ("local", "s3")
#: Seconds a start waits for Redis to answer.
REDIS_TIMEOUT = 3


def translation_problem(app):
    """Why the shop would serve untranslated pages, or None."""
    # Where Flask-Babel looks (its setting, relative to the package).
    folder = Path(app.root_path, app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations").split(";")[0])
    for language in app.config["LANGUAGES"]:
        if language == "en":
            continue  # the messages are written in English
        source = folder / language / "LC_MESSAGES" / "messages.po"
        compiled = source.with_suffix(".mo")
        if not compiled.is_file():
            return (f"the compiled translations are missing ({compiled}): "
                    f"run `{COMPILE_COMMAND}` after installing")
        if source.is_file() and compiled.stat().st_mtime < source.stat().st_mtime:
            return (f"the compiled translations are older than their source ({source.name} changed): "
                    f"run `{COMPILE_COMMAND}` again")
    return None


def storage_problem(config):
    """Why the storage settings cannot work, or None (without reaching the store)."""
    backend = config.get("STORAGE")
    if backend not in STORAGE_BACKENDS:
        return f"STORAGE must be one of {', '.join(STORAGE_BACKENDS)} (got {backend!r})"
    if backend == "local":
        return None
    if not config.get("S3_BUCKET"):
        return "STORAGE=s3 needs S3_BUCKET, the bucket that keeps photos and scans"
    endpoint = config.get("S3_ENDPOINT_URL")
    if endpoint and not endpoint.startswith(("https://", "http://")):
        return f"S3_ENDPOINT_URL must be an http(s) address (got {endpoint!r})"
    import boto3

    if boto3.session.Session().get_credentials() is None:
        return ("STORAGE=s3 found no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or give the machine a role that may use the bucket)")
    return None


def _reach_storage(app):
    from .storage import AREAS, StorageError, store

    for area in AREAS:
        try:
            store(area, app).check()
        except StorageError as error:
            raise ConfigError(f"The {area} store cannot be used: {error}. Check the STORAGE and S3_* settings "
                              "(README, Configuration) and that the bucket exists.") from None


def _reach_redis(url):
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT).ping()
    except (redis.RedisError, OSError, ValueError) as error:
        raise ConfigError(f"REDIS_URL ({_without_password(url)}) cannot be reached: {error}. Start Redis or "
                          "correct REDIS_URL; rate limits and the page cache live there.") from None


def _without_password(url):
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def check_production(app):
    """Raise ``ConfigError`` with the first reason a production start must be refused."""
    problem = translation_problem(app)
    if problem:
        raise ConfigError(f"Translations: {problem}.")
    problem = storage_problem(app.config)
    if problem:
        raise ConfigError(f"Storage: {problem}.")
    if app.config["STORAGE"] == "local":
        app.logger.warning("Photos and scans are kept on this machine's disk (STORAGE=local, %s, %s): a second "
                           "web server would not see them; use STORAGE=s3 for more than one.",
                           app.config["MEDIA_ROOT"], app.config["SCAN_ROOT"])
    if app.config.get("VERIFY_SERVICES"):
        if app.config.get("REDIS_URL"):
            _reach_redis(app.config["REDIS_URL"])
        _reach_storage(app)

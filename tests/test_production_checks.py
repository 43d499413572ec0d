"""A production start refuses, with one clear sentence, what would break the shop once it serves
(issue 20): translations never compiled, storage settings that cannot work, a Redis or a bucket
that does not answer. The settings' own checks (SECRET_KEY, PUBLIC_URL, REDIS_URL missing) are in
tests/test_setup.py.
"""
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from storefront import ROOT, create_app
from storefront.config import ConfigError

from .mail_server import free_port
from .s3_server import s3_settings

TRANSLATIONS = ROOT / "storefront" / "translations"


@pytest.fixture
def production(monkeypatch, tmp_path):
    """A production environment that would start: every test breaks one thing."""
    for name in ("REDIS_URL", "STORAGE", "S3_BUCKET", "S3_ENDPOINT_URL", "ALLOW_PER_PROCESS_LIMITS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STOREFRONT_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("PUBLIC_URL", "https://shop.example")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    monkeypatch.setenv("SCAN_ROOT", str(tmp_path / "scans"))
    monkeypatch.setenv("ALLOW_PER_PROCESS_LIMITS", "1")
    return monkeypatch


def redis_answers():
    try:
        return redis.Redis(socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def test_a_good_production_start_passes_and_says_where_files_go(production, caplog):
    app = create_app()
    assert app.config["STORAGE"] == "local"
    assert "a second web server would not see them" in caplog.text


def test_translations_that_were_never_compiled_stop_the_start(production, tmp_path):
    # A copy of the catalogues as a deploy by pip alone would leave them: sources, nothing compiled.
    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo"))
    with pytest.raises(ConfigError, match=r"compiled translations are missing .*pybabel compile -d "
                                          r"storefront/translations"):
        create_app({"BABEL_TRANSLATION_DIRECTORIES": str(copy)})

    # Compiled, then the source changed (an upgrade that forgot to compile again).
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d", str(copy)],
                   check=True, capture_output=True)
    assert create_app({"BABEL_TRANSLATION_DIRECTORIES": str(copy)})
    source = copy / "id" / "LC_MESSAGES" / "messages.po"
    compiled = source.with_suffix(".mo")
    os.utime(source, (compiled.stat().st_mtime + 60,) * 2)
    with pytest.raises(ConfigError, match="older than their source"):
        create_app({"BABEL_TRANSLATION_DIRECTORIES": str(copy)})


@pytest.mark.parametrize("settings, message", [
    ({"STORAGE": "ftp"}, "STORAGE must be one of local, s3"),
    ({"STORAGE": "s3"}, "STORAGE=s3 needs S3_BUCKET"),
    ({"STORAGE": "s3", "S3_BUCKET": "shop", "S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL must be an http"),
])
def test_storage_settings_that_cannot_work_stop_the_start(production, settings, message):
    for name, value in settings.items():
        production.setenv(name, value)
    with pytest.raises(ConfigError, match=f"Storage: {message}"):
        create_app()


def test_an_object_store_without_credentials_or_bucket_stops_the_start(production, s3_server, tmp_path):
    settings = s3_settings(s3_server)
    for name, value in settings.items():
        production.setenv(name, value)
    assert create_app().config["S3_BUCKET"] == settings["S3_BUCKET"]  # answers: starts

    production.setenv("S3_BUCKET", "no-such-bucket-here")
    with pytest.raises(ConfigError, match="The media store cannot be used: .*NoSuchBucket"):
        create_app()

    production.setenv("S3_BUCKET", settings["S3_BUCKET"])
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        production.delenv(name, raising=False)
    production.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    production.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    production.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no cloud machine to ask here
    with pytest.raises(ConfigError, match="found no credentials: set AWS_ACCESS_KEY_ID"):
        create_app()


def test_a_redis_that_does_not_answer_stops_the_start_without_showing_its_password(production):
    production.setenv("REDIS_URL", f"redis://:hunter2secret@127.0.0.1:{free_port()}/0")
    with pytest.raises(ConfigError, match="REDIS_URL") as refused:
        create_app()
    assert "hunter2secret" not in str(refused.value) and ":***@" in str(refused.value)
    # Checking can be left to the operator (VERIFY_SERVICES=0): the settings alone are then checked.
    production.setenv("VERIFY_SERVICES", "0")
    assert create_app()


def test_a_redis_that_answers_lets_the_start_go_on(production):
    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 (CI has one); the refusal is tested without it")
    production.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/15"


def test_a_refused_start_is_one_readable_line_not_a_traceback_to_decode(production, tmp_path):
    """As an operator sees it: the process exits and says why."""
    env = {**os.environ, "STORAGE": "s3"}
    done = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "ConfigError: Storage: STORAGE=s3 needs S3_BUCKET, the bucket that keeps photos and scans." \
        in done.stderr.splitlines()[-1]


def test_the_documented_compile_command_is_the_one_make_install_runs():
    makefile = (ROOT / "Makefile").read_text()
    assert "pybabel compile -d storefront/translations" in makefile
    assert (Path(ROOT) / "storefront" / "translations" / "id" / "LC_MESSAGES" / "messages.mo").is_file()

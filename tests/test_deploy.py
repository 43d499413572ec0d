"""deploy/ as it is meant to run (issue 20): the nginx site in front of two app servers, the
systemd units' commands and the sample settings. What a test cannot run here (systemctl, certbot,
a real certificate) is a drill in deploy/README.md.

The servers, nginx and the units' processes are tests/cluster.py's, shared with
tests/test_two_servers.py; the nginx tests skip where nginx is not installed.
"""
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from urllib.parse import quote, urlsplit

import pytest

from storefront.access_log import SECRET_PATHS
from storefront.web import STATIC_YEAR

from .cluster import (ENV_EXAMPLE, ENV_FILE, INSTALL_DIR, ROOT, UNITS, Browser, deployed_cluster,
                      documented_keys, loopback_address, mail_to, new_account, nginx_missing, read_env_file,
                      read_unit, unit_command, unit_process)

NO_NGINX = nginx_missing()
needs_nginx = pytest.mark.skipif(NO_NGINX is not None, reason=NO_NGINX or "")
HSTS = "max-age=63072000; includeSubDomains"
SERVICES = sorted(path.name for path in UNITS.glob("*.service"))
TIMERS = sorted(path.name for path in UNITS.glob("*.timer"))
BACKUPS = "/var/backups/storefront"
DRILL = ROOT / "deploy" / "README.md"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, s3_server):
    yield from deployed_cluster(tmp_path_factory, s3_server)


def tls_socket(cluster, door, protocols=("http/1.1",)):
    """A TLS connection to a door, checked against the cluster's certificate."""
    parts = urlsplit(cluster.doors[door])
    context = ssl.create_default_context(cafile=str(cluster.certificate))
    context.set_alpn_protocols(list(protocols))
    return context.wrap_socket(socket.create_connection((parts.hostname, parts.port), timeout=10),
                               server_hostname=parts.hostname)


def started_post(cluster, door, length, body=b""):
    """A POST whose headers announce ``length`` bytes of body, of which only ``body`` is sent."""
    connection = tls_socket(cluster, door)
    connection.sendall(f"POST /masuk HTTP/1.1\r\nHost: {urlsplit(cluster.doors[door]).netloc}\r\n"
                       f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
                       .encode() + body)
    return connection


def log_line(text, *paths, seconds=5):
    """The line of the logs at ``paths`` holding ``text`` (a line is written as its request ends)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [line for path in paths for line in path.read_text().splitlines() if text in line]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"{text!r} is in none of {paths}")


# --- nginx ------------------------------------------------------------------------------------------

@needs_nginx
def test_plain_http_only_redirects_and_answers_the_certificate_challenge(cluster):
    browser = Browser(cluster)
    moved = browser.get(cluster.doors["site-http"] + "/produk?kategori=kopi", allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == "https://127.0.0.1/produk?kategori=kopi"

    token = secrets.token_urlsafe(16)
    (cluster.acme_root / ".well-known" / "acme-challenge" / token).write_text("bukti-untuk-lets-encrypt")
    challenge = browser.get(f"{cluster.doors['site-http']}/.well-known/acme-challenge/{token}",
                            allow_redirects=False)
    assert challenge.status_code == 200 and challenge.text == "bukti-untuk-lets-encrypt"


@needs_nginx
def test_https_serves_the_shop_in_indonesian_compressed_with_one_hsts_header(cluster):
    browser = Browser(cluster)
    home = browser.open("site", "/")
    assert '<html lang="id">' in home.text and "Keranjang" in home.text
    assert home.headers["Server"] == "nginx"  # no version
    assert home.raw.headers.getlist("Strict-Transport-Security") == [HSTS]
    # Compressed, and the page cache's ETag (weakened by gzip) still answers 304.
    assert home.headers["Content-Encoding"] == "gzip" and home.headers["ETag"].startswith('W/"')
    unchanged = browser.get(cluster.doors["site"] + "/", headers={"If-None-Match": home.headers["ETag"]})
    assert unchanged.status_code == 304

    with tls_socket(cluster, "site", ("h2", "http/1.1")) as connection:
        assert connection.selected_alpn_protocol() == "h2" and connection.version() in ("TLSv1.2", "TLSv1.3")
    # A Host that is not the shop's reaches the app, which refuses it.
    assert browser.get(cluster.doors["site"] + "/", headers={"Host": "toko-palsu.example"}).status_code == 400


@needs_nginx
def test_static_files_come_from_nginx_and_only_versioned_names_are_kept_a_year(cluster):
    browser = Browser(cluster)
    home = browser.open("site", "/")
    named = re.findall(r'href="(/static/[^"?]+)\?v=([^"&]+)"', home.text)
    assert named and {release for _, release in named} == {named[0][1]}, named
    path, release = named[0]

    # The "stopped" door has no app server behind it: what it serves, nginx serves alone.
    assert browser.get(cluster.doors["stopped"] + "/").status_code == 502
    versioned = browser.get(f"{cluster.doors['stopped']}{path}?v={release}")
    assert versioned.status_code == 200 and versioned.content == (ROOT / path.lstrip("/")).read_bytes()
    assert versioned.headers["Cache-Control"] == STATIC_YEAR
    assert versioned.raw.headers.getlist("Strict-Transport-Security") == [HSTS]
    assert versioned.headers["X-Content-Type-Options"] == "nosniff"
    unversioned = browser.get(cluster.doors["stopped"] + path)
    assert unversioned.status_code == 200 and unversioned.headers["Cache-Control"] == "public, max-age=3600"

    # Flask's own static route (development, no nginx) says the same of the same names.
    assert browser.get(f"{cluster.a.url}{path}?v={release}").headers["Cache-Control"] == STATIC_YEAR
    assert browser.get(f"{cluster.a.url}{path}").headers["Cache-Control"] == "no-cache"


@needs_nginx
def test_photos_and_scans_are_answered_by_the_app_never_by_nginx(cluster):
    browser = Browser(cluster)
    photo = re.search(r'src="(/media/[a-z0-9-]+-s\.jpg)"', browser.open("site", "/").text).group(1)
    served = browser.get(cluster.doors["site"] + photo)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert re.fullmatch(r"[0-9a-f]{32}", served.headers["X-Request-ID"])  # the app's answer
    assert browser.get(cluster.doors["stopped"] + photo).status_code == 502

    scan = browser.get(cluster.doors["site"] + "/dokumen/scan/1", allow_redirects=False)
    assert scan.status_code != 200 and "X-Request-ID" in scan.headers  # the app's access checks
    assert browser.get(cluster.doors["stopped"] + "/dokumen/scan/1").status_code == 502


@needs_nginx
def test_nginx_keeps_metrics_oversized_and_slow_requests_from_the_app(cluster):
    browser = Browser(cluster)
    # /metrics: the app answers a scraper on its own machine; nginx never passes it on.
    assert browser.get(cluster.a.url + "/metrics").status_code == 200
    refused = browser.get(cluster.doors["site"] + "/metrics")
    assert refused.status_code == 404 and "X-Request-ID" not in refused.headers

    # More than the app's 64 MB: nginx answers 413 as soon as it reads the headers.
    with started_post(cluster, "site", 64 * 1024 * 1024 + 1) as connection:
        answer = connection.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413") and "x-request-id" not in answer.lower()

    # Three phones sending their forms slowly to server A, whose one worker has two threads: nginx
    # holds the bodies, so the server still answers at once.
    slow = [started_post(cluster, "a", 100_000, b"email=") for _ in range(3)]
    try:
        started = time.monotonic()
        assert browser.get(cluster.doors["a"] + "/healthz", timeout=10).status_code == 200
        assert time.monotonic() - started < 5
    finally:
        for connection in slow:
            connection.close()


@needs_nginx
def test_the_app_counts_the_address_nginx_saw_not_one_a_client_wrote(cluster):
    # Five password-reset requests a minute per address. Each request claims another address in
    # X-Forwarded-For; the app believes only nginx's, the one the connection came from.
    guesser = Browser(cluster, address=loopback_address())
    for attempt in range(6):
        guesser.submit(guesser.open("site", "/lupa-sandi"), "/lupa-sandi", status=303 if attempt < 5 else 429,
                       headers={"X-Forwarded-For": f"203.0.113.{attempt + 1}"}, email=new_account(cluster))
    neighbour = Browser(cluster, address=loopback_address())  # another address: its own count
    neighbour.submit(neighbour.open("site", "/lupa-sandi"), "/lupa-sandi", email=new_account(cluster))


@needs_nginx
def test_both_servers_answer_one_request_id_in_both_logs_no_url_secret_in_nginx_log(cluster):
    browser = Browser(cluster)
    page = browser.open("site", "/produk", headers={"X-Request-ID": "ditulis-oleh-klien"})
    request_id = page.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's, not the client's
    assert '"GET /produk HTTP/1.1" 200' in log_line(f"id={request_id}", cluster.nginxes["site"].access_log)
    assert "/produk" in log_line(request_id, cluster.a.log, cluster.b.log)
    # The site's upstream is both servers: requests in a row are shared between them.
    ids = [browser.open("site", "/healthz").headers["X-Request-ID"] for _ in range(4)]
    for request_id in ids:
        log_line(request_id, cluster.a.log, cluster.b.log)
    for server in (cluster.a, cluster.b):
        assert any(request_id in server.log.read_text() for request_id in ids), f"{server.url} got none"

    secret = "RAHASIA" + secrets.token_hex(8)
    paths = [prefix + secret for prefix in SECRET_PATHS]
    paths += [SECRET_PATHS[0].upper() + secret, quote(SECRET_PATHS[0], safe="/").replace("-", "%2D") + secret,
              f"/pesanan/NTT-000000-AAAAAA?kunci={secret}"]
    for path in paths:
        browser.get(cluster.doors["site"] + path, allow_redirects=False)
    access_log = cluster.nginxes["site"].access_log
    log_line("/pesanan/NTT-000000-AAAAAA ", access_log)
    assert secret not in access_log.read_text()
    assert access_log.read_text().count("[redacted]") >= len(SECRET_PATHS) + 2


# --- systemd -----------------------------------------------------------------------------------------

def test_the_units_point_at_the_documented_layout():
    assert SERVICES == ["storefront-backup.service", "storefront-outbox.service",
                        "storefront-reminders.service", "storefront-web.service"]
    drill = DRILL.read_text()
    for name in SERVICES:
        service = read_unit(name)["Service"]
        assert service["User"] == ["storefront"] and service["EnvironmentFile"] == [ENV_FILE], name
        assert service["WorkingDirectory"] == [INSTALL_DIR], name
        program = unit_command(name)[0]
        assert program.startswith(f"{ROOT}/.venv/bin/") and shutil.which(program), name
        assert service["NoNewPrivileges"] == ["yes"] and service["ProtectSystem"] == ["strict"], name
        assert service["PrivateTmp"] == ["yes"], name
        for path in service.get("ReadWritePaths", []):
            assert path in drill, f"{name} writes {path}, which deploy/README.md never makes"
        assert name in drill, f"deploy/README.md does not install {name}"
    web = read_unit("storefront-web.service")["Service"]
    assert web["Type"] == ["notify"] and web["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert web["Restart"] == ["on-failure"] and shutil.which("/bin/kill")
    assert read_unit("storefront-reminders.service")["Service"]["Type"] == ["oneshot"]
    assert read_unit("storefront-backup.service")["Service"]["Type"] == ["oneshot"]

    assert TIMERS == ["storefront-backup.timer", "storefront-reminders.timer"]
    for name in TIMERS:
        timer = read_unit(name)["Timer"]
        assert timer["Unit"] == [name.replace(".timer", ".service")] and timer["Persistent"] == ["true"], name
        assert timer["OnCalendar"][0].endswith(" Asia/Makassar"), name
        assert name in drill
    assert read_unit("storefront-reminders.timer")["Timer"]["OnCalendar"] == ["*-*-* 06:15:00 Asia/Makassar"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    """``systemd-analyze verify`` (deploy/README.md runs it on the installed units): every key
    known, every command executable, every calendar valid; here with the checkout in place."""
    env_file = tmp_path / "storefront.env"
    env_file.write_text(ENV_EXAMPLE.read_text())
    for name in SERVICES + TIMERS:
        text = (UNITS / name).read_text().replace(INSTALL_DIR, str(ROOT)).replace(ENV_FILE, str(env_file))
        (tmp_path / name).write_text(text.replace(BACKUPS, str(tmp_path / "backups")))
    answer = subprocess.run(["systemd-analyze", "verify", "--man=no", *SERVICES, *TIMERS], cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0 and not answer.stderr.strip(), answer.stderr


def test_the_units_commands_run_with_the_example_settings(cluster, tmp_path):
    # The web unit: both servers run its ExecStart with the example settings alone, and said
    # READY=1 on their notify socket (tests/cluster.py); a reload brings new workers.
    assert set(cluster.env) <= documented_keys()
    log = cluster.a.log
    before = log.read_text().count("Booting worker")
    subprocess.run(unit_command("storefront-web.service", "ExecReload", MAINPID=cluster.a.pid), check=True)
    log_line("Handling signal: hup", log)
    deadline = time.monotonic() + 15
    while log.read_text().count("Booting worker") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text().count("Booting worker") > before
    assert Browser(cluster).get(cluster.a.url + "/healthz", timeout=10).json()["status"] == "ok"

    # The oneshots, side by side, exit 0.
    backups = tmp_path / "backups"
    oneshots = {name: unit_process(name, cluster.env, tmp_path / f"{name}.log", places={BACKUPS: backups})
                for name in ("storefront-reminders.service", "storefront-backup.service")}

    # The outbox worker delivers a sign-up's mail (tests/cluster.py stops it with SIGTERM at the end).
    email = new_account(cluster)
    browser = Browser(cluster)
    browser.submit(browser.open("b", "/daftar"), "/daftar", name="Yohana Bria", email=email,
                   password="tenun-ikat-sikka-merah", confirm="tenun-ikat-sikka-merah")
    assert "/daftar/konfirmasi/" in mail_to(cluster, email)["body"]

    for name, process in oneshots.items():
        assert process.wait(120) == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
    assert "written to" in (tmp_path / "storefront-backup.service.log").read_text()
    assert list(backups.iterdir())


def settings_refused(env, folder):
    """Why the app's settings check refuses to start in production with ``env`` alone, or None."""
    from unittest import mock

    from flask import Flask

    from storefront.config import ConfigError, load_config

    with mock.patch.dict(os.environ, env, clear=True):
        try:
            load_config(Flask("probe", instance_path=str(folder)))
        except ConfigError as error:
            return str(error)
    return None


def test_the_example_settings_hold_what_production_refuses_to_start_without(tmp_path):
    example = read_env_file()
    text = ENV_EXAMPLE.read_text()
    # Blank, with the command that makes one beside it: no shop shares the example's key.
    assert example["SECRET_KEY"] == "" and "secrets.token_hex(32)" in text.split("SECRET_KEY=")[0]
    for name, value in example.items():
        if re.search(r"SECRET|PASSWORD|_KEY$|TOKEN", name):
            assert value == "", f"{name} holds a value in the example"
    # Its one blank filled in, the example passes every refusal of the settings check; leaving
    # out one of its lines is refused (what the services behind the settings answer, the
    # cluster's start from this file shows).
    filled = {**example, "SECRET_KEY": secrets.token_hex(32)}
    assert settings_refused(filled, tmp_path) is None
    needed = {name for name in filled
              if settings_refused({key: value for key, value in filled.items() if key != name}, tmp_path)}
    # The flask commands of the units are production only when told; gunicorn says it itself.
    assert example["STOREFRONT_ENV"] == "production" and {"SECRET_KEY", "PUBLIC_URL", "REDIS_URL"} <= needed
    assert example["TRUSTED_PROXY_HOPS"] == "1"  # nginx, as deploy/nginx/storefront.conf sets it up

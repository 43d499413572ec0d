"""The shop deployed as ``deploy/`` describes it, on this machine, for the multi-server tests.

Two web servers, each started by the web unit's own ``ExecStart`` (deploy/systemd/) with nothing in
its environment but ``deploy/storefront.env.example`` with its blanks filled in, as systemd would
start it; beside them the outbox worker from its unit. They share PostgreSQL (a private database
given the demo catalogue by the README's commands), Redis (a database of these tests; each cluster
removes its own keys after) and an S3 bucket (moto), and mail goes to a real SMTP mailbox. Where
nginx is installed, it runs ``deploy/nginx/storefront.conf`` in front of them, through four "doors":

- ``site``: the site as written, both servers upstream;
- ``a`` and ``b``: the same site with one server upstream, so that a test chooses the server a
  request reaches and still goes through nginx as a browser does;
- ``stopped``: the same site with no app server answering: what nginx serves on its own.

Without nginx, doors ``a`` and ``b`` are the servers themselves (plain HTTP) and the nginx tests
skip. One cluster serves every test of a process (``deployed_cluster``).
"""
import ipaddress
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from storefront.accounts.throttle import account_key
from storefront.config import normalise_database_url

from .conftest import PG_SKIP_REASON, PG_URL, _private_postgres_database
from .mail_server import Mailbox, free_port
from .s3_server import CREDENTIALS, new_bucket

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx" / "storefront.conf"
UNITS = DEPLOY / "systemd"
ENV_EXAMPLE = DEPLOY / "storefront.env.example"
#: The layout deploy/README.md describes; the tests put the checkout in its place.
INSTALL_DIR = "/srv/storefront"
ENV_FILE = "/etc/storefront/storefront.env"
#: The site's placeholders (the header of deploy/nginx/storefront.conf).
SERVER_NAME = "produkdesa.example.id"
CERT_DIR = f"/etc/letsencrypt/live/{SERVER_NAME}/"
LOG_DIR = "/var/log/nginx/"
ACME_ROOT = "/var/www/letsencrypt"
APP_SERVER = re.compile(r"^(?P<indent>[ \t]*)server 10\.0\.0\.\d+:8000(?P<params>[^;\n]*);\n", re.M)
#: The environment systemd gives a service before its EnvironmentFile.
SYSTEMD_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
#: Redis database of these tests; every cluster deletes the keys it made (``_forget_keys``).
REDIS_DB = 13
NGINX = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")
PHONE = "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile"
#: What the demo loader gives the office and the villages (storefront/onboarding/demo).
DEMO_PASSWORD = "desa-demo-ntt"
VERIFIER = "verifikator@demo.produkdesa-ntt.example"
RATOGESA = "ratogesa@demo.produkdesa-ntt.example"


def nginx_missing():
    """Why the nginx tests cannot run here, or None."""
    if not os.access(NGINX, os.X_OK):
        return f"nginx is not installed at {NGINX} (apt-get install nginx; .ci/run does it)"
    return None


# --- Reading deploy/ -----------------------------------------------------------------------------

def read_env_file(path=ENV_EXAMPLE):
    """The KEY=value lines of an EnvironmentFile as systemd reads them (a whole value may be quoted)."""
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def documented_keys(path=ENV_EXAMPLE):
    """Every variable the file names, set or shown commented out (``#KEY=...``)."""
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", Path(path).read_text(), re.M))


def read_unit(name):
    """A unit file of deploy/systemd as ``{section: {key: [value, ...]}}`` (keys may repeat)."""
    sections, current = {}, None
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def installed(path):
    """A path of the documented layout, in this checkout."""
    return Path(str(path).replace(INSTALL_DIR, str(ROOT), 1))


def unit_command(name, key="ExecStart", places=None, **variables):
    """A unit's command as argv, in this checkout (``$MAINPID`` and the like from ``variables``;
    ``places``: other paths for the ones it names, e.g. its backup folder)."""
    (command,) = read_unit(name)["Service"][key]
    for variable, value in variables.items():
        command = command.replace(f"${variable}", str(value))
    words = [str((places or {}).get(word, word)) for word in shlex.split(command)]
    return [str(installed(word)) if word.startswith(INSTALL_DIR) else word for word in words]


def unit_process(name, env, log_path, places=None):
    """Start a unit's ExecStart as systemd would: its working directory, its runtime directory
    (next to ``log_path``), an environment of systemd's, the unit's and the env file's alone."""
    service = read_unit(name)["Service"]
    (workdir,) = service["WorkingDirectory"]
    places = dict(places or {})
    for folder in service.get("RuntimeDirectory", []):
        places[f"/run/{folder}"] = log_path.parent / f"run-{log_path.stem}"
        places[f"/run/{folder}"].mkdir(exist_ok=True)
    unit_env = dict(shlex.split(setting)[0].split("=", 1) for setting in service.get("Environment", []))
    unit_env = {key: str(places.get(value, value)) for key, value in unit_env.items()}
    with open(log_path, "ab") as log:
        return subprocess.Popen(unit_command(name, places=places), cwd=installed(workdir),
                                env={**SYSTEMD_ENV, **unit_env, **env}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def render_site(*, upstreams, http_port, https_port, certificate, key, logs, acme_root):
    """deploy/nginx/storefront.conf with this machine's values for its placeholders, listening on
    loopback ports (no IPv6 in every container)."""
    text = SITE.read_text()
    replacements = {
        CERT_DIR + "fullchain.pem": str(certificate), CERT_DIR + "privkey.pem": str(key),
        INSTALL_DIR + "/": f"{ROOT}/", LOG_DIR: f"{logs}/", ACME_ROOT: str(acme_root),
        f"server_name {SERVER_NAME};": "server_name 127.0.0.1;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        # A browser's Host names a port other than 443, and nginx's $host drops it; the app's CSRF
        # check compares the Referer with the Host, port included.
        "proxy_set_header Host $host;": f"proxy_set_header Host $host:{https_port};",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/storefront.conf no longer holds {old!r}"
        text = text.replace(old, new)
    text = re.sub(r"^[ \t]*listen \[::\]:.*\n", "", text, flags=re.M)
    servers = list(APP_SERVER.finditer(text))
    assert len(servers) >= 2, "the upstream should name two app servers"
    first = servers[0]
    block = "".join(f"{first['indent']}server {address}{first['params']};\n" for address in upstreams)
    text = text[:first.start()] + block + text[servers[-1].end():]
    settings = re.sub(r"#.*", "", text)
    assert SERVER_NAME not in settings and INSTALL_DIR not in settings and "10.0.0." not in settings
    return text


def self_signed_certificate(folder):
    """A throwaway certificate for 127.0.0.1 (``cryptography`` comes with moto, which the cluster
    needs anyway); returns the certificate's and the key's paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


# --- Processes -------------------------------------------------------------------------------------

def _wait_for_port(port, process, log_path, what, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} stopped: " + Path(log_path).read_text()[-3000:])
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    pytest.fail(f"{what} did not listen on {port}: " + Path(log_path).read_text()[-3000:])


def stop(process, seconds=20):
    """SIGTERM, as systemd stops a unit; its exit code (SIGKILL after ``seconds``: None)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


class NotifySocket:
    """The socket systemd gives a ``Type=notify`` service (``$NOTIFY_SOCKET``): gunicorn says
    ``READY=1`` on it once it listens with the app loaded."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def wait_ready(self, process, log_path, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sock.settimeout(0.1)
            try:
                if b"READY=1" in self.sock.recv(4096).split(b"\n"):
                    return
            except socket.timeout:
                pass
            if process.poll() is not None:
                pytest.fail("gunicorn stopped: " + Path(log_path).read_text()[-3000:])
        pytest.fail("gunicorn never said READY=1: " + Path(log_path).read_text()[-3000:])

    def close(self):
        self.sock.close()


def start_web_server(env, port, folder, name):
    """The web unit's gunicorn on ``port``, with its ``url``, ``log`` and ``notify`` socket."""
    log_path = folder / f"gunicorn-{name}.log"
    notify = NotifySocket(folder / f"notify-{name}.sock")
    server = unit_process("storefront-web.service", {**env, "BIND": f"127.0.0.1:{port}",
                                                     "NOTIFY_SOCKET": notify.path}, log_path)
    server.url, server.log, server.notify = f"http://127.0.0.1:{port}", log_path, notify
    return server


def start_nginx(folder, site):
    """nginx in the foreground running ``site`` (a rendered site file), with a prefix of its own."""
    folder.mkdir()
    (folder / "site.conf").write_text(site)
    # The types every distribution's nginx.conf includes (the site file relies on them).
    types = (f"include {MIME_TYPES};" if MIME_TYPES.exists()
             else "types { text/html html; text/css css; image/svg+xml svg; image/png png; }")
    # Workers run as whoever starts nginx (as root, nginx would otherwise switch them to nobody).
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 128; }\n"
        f"http {{\n    {types}\n    default_type application/octet-stream;\n"
        f"    access_log {folder / 'other.log'};\n{temp}\n    include {folder / 'site.conf'};\n}}\n")
    command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"]
    with open(folder / "stderr.log", "wb") as err:
        process = subprocess.Popen(command, stdout=err, stderr=subprocess.STDOUT)
    process.folder = folder
    return process


def stop_all(processes):
    """SIGTERM to every process at once (each finishes what it has in hand), then wait for each."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        stop(process)


# --- Browsers --------------------------------------------------------------------------------------

class _FromAddress(HTTPAdapter):
    """Connections from a loopback address of the browser's own (all of 127/8 is this machine)."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def unused_ports(count):
    """Ports nothing listens on, below the range the kernel gives outgoing connections (many are
    made while the servers start: one could take a port chosen from that range before they bind)."""
    ports = set()
    while len(ports) < count:
        port = 20000 + secrets.randbelow(12000)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                ports.add(port)
    return list(ports)


def loopback_address():
    """A random address of 127/8 other than 127.0.0.1: a client the app has never counted."""
    return "127." + ".".join(str(secrets.randbelow(250) + 2) for _ in range(3))


class Form:
    """A form of a page: where it posts, what a browser would send, its submit buttons."""

    def __init__(self, attrs):
        self.action = attrs.get("action") or ""
        self.method = (attrs.get("method") or "get").lower()
        self.fields, self.buttons = {}, []

    def add(self, name, value):
        if name in self.fields:
            old = self.fields[name]
            self.fields[name] = (old if isinstance(old, list) else [old]) + [value]
        else:
            self.fields[name] = value


class _Forms(HTMLParser):
    """Each form of a page with what a browser would send unchanged: inputs, checked boxes,
    selected options (else the first), textareas; submit buttons apart."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.form, self.select, self.textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "form":
            self.form = Form(attrs)
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "image"):
                self.form.buttons.append((name, attrs.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if name and "checked" in attrs:
                    self.form.add(name, attrs.get("value", "on"))
            elif name and kind not in ("file", "button", "reset"):
                self.form.add(name, attrs.get("value", ""))
        elif tag == "button" and (attrs.get("type") or "submit").lower() == "submit":
            self.form.buttons.append((name, attrs.get("value", "")))
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select:
            if "selected" in attrs or self.select not in self.form.fields:
                self.form.fields[self.select] = attrs.get("value", "")
        elif tag == "textarea":
            self.textarea = name
            self.form.fields[name] = ""

    def handle_data(self, data):
        if self.form is not None and self.textarea:
            self.form.fields[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            # A browser drops the newline that follows <textarea>.
            text = self.form.fields[self.textarea]
            self.form.fields[self.textarea] = text[1:] if text.startswith("\n") else text
            self.textarea = None


def forms(html):
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Browser(requests.Session):
    """A phone's browser as the shop sees it: its own loopback address, cookies (Secure ones too:
    browsers treat loopback as secure), and on every form it sends a Referer and
    ``Sec-Fetch-Site: same-origin``, as a browser does for the shop's own pages."""

    def __init__(self, cluster, address=None):
        super().__init__()
        self.cluster = cluster
        self.address = address or cluster.address
        cluster.addresses.add(self.address)
        adapter = _FromAddress(self.address)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.verify = str(cluster.certificate) if cluster.certificate else True
        self.trust_env = False  # no proxy or CA bundle of this machine's environment
        self.headers.update({"User-Agent": PHONE, "Accept-Language": "id-ID,id;q=0.9,en;q=0.5"})

    def prepare_request(self, request):
        if not self.cluster.certificate:
            # Browsers send Secure cookies to http://127.0.0.1 (a secure context); cookiejar does not.
            for cookie in self.cookies:
                cookie.secure = False
        return super().prepare_request(request)

    def open(self, door, path, status=200, **kwargs):
        """GET ``path`` through ``door`` (a cluster door's name), expecting ``status``."""
        response = self.get(self.cluster.doors[door] + path, timeout=30, **kwargs)
        assert response.status_code == status, (door, path, response.status_code, response.text[-2000:])
        return response

    def submit(self, page, action="", button=None, files=None, status=303, headers=None, **typed):
        """Send the form of ``page`` whose action ends with ``action``, as its button ``button``
        (a (name, value) pair; else the form's first), with ``typed`` over its fields, to the door
        the page came from; expects ``status`` and does not follow a redirect."""
        found = [(form, urljoin(page.url, form.action or page.url)) for form in forms(page.text)
                 if form.method == "post" and (button is None or button in form.buttons)]
        found = [(form, target) for form, target in found if urlsplit(target).path.endswith(action)]
        assert found, f"no form posting to ...{action} on {page.url}"
        form, target = found[0]
        data = dict(form.fields)
        chosen = button or (form.buttons[0] if form.buttons else (None, ""))
        if chosen[0]:
            data[chosen[0]] = chosen[1]
        data.update(typed)
        headers = {"Referer": page.url, "Sec-Fetch-Site": "same-origin", **(headers or {})}
        response = self.post(target, data=data, files=files, headers=headers, allow_redirects=False,
                             timeout=60)
        assert response.status_code == status, (target, response.status_code, response.text[-3000:])
        return response

    def follow(self, response):
        """The page a redirect leads to, through the same door."""
        return self.get(urljoin(response.url, response.headers["Location"]), timeout=30)

    def sign_in(self, door, email, password=DEMO_PASSWORD):
        return self.follow(self.submit(self.open(door, "/masuk"), "/masuk", email=email, password=password))


# --- The cluster -----------------------------------------------------------------------------------

def filled_env(example, **site):
    """The example env file with a site's values: each must be a variable the file documents (a
    variable only the tests knew of would be one the file misses)."""
    documented = documented_keys()
    unknown = sorted(set(site) - documented)
    assert not unknown, f"deploy/storefront.env.example does not mention {unknown}"
    return {**example, **{key: str(value) for key, value in site.items()}}


def _forget_keys(redis_url, tokens):
    """Delete the Redis keys this cluster made: every key naming one of its ``tokens`` (its page
    cache's prefix, its browsers' addresses, its accounts' hashes)."""
    import redis

    server = redis.Redis.from_url(redis_url)
    try:
        for token in tokens:
            for key in server.scan_iter(match=f"*{token}*", count=1000):
                server.delete(key)
    finally:
        server.close()


def _cache_prefix(database_url):
    """The page cache's key prefix of a shop on ``database_url`` (storefront/catalog/caching.py)."""
    from sqlalchemy import make_url

    from storefront.catalog.caching import _digest

    return f"produkdesa:{_digest(make_url(database_url).render_as_string(hide_password=True))[:8]}:"


def _flask_process(env, *command, folder):
    """A documented command (``.venv/bin/flask --app wsgi:app ...``) with the env file's environment,
    started; ``finish()`` waits for it and gives its output."""
    log_path = folder / f"flask-{'-'.join(command)}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi:app", *command],
                                   cwd=ROOT, env={**SYSTEMD_ENV, **env}, stdout=log, stderr=subprocess.STDOUT)

    def finish():
        code = process.wait(180)
        assert code == 0, f"flask {' '.join(command)} failed:\n{log_path.read_text()[-3000:]}"
        return log_path.read_text()

    process.finish = finish
    return process


def _flask(env, *command, folder):
    return _flask_process(env, *command, folder=folder).finish()


def _doors(cluster, stack, ports):
    """nginx running the site four times (the module's docstring), each on ports of its own."""
    cluster.certificate, key = self_signed_certificate(cluster.folder)
    cluster.acme_root = cluster.folder / "acme"
    (cluster.acme_root / ".well-known" / "acme-challenge").mkdir(parents=True)
    upstreams = {"site": [cluster.a, cluster.b], "a": [cluster.a], "b": [cluster.b], "stopped": []}
    cluster.nginxes = {}
    for door, servers in upstreams.items():
        addresses = [server.url.split("//")[1] for server in servers] or [f"127.0.0.1:{ports['nobody']}"]
        logs = cluster.folder / f"nginx-{door}"
        logs.mkdir()
        site = render_site(upstreams=addresses, http_port=ports[f"{door}-http"], https_port=ports[door],
                           certificate=cluster.certificate, key=key, logs=logs, acme_root=cluster.acme_root)
        process = cluster.nginxes[door] = start_nginx(cluster.folder / f"nginx-{door}-prefix", site)
        process.access_log = logs / "storefront.access.log"
        stack.callback(stop, process, 5)
        cluster.doors[door] = f"https://127.0.0.1:{ports[door]}"
        cluster.doors[f"{door}-http"] = f"http://127.0.0.1:{ports[door + '-http']}"
    for door, process in cluster.nginxes.items():
        _wait_for_port(ports[door], process, process.folder / "stderr.log", f"nginx ({door})")


@contextmanager
def running_cluster(folder, s3_server):
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        pytest.skip("the units run .venv/bin/gunicorn and .venv/bin/flask; make install builds .venv")
    from aiosmtpd.controller import Controller

    with ExitStack() as stack:
        databases = _private_postgres_database(normalise_database_url(PG_URL))
        database_url = next(databases)
        stack.callback(lambda: next(databases, None))
        mailbox = Mailbox()
        smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
        smtp.start()
        stack.callback(smtp.stop)

        missing = nginx_missing()
        names = ("server-a", "server-b", "a", "b", "site", "stopped", "a-http", "b-http", "site-http",
                 "stopped-http", "nobody")
        ports = dict(zip(names, unused_ports(len(names))))
        public = f"http://127.0.0.1:{ports['server-a']}" if missing else f"https://127.0.0.1:{ports['site']}"
        redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
        env = filled_env(
            read_env_file(), SECRET_KEY=secrets.token_hex(32), DATABASE_URL=database_url, PUBLIC_URL=public,
            REDIS_URL=redis_url, TRUSTED_PROXY_HOPS=0 if missing else 1, WEB_CONCURRENCY=1,
            S3_BUCKET=new_bucket(s3_server), S3_ENDPOINT_URL=s3_server.url,
            S3_REGION=CREDENTIALS["AWS_DEFAULT_REGION"], AWS_ACCESS_KEY_ID=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            AWS_SECRET_ACCESS_KEY=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_STARTTLS=0)
        cluster = SimpleNamespace(folder=folder, env=env, mailbox=mailbox, nginx_missing=missing, doors={},
                                  certificate=None, address=loopback_address(), addresses=set(),
                                  accounts=set())
        stack.callback(lambda: _forget_keys(redis_url, [_cache_prefix(database_url), *cluster.addresses,
                                                        *map(account_key, cluster.accounts)]))

        _flask(env, "db", "upgrade", folder=folder)
        # The catalogue loads while the servers start: they need the schema, not the data.
        demo = _flask_process(env, "catalog", "demo", folder=folder)
        cluster.a = start_web_server(env, ports["server-a"], folder, "a")
        cluster.b = start_web_server(env, ports["server-b"], folder, "b")
        cluster.outbox = unit_process("storefront-outbox.service", env, folder / "outbox.log")
        stack.callback(stop_all, [cluster.a, cluster.b, cluster.outbox])
        stack.callback(cluster.a.notify.close)
        stack.callback(cluster.b.notify.close)
        if missing:
            cluster.doors.update(a=cluster.a.url, b=cluster.b.url)
        else:
            _doors(cluster, stack, ports)
        for server in (cluster.a, cluster.b):
            server.notify.wait_ready(server, server.log)
        demo.finish()
        yield cluster
        # systemctl stop: SIGTERM, and the worker ends once the message in hand is done.
        assert stop(cluster.outbox, 30) == 0, "the outbox worker did not stop cleanly on SIGTERM"
        assert (folder / "outbox.log").read_text().splitlines()[-1] == "outbox worker stopped"
        for server in (cluster.a, cluster.b):
            assert "Traceback" not in server.log.read_text(), f"{server.log} holds an error"


_shared = None


def deployed_cluster(tmp_path_factory, s3_server):
    """The body of each test module's session fixture ``cluster``: the first starts the cluster,
    which lasts until the session ends, and every other gets the same one."""
    global _shared
    if _shared is not None:
        yield _shared
        return
    with running_cluster(tmp_path_factory.mktemp("cluster"), s3_server) as cluster:
        _shared = cluster
        try:
            yield cluster
        finally:
            _shared = None


def mail_to(cluster, address, seconds=20):
    """The newest mail to ``address`` (the outbox worker delivers within its poll of 2 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outbox_log = (cluster.folder / "outbox.log").read_text()
        found = cluster.mailbox.to(address)
        if found:
            return found[-1]
        assert cluster.outbox.poll() is None, "the outbox worker stopped: " + outbox_log[-2000:]
        time.sleep(0.1)
    pytest.fail(f"no mail to {address} within {seconds} s: " + outbox_log[-2000:])


def new_account(cluster):
    """A fresh e-mail address for a test's own account (its rate-limit keys are removed after)."""
    email = f"pembeli-{secrets.token_hex(4)}@contoh.id"
    cluster.accounts.add(email)
    return email

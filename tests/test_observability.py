"""What an operator sees: request ids, JSON log lines without secrets, Prometheus metrics at
``/metrics`` (who may read them, requests by route, the outbox, orders and payment failures read
from the database), ``/healthz`` with the outbox's backlog, the alert rules of
docs/observability.md, and one real gunicorn with two workers whose counts add up."""
import json
import logging
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import yaml
from flask import current_app, g, request
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from storefront import create_app
from storefront.access_log import redact
from storefront.clock import now_utc
from storefront.config import ConfigError
from storefront.extensions import db
from storefront.mailing import Mail
from storefront.outbox.models import OutboxMessage
from storefront.outbox.queue import enqueue_mail, enqueue_webhook, new_event_id
from storefront.unit_of_work import unit_of_work

from .conftest import PRODUCTION_SETTINGS, build_app
from .fake_midtrans import SERVER_KEY, FakeMidtrans, serve
from .gunicorn_server import gunicorn
from .mail_server import free_port
from .test_midtrans import paying_order, result
from .test_stripe import SECRET_KEY, WEBHOOK_SECRET, another_checkout, bank_transfer_order, completed, deliver

ROOT = Path(__file__).resolve().parent.parent
HEX32 = re.compile(r"[0-9a-f]{32}")
PARTNER_KEY = "mitra_0123456789_S3CRETpartnerKeyS3CRETpartnerKey0123456"


# --- reading /metrics ---------------------------------------------------------------------------

def scrape(client, **kwargs):
    """``{(sample name, sorted labels): value}`` of a ``/metrics`` answer, read by Prometheus'
    own parser."""
    answer = client.get("/metrics", **kwargs)
    assert answer.status_code == 200, answer.status_code
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.get_data(as_text=True))
            for sample in family.samples}


def value(samples, name, **labels):
    """The sample ``name`` with ``labels``; it must be there (the shop's figures are always given)."""
    key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
    assert key in samples, f"no {name} {labels} in /metrics"
    return samples[key]


def requests_counted(samples, route, status, method="GET"):
    """Requests counted for ``route`` and ``status``: none until the first one."""
    key = ("flask_http_request_duration_seconds_count",
           tuple(sorted({"method": method, "route": route, "status": str(status)}.items())))
    return samples.get(key, 0.0)


# --- request ids ----------------------------------------------------------------------------------

def test_a_request_id_is_kept_when_well_formed_and_made_new_otherwise(client):
    nginx_id = secrets.token_hex(16)
    assert client.get("/healthz", headers={"X-Request-ID": nginx_id}).headers["X-Request-ID"] == nginx_id
    assert client.get("/healthz", headers={"X-Request-ID": "trace.01_ab-CD"}).headers["X-Request-ID"] == \
        "trace.01_ab-CD"

    made = [client.get(path).headers["X-Request-ID"] for path in ("/healthz", "/healthz", "/tidak-ada")]
    assert all(HEX32.fullmatch(request_id) for request_id in made) and len(set(made)) == 3

    for sent in ("short", "x" * 65, "two words here", "<script>alert(1)</script>", "id-ümlaut-1234",
                 "a/b/c/d/e/f"):
        kept = client.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
        assert HEX32.fullmatch(kept), sent
    # /metrics is answered before the app: its answer carries one too.
    assert HEX32.fullmatch(client.get("/metrics").headers["X-Request-ID"])


# --- log lines ------------------------------------------------------------------------------------

@pytest.fixture
def json_app(tmp_path):
    """A production app logging JSON, with a page that logs carelessly and one that fails (the
    database is not needed for either). The root logger is put back as it was afterwards."""
    root, shop = logging.getLogger(), logging.getLogger("storefront")
    handlers, level = list(root.handlers), shop.level
    app = create_app({"TESTING": True, **PRODUCTION_SETTINGS, "LOG_FORMAT": "json",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'none.db'}",
                      "MEDIA_ROOT": str(tmp_path / "media"), "SCAN_ROOT": str(tmp_path / "scans")})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answered and logged as a real server does

    def careless(rest):
        current_app.logger.warning("looked at %s with %s", request.full_path,
                                   request.headers.get("Authorization"))
        logging.getLogger("storefront.partners").info("key %s used", PARTNER_KEY)
        return g.request_id

    def boom():
        raise RuntimeError(f"failed on {request.full_path}")

    app.add_url_rule("/_log/<path:rest>", "careless", careless)
    app.add_url_rule("/_boom", "boom", boom)
    try:
        yield app
    finally:
        root.handlers[:] = handlers
        shop.setLevel(level)
        with app.app_context():
            db.engine.dispose()


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_log_lines_carry_the_request_id_and_no_secret(json_app, capsys):
    client = json_app.test_client()
    capsys.readouterr()
    answer = client.get("/_log/reset-sandi/S3CRETreset?kunci=S3CRETkunci&page=2",
                        base_url="https://shop.test",
                        headers={"X-Request-ID": "req-json-0001", "Cookie": "session=S3CRETcookie",
                                 "Authorization": f"Bearer {PARTNER_KEY}"})
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "req-json-0001"  # g.request_id
    failed = client.get("/_boom?token=S3CRETboom", base_url="https://shop.test",
                        headers={"X-Request-ID": "req-json-0002"})
    assert failed.status_code == 500
    # The buyer sees the id on the error page, to quote it to the office (Indonesian first).
    assert "sebutkan kode ini: req-json-0002" in failed.get_data(as_text=True)
    output = capsys.readouterr().err

    assert "S3CRET" not in output, output
    lines = json_lines(output)
    fields = {"time", "level", "logger", "message", "request_id", "pid"}
    assert lines and all(fields <= set(line) for line in lines)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) for line in lines)
    [warning] = [line for line in lines if line["logger"] == "storefront" and line["level"] == "WARNING"
                 and line["message"].startswith("looked at")]
    assert warning["request_id"] == "req-json-0001"
    assert "/_log/reset-sandi/[redacted]?kunci=[redacted]&page=2" in warning["message"]
    assert "Bearer [redacted]" in warning["message"]
    [info] = [line for line in lines if line["logger"] == "storefront.partners"]
    assert info["level"] == "INFO" and info["request_id"] == "req-json-0001"
    assert info["message"] == "key mitra_0123456789_[redacted] used"  # the prefix names the key
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "req-json-0002"
    assert "Traceback" in error["exception"]
    assert "RuntimeError: failed on /_boom?token=[redacted]" in error["exception"]


def test_secrets_in_urls_are_redacted_however_they_are_written():
    assert redact("GET /reset%2Dsandi/S3CRET HTTP/1.1") == "GET /reset-sandi/[redacted] HTTP/1.1"
    assert redact("/pesanan/NTT-1?k%75nci=S3CRET&x=1") == "/pesanan/NTT-1?kunci=[redacted]&x=1"
    assert redact("GET /RESET-SANDI/S3CRET?KUNCI=S3CRET HTTP/1.1") == \
        "GET /RESET-SANDI/[redacted]?KUNCI=[redacted] HTTP/1.1"
    # Nothing secret: left as sent.
    assert redact("/produk/kopi%20bajawa?q=caf%C3%A9") == "/produk/kopi%20bajawa?q=caf%C3%A9"


def test_settings_that_cannot_work_are_refused_at_start(tmp_path):
    base = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'none.db'}"}
    for name, wrong in (("METRICS_TOKEN", "short"), ("LOG_FORMAT", "xml"), ("LOG_LEVEL", "LOUD"),
                        ("OUTBOX_ALERT_SECONDS", "soon"), ("OUTBOX_ALERT_SECONDS", "0")):
        with pytest.raises(ConfigError, match=name):
            create_app({**base, name: wrong})


# --- who may read /metrics ------------------------------------------------------------------------

def test_metrics_answer_this_machine_only_when_no_token_is_set(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.head("/metrics").status_code == 200
    refused = {
        "through nginx": client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}),
        "X-Real-IP": client.get("/metrics", headers={"X-Real-IP": "203.0.113.9"}),
        "Forwarded": client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}),
        "another machine": client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.5"}),
        "a post": client.post("/metrics"),
    }
    for what, answer in refused.items():
        assert answer.status_code == 404, what
        assert "flask_http_request" not in answer.get_data(as_text=True), what


def test_with_a_token_metrics_answer_only_its_bearer(database_url, tmp_path):
    token = secrets.token_urlsafe(32)
    app = build_app(database_url, tmp_path, METRICS_TOKEN=token)
    client = app.test_client()
    try:
        assert client.get("/metrics").status_code == 404  # loopback is not enough any more
        wrong = "Bearer " + token[:-1] + ("x" if token[-1] != "x" else "y")
        assert client.get("/metrics", headers={"Authorization": wrong}).status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Basic " + token}).status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer " + token}).status_code == 200
        scrape(client, headers={"Authorization": "bearer " + token, "X-Forwarded-For": "203.0.113.9"})
    finally:
        with app.app_context():
            db.engine.dispose()


# --- requests, by route ---------------------------------------------------------------------------

def test_requests_are_counted_by_route_and_status_not_by_path(client):
    before = scrape(client)
    for slug in ("kopi-a", "kopi-b", "kopi-c"):
        assert client.get(f"/produk/{slug}").status_code == 404
    assert client.get("/healthz").status_code == 200
    assert client.get("/belum-ada-halaman-ini").status_code == 404
    assert client.open("/produk/kopi-a", method="BREW").status_code == 405  # answered, not counted
    after = scrape(client)

    def change(route, status):
        return requests_counted(after, route, status) - requests_counted(before, route, status)

    assert change("/produk/<slug>", 404) == 3 and change("/healthz", 200) == 1
    # The unknown address only: /metrics (asked before and after) never counts itself.
    assert change("unmatched", 404) == 1
    not_found = ("flask_http_request_total", (("method", "GET"), ("status", "404")))
    assert after[not_found] - before.get(not_found, 0) == 4
    labels = {dict(label_pairs).get("route") for _name, label_pairs in after}
    assert not any(route and ("kopi" in route or "metrics" in route) for route in labels)
    assert not any(dict(label_pairs).get("method") == "BREW" for _name, label_pairs in after)
    assert value(after, "flask_http_request_duration_seconds_bucket", method="GET", route="/healthz",
                 status=200, le="30.0") == requests_counted(after, "/healthz", 200)


# --- the outbox, in /metrics and /healthz ---------------------------------------------------------

def _queue(count, minutes_ago=0, status="pending", channel="email"):
    with unit_of_work():
        ids = []
        for n in range(count):
            if channel == "email":
                ids.append(enqueue_mail(f"desa{n}@example.org", Mail("Pesanan baru", "Isi"),
                                        kind="order.paid"))
            else:
                ids.append(enqueue_webhook("https://desa.example/hook", {"id": "x"}, kind="order.paid",
                                           event_id=new_event_id()))
    with unit_of_work():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.event_id.in_(ids)).values(
            status=status, created_at=now_utc() - timedelta(minutes=minutes_ago)))


def test_the_outbox_backlog_is_in_metrics_and_health(app, client):
    quiet = client.get("/healthz")
    assert quiet.status_code == 200 and quiet.get_json() == {
        "status": "ok", "database": "ok",
        "outbox": {"waiting": 0, "oldest_waiting_seconds": 0, "delayed": False}}
    _queue(2, minutes_ago=20)                 # a worker that stopped 20 minutes ago
    _queue(1, minutes_ago=1, channel="webhook")
    _queue(3, status="delivered", minutes_ago=60)
    _queue(1, status="failed", minutes_ago=60 * 25, channel="webhook")

    samples = scrape(client)
    assert value(samples, "storefront_database_up") == 1
    assert value(samples, "storefront_outbox_waiting_messages", channel="email") == 2
    assert value(samples, "storefront_outbox_waiting_messages", channel="webhook") == 1
    assert value(samples, "storefront_outbox_failed_messages", channel="webhook") == 1
    assert value(samples, "storefront_outbox_failed_messages", channel="email") == 0
    assert 1195 <= value(samples, "storefront_outbox_oldest_waiting_seconds") <= 1260

    late = client.get("/healthz")
    assert late.status_code == 200  # a stuck worker must not take the web servers out of the balancer
    body = late.get_json()
    assert (body["status"], body["database"], body["outbox"]["waiting"], body["outbox"]["delayed"]) == \
        ("degraded", "ok", 3, True)
    assert 1195 <= body["outbox"]["oldest_waiting_seconds"] <= 1260

    app.config["OUTBOX_ALERT_SECONDS"] = 3600
    patient = client.get("/healthz").get_json()
    assert patient["status"] == "ok"
    assert patient["outbox"]["delayed"] is False and patient["outbox"]["waiting"] == 3


# --- orders and payment failures, after real actions ------------------------------------------------

@pytest.fixture
def payments_on(app):
    """Stripe's webhook (events signed with the test secret; its API never called here) and Midtrans
    (a local server answering as Midtrans documents, tests/fake_midtrans.py)."""
    fake = FakeMidtrans()
    server, thread = serve(fake)
    app.config.update(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}",
                      MIDTRANS_SERVER_KEY=SERVER_KEY, MIDTRANS_API_BASE=fake.url,
                      MIDTRANS_SNAP_BASE=fake.url + "/snap/v1", MIDTRANS_TIMEOUT=5)
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(30)
        server.server_close()


def test_orders_placed_and_payment_failures_follow_what_happens(app, client, payments_on):
    before = scrape(client)
    order = bank_transfer_order(client)  # cart, checkout, "Place order"
    paid_elsewhere = completed(another_checkout(order["total_idr"] * 100, order["number"], "metadata"))
    assert deliver(client, paid_elsewhere).get_json()["result"].startswith("refused")
    _order_id, number = paying_order(payments_on)
    assert result(client, payments_on.pay(number, payment_type="gopay", status="deny")) == "cancelled"
    _order_id, number = paying_order(payments_on)
    assert result(client, payments_on.pay(number, payment_type="gopay", status="cancel")) == "cancelled"
    after = scrape(client)

    def change(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert change("storefront_orders_placed_total", payment_method="bank_transfer") == 1
    assert change("storefront_orders_placed_total", payment_method="midtrans") == 2
    assert change("storefront_orders_placed_total", payment_method="stripe") == 0
    assert change("storefront_payment_failures_total", provider="stripe", reason="refused") == 1
    # The deny, not the cancel (the shop's or the buyer's act).
    assert change("storefront_payment_failures_total", provider="midtrans", reason="failed") == 1
    assert change("storefront_payment_failures_total", provider="stripe", reason="failed") == 0
    assert change("storefront_payment_failures_total", provider="midtrans", reason="refused") == 0


# --- the alert rules of docs/observability.md --------------------------------------------------------

#: Prometheus' own series the rules may name besides the shop's.
PROMETHEUS_SERIES = {"up"}
METRIC_NAME = re.compile(r"\b((?:storefront|flask)_[a-z0-9_]+)\b")


def test_the_documented_alert_rules_parse_and_name_only_exported_metrics(client):
    doc = (ROOT / "docs/observability.md").read_text()
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", doc, re.S)]
    [rules_file] = [block for block in blocks if "groups" in block]
    rules = [rule for group in rules_file["groups"] for rule in group["rules"]]
    assert len(rules) >= 8
    client.get("/healthz")  # so that the request series exist
    exported = {name for name, _labels in scrape(client)}
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
        explained = doc.split("What each means and what to do:")[1]
        assert f"**{rule['alert']}**" in explained, f"{rule['alert']} is not explained"
        named = set(METRIC_NAME.findall(rule["expr"])) | ({"up"} & set(re.findall(r"\w+", rule["expr"])))
        assert named, rule["expr"]
        assert not named - exported - PROMETHEUS_SERIES, f"{rule['alert']} names what is not exported"
    # And every metric the shop exports is in the documentation's table.
    families = {re.sub(r"_(bucket|count|sum|total|created)$", "", name) for name in exported}
    assert not {f for f in families if f.startswith(("storefront_", "flask_"))
                and f"`{f}`" not in doc and f"`{f}_total`" not in doc}


# --- one real gunicorn, two workers ------------------------------------------------------------------

def test_gunicorn_workers_add_up_their_counts_and_log_json_lines(app, backend, database_url, tmp_path):
    if backend != "sqlite":
        pytest.skip("one real server is enough: the workers' shared counts do not depend on the database")
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left by an earlier run")
    env = {"DATABASE_URL": database_url, "MEDIA_ROOT": str(tmp_path / "media"),
           "SCAN_ROOT": str(tmp_path / "scans"), "SECRET_KEY": secrets.token_hex(32),
           "STOREFRONT_ENV": "production", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2",
           "PROMETHEUS_MULTIPROC_DIR": str(folder),
           # Each worker is replaced after 4 requests: the counts of ended workers must still add up.
           "GUNICORN_CMD_ARGS": "--max-requests 4 --max-requests-jitter 0"}
    log_path = tmp_path / "gunicorn.log"
    with gunicorn(env, free_port(), log_path) as server:
        assert not (folder / "counter_999999.db").exists()
        for n in range(10):
            assert requests.get(f"{server.url}/produk/tidak-ada-{n}", timeout=10).status_code == 404
        secret = requests.get(f"{server.url}/reset-sandi/S3CRETreset?kunci=S3CRETkunci", timeout=10,
                              headers={"X-Request-ID": "obs-gunicorn-0001", "Cookie": "session=S3CRETcookie",
                                       "Authorization": f"Bearer {PARTNER_KEY}"})
        assert secret.headers["X-Request-ID"] == "obs-gunicorn-0001"
        refused = requests.post(f"{server.url}/keranjang/tambah", data={"product_id": "1", "quantity": "1"},
                                headers={"X-Request-ID": "obs-gunicorn-0002", "Sec-Fetch-Site": "cross-site"},
                                timeout=10)
        assert refused.status_code == 403
        counted = []
        for _ in range(3):
            answer = requests.get(f"{server.url}/metrics", timeout=10)
            samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                       for family in text_string_to_metric_families(answer.text) for s in family.samples}
            counted.append(requests_counted(samples, "/produk/<slug>", 404))
        assert counted == [10, 10, 10]  # whichever worker answers, every worker's requests
        assert requests.get(f"{server.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"},
                            timeout=10).status_code == 404
    output = log_path.read_text()

    assert "S3CRET" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    served = [line for line in lines
              if line["logger"] == "gunicorn.access" and "/produk/tidak-ada" in line["path"]]
    assert len(served) == 10 and len({line["pid"] for line in served}) >= 3  # ended workers among them
    [access] = [line for line in lines if line["request_id"] == "obs-gunicorn-0001"]
    assert access["logger"] == "gunicorn.access" and access["method"] == "GET" and access["status"] == 410
    assert access["path"] == "/reset-sandi/[redacted]?kunci=[redacted]"
    assert access["remote_addr"] == "127.0.0.1"
    assert access["bytes"] > 0 and access["duration_ms"] >= 0
    assert access["user_agent"].startswith("python-requests")
    by_id = [line for line in lines if line["request_id"] == "obs-gunicorn-0002"]
    assert {line["logger"] for line in by_id} == {"storefront.same_origin", "gunicorn.access"}
    assert any(line["level"] == "INFO" and line["message"].startswith("Booting worker") for line in lines)

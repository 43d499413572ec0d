"""The outbox: order events delivered to villages' webhooks (signed, retried, at least once,
never lost) and e-mails, against a real HTTP receiver and a real SMTP server on loopback, and
``flask outbox work`` run as a real process that is killed mid-delivery."""
import hashlib
import hmac
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask_babel import force_locale
from sqlalchemy import select

from storefront.clock import as_utc, now_utc
from storefront.extensions import db
from storefront.orders.models import Order, OrderLine, VillageOrder
from storefront.orders.notices import record_parcel_event
from storefront.outbox import worker as outbox_worker
from storefront.outbox.models import OutboxAttempt, OutboxMessage
from storefront.outbox.services import (WebhookError, deactivate_webhook, resend_delivery, save_webhook,
                                        validate_webhook_url)
from storefront.outbox.signing import SignatureError, compute_signature, new_secret, signature_header, verify
from storefront.outbox.worker import GIVE_UP_AFTER, Worker, backoff, claim_next, deliver_due

from .factories import make_village
from .fake_network import FakeDNS, Listener, Network, self_signed_certificate
from .local_http import serve_in_thread
from .mail_server import Mailbox, free_port as _free_port

ROOT = Path(__file__).resolve().parent.parent
_seq = count(1)


# --- building events --------------------------------------------------------------------------------

def make_parcel(village, status="paid", payment_method="bank_transfer"):
    """An order with one parcel of ``village`` and one line, committed; returns the parcel."""
    n = next(_seq)
    order = Order(number=f"NTT-T{n:04d}-{secrets.token_hex(2).upper()}", idempotency_key=secrets.token_hex(16),
                  access_token_hash=secrets.token_hex(32), name="Maria Goreti", email="maria@example.org",
                  phone="+6281234567890", province="Jawa Timur", regency="Kota Surabaya", district="Gubeng",
                  village_ward="Airlangga", postal_code="60286", street="Jl. Airlangga 4",
                  payment_method=payment_method, status="paid" if status != "awaiting_payment" else status,
                  subtotal_idr=170000, shipping_idr=25000, total_idr=195000, paid_at=now_utc())
    db.session.add(order)
    db.session.flush()
    parcel = VillageOrder(order_id=order.id, village_id=village.id, village_name=village.name, status=status,
                          weight_grams=500, chargeable_kg=1, zone="indonesia", subtotal_idr=170000,
                          shipping_idr=25000)
    db.session.add(parcel)
    db.session.flush()
    db.session.add(OrderLine(village_order_id=parcel.id, sku=f"KOPI-{n}", name="Kopi Arabika Flores Bajawa",
                             village_name=village.name, price_idr=85000, quantity=2, weight_grams=250))
    db.session.commit()
    return parcel


def record(kind, parcel):
    event_id = record_parcel_event(kind, parcel.id)
    db.session.commit()
    return event_id


def messages(event_id=None, channel=None):
    db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if event_id:
        stmt = stmt.where(OutboxMessage.event_id == event_id)
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
    found = db.session.scalars(stmt).all()
    db.session.commit()  # end the read: another process may want to write (SQLite)
    return found


def attempts_of(message_id):
    return db.session.scalars(select(OutboxAttempt).where(OutboxAttempt.message_id == message_id)
                              .order_by(OutboxAttempt.id)).all()


# --- a village's receiver -----------------------------------------------------------------------------

class Receiver:
    """A village's webhook endpoint on loopback. It checks every call's signature twice: with our
    ``verify`` and independently with ``hmac``, as a village's own code would."""

    def __init__(self, port=0, tls=None):
        self.secret = None
        self.calls = []
        self.plan = []          # statuses to answer first, in order; then ``default``
        self.default = 200
        self.location = None    # sent with a 3xx answer
        self.delay = 0.0
        self.block_on = None    # the n-th call (1-based) waits for ``release``
        self.blocked = threading.Event()
        self.release = threading.Event()
        self.in_flight = Counter()
        self.overlaps = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.handle(self.path, self.headers, body)
                try:
                    self.send_response(status)
                    if 300 <= status < 400 and receiver.location:
                        self.send_header("Location", receiver.location)
                    self.send_header("Content-Length", "4")
                    self.end_headers()
                    self.wfile.write(b"oops" if status >= 300 else b"okay")
                except OSError:
                    pass  # the worker was killed while we answered

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls is not None:  # an https receiver (``tls``: a server-side ssl.SSLContext)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = serve_in_thread(self.server)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/desa"

    def handle(self, path, headers, body):
        header = headers.get("X-Desa-Signature")
        event_id = headers.get("X-Desa-Event-Id")
        try:
            ours = verify(body, header, self.secret)
        except SignatureError:
            ours = False
        parts = dict(item.split("=", 1) for item in (header or "t=0,v1=").split(","))
        expected = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        document = json.loads(body)
        with self._lock:
            if self.in_flight[event_id]:
                self.overlaps.append(event_id)
            self.in_flight[event_id] += 1
            call = {"path": path, "event_id": event_id, "type": headers.get("X-Desa-Event-Type"),
                    "body_id": document["id"], "document": document, "verified": ours,
                    "hmac_ok": hmac.compare_digest(expected, parts["v1"]),
                    "content_type": headers.get("Content-Type"), "user_agent": headers.get("User-Agent"),
                    "host": headers.get("Host")}
            self.calls.append(call)
            n = len(self.calls)
            status = self.plan.pop(0) if self.plan else self.default
        try:
            if self.block_on == n:
                self.blocked.set()
                self.release.wait(20)
            if self.delay:
                time.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight[event_id] -= 1
        call["status"] = status
        return status

    @property
    def ids(self):
        return [call["event_id"] for call in self.calls]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def hooked_village(receiver, **fields):
    """A village with a webhook to ``receiver`` (registered through the service)."""
    village = make_village(**fields)
    webhook = save_webhook(village.id, receiver.url)
    receiver.secret = webhook.secret
    return village


# --- signing ----------------------------------------------------------------------------------------

def test_signature_follows_the_stripe_scheme_and_verify_checks_it():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) > 40
    body = '{"id": "evt_1", "type": "order.paid", "data": {"nama": "Kopi Bajawa"}}'.encode()
    header = signature_header(body, secret, timestamp=1_800_000_000)
    expected = hmac.new(secret.encode(), b"1800000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1800000000,v1={expected}"
    assert compute_signature(body, secret, 1_800_000_000) == expected

    assert verify(body, header, secret, now=1_800_000_100)
    assert verify(body.decode(), header, secret, now=1_800_000_100)  # text works as well as bytes
    assert verify(body, f"t=1800000000,v1={'0' * 64},v1={expected}", secret, now=1_800_000_000)
    for bad_body, bad_header, bad_secret, now in [
        (body + b" ", header, secret, 1_800_000_000),                      # body changed
        (body, header, new_secret(), 1_800_000_000),                       # other secret
        (body, header, secret, 1_800_000_301),                             # too old
        (body, header.replace("t=1800000000", "t=1800000001"), secret, 1_800_000_000),  # time changed
        (body, f"t=1800000000,v0={expected}", secret, 1_800_000_000),      # unknown scheme only
        (body, "", secret, 1_800_000_000),
        (body, "t=abc,v1=00", secret, 1_800_000_000),
        (body, f"v1={expected}", secret, 1_800_000_000),
    ]:
        with pytest.raises(SignatureError):
            verify(bad_body, bad_header, bad_secret, now=now)
    assert verify(body, header, secret, tolerance=None, now=1_900_000_000)


def test_a_paid_order_reaches_the_village_webhook_signed(app, receiver):
    village = hooked_village(receiver, email=None)
    parcel = make_parcel(village)
    event_id = record("order.paid", parcel)
    [message] = messages(event_id)
    assert (message.channel, message.status, message.target) == ("webhook", "pending", receiver.url)

    assert deliver_due() == {"delivered": 1}
    [call] = receiver.calls
    assert call["verified"] and call["hmac_ok"]
    assert call["event_id"] == call["body_id"] == event_id
    assert call["type"] == "order.paid" and call["path"] == "/hooks/desa"
    assert call["content_type"].startswith("application/json")
    data = call["document"]["data"]
    assert data["parcel_id"] == parcel.id
    assert data["order_number"] == db.session.get(Order, parcel.order_id).number
    assert data["lines"][0]["sku"].startswith("KOPI-") and "stripe" not in json.dumps(data)

    [message] = messages(event_id)
    assert (message.status, message.attempts, message.last_status_code) == ("delivered", 1, 200)
    assert message.delivered_at is not None and message.locked_until is None
    [attempt] = attempts_of(message.id)
    assert attempt.status_code == 200 and attempt.error is None and attempt.duration_ms >= 0
    assert deliver_due() == {}  # nothing twice
    assert len(receiver.calls) == 1


def test_failing_five_times_then_recovering_is_delivered_on_the_sixth_attempt(app, receiver):
    village = hooked_village(receiver, email=None)
    event_id = record("order.status_changed", make_parcel(village))
    receiver.plan = [500] * 5
    moment = now_utc()
    waits = []
    for attempt in range(1, 7):
        done = deliver_due(now=moment)
        [message] = messages(event_id)
        assert message.attempts == attempt
        if attempt < 6:
            assert done == {"pending": 1} and message.status == "pending"
            assert message.last_status_code == 500 and message.last_error.startswith("HTTP 500")
            later = as_utc(message.next_attempt_at)
            waits.append(later - moment)
            assert deliver_due(now=later - timedelta(seconds=1)) == {}  # not due before its time
            moment = later
        else:
            assert done == {"delivered": 1} and message.status == "delivered"
    assert waits == sorted(waits) and len(set(waits)) == 5
    assert timedelta(seconds=22) <= waits[0] <= timedelta(seconds=30)
    assert timedelta(seconds=360) <= waits[4] <= timedelta(seconds=480)
    assert receiver.ids == [event_id] * 6
    assert all(call["verified"] and call["hmac_ok"] for call in receiver.calls)
    assert [a.status_code for a in attempts_of(message.id)] == [500] * 5 + [200]


def test_a_receiver_that_is_down_is_retried_until_it_comes_back(app):
    port = _free_port()
    village = make_village(email=None)
    webhook = save_webhook(village.id, f"http://127.0.0.1:{port}/hook")
    event_id = record("order.paid", make_parcel(village))
    moment = now_utc()
    assert deliver_due(now=moment) == {"pending": 1}
    [message] = messages(event_id)
    assert "Connection" in message.last_error and message.last_status_code is None
    assert attempts_of(message.id)[0].error == message.last_error

    receiver = Receiver(port=port)  # the village's server is back
    receiver.secret = webhook.secret
    try:
        assert deliver_due(now=as_utc(message.next_attempt_at)) == {"delivered": 1}
        assert receiver.ids == [event_id] and receiver.calls[0]["verified"]
    finally:
        receiver.close()


def test_after_24_hours_of_failures_the_message_is_given_up(app, receiver):
    village = hooked_village(receiver, email=None)
    event_id = record("order.cancelled", make_parcel(village))
    receiver.default = 503
    [message] = messages(event_id)
    created = as_utc(message.created_at)
    assert deliver_due(now=created + timedelta(hours=23, minutes=59, seconds=50)) == {"pending": 1}
    [message] = messages(event_id)
    # The last wait is cut short: one more try right at the 24-hour mark.
    assert as_utc(message.next_attempt_at) == created + GIVE_UP_AFTER
    assert deliver_due(now=created + GIVE_UP_AFTER) == {"failed": 1}
    [message] = messages(event_id)
    assert (message.status, message.attempts, message.last_status_code) == ("failed", 2, 503)
    assert deliver_due(now=created + timedelta(days=3)) == {}

    # Sent again by hand (the receiver fixed): same event id, delivered.
    receiver.default = 200
    resend_delivery(village.id, message.id)
    assert deliver_due() == {"delivered": 1}
    assert receiver.ids == [event_id] * 3


def test_redirects_are_not_followed(app, receiver):
    village = hooked_village(receiver, email=None)
    event_id = record("order.paid", make_parcel(village))
    receiver.plan, receiver.location = [301], "https://elsewhere.example/hook"
    assert deliver_due() == {"pending": 1}
    [message] = messages(event_id)
    assert message.last_status_code == 301 and "not followed" in message.last_error
    assert len(receiver.calls) == 1


def test_backoff_doubles_with_jitter_and_is_capped():
    for attempts in range(1, 8):
        low = 30 * 2 ** (attempts - 1) * 0.75
        high = 30 * 2 ** (attempts - 1)
        for _ in range(50):
            assert low <= backoff(attempts).total_seconds() <= high
    assert all(backoff(40).total_seconds() <= 3600 for _ in range(50))


# --- several workers, crashes ----------------------------------------------------------------------

def test_a_claimed_message_is_not_claimed_again_until_its_lease_runs_out(app, receiver):
    village = hooked_village(receiver, email=None)
    event_id = record("order.paid", make_parcel(village))
    moment = now_utc()
    first = claim_next(now=moment)
    assert first is not None
    assert claim_next(now=moment + timedelta(seconds=59)) is None          # a second worker
    second = claim_next(now=moment + timedelta(seconds=61))                 # the first one died
    assert second is not None and second[0] == first[0] and second[1] != first[1]
    # The first worker comes back late: its outcome is logged, but the message stays the second's.
    outbox_worker.deliver_message(*first, now=moment + timedelta(seconds=62))
    [message] = messages(event_id)
    assert message.status == "pending" and as_utc(message.locked_until) == second[1]
    outbox_worker.deliver_message(*second, now=moment + timedelta(seconds=63))
    [message] = messages(event_id)
    assert (message.status, message.attempts) == ("delivered", 2)
    assert receiver.ids == [event_id, event_id]
    assert len(attempts_of(message.id)) == 2


def test_two_workers_at_once_deliver_each_message_once(app, receiver):
    village = hooked_village(receiver, email=None)
    events = [record("order.paid", make_parcel(village)) for _ in range(8)]
    receiver.delay = 0.05
    errors = []

    def work():
        try:
            with app.app_context():
                deliver_due()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(receiver.ids) == sorted(events) and receiver.overlaps == []
    assert {m.status for m in messages()} == {"delivered"}
    assert all(m.attempts == 1 for m in messages())


def _worker_process(database_url, *args):
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "wsgi:app", "MAIL_SERVER": "",
           "STOREFRONT_ENV": "development", "PYTHONUNBUFFERED": "1", "OUTBOX_ALLOW_HTTP": "1"}
    return subprocess.Popen([sys.executable, "-m", "flask", "outbox", "work", "--poll", "0.1", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(condition, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_with_the_same_id(app, receiver, database_url):
    village = hooked_village(receiver, email=None)
    events = [record("order.paid", make_parcel(village)) for _ in range(5)]
    receiver.block_on = 3  # the third call hangs until the worker is dead

    first = _worker_process(database_url, "--lease", "2")
    try:
        assert receiver.blocked.wait(30), first.stdout.read() if first.poll() is not None else "no call"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    receiver.release.set()
    killed_id = receiver.calls[2]["event_id"]
    [in_hand] = messages(killed_id)
    assert in_hand.status == "pending" and in_hand.locked_until is not None  # claimed, sent, not recorded

    second = _worker_process(database_url, "--lease", "2")
    try:
        _wait_for(lambda: all(m.status == "delivered" for m in messages()), what="every message delivered")
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
    finally:
        if second.poll() is None:
            second.kill()

    # Every event arrived; the one in flight at the kill arrived twice with the same id.
    assert set(receiver.ids) == set(events)
    assert Counter(receiver.ids) == {**{e: 1 for e in events}, killed_id: 2}
    assert all(call["event_id"] == call["body_id"] and call["verified"] and call["hmac_ok"]
               for call in receiver.calls)
    assert len({call["body_id"] for call in receiver.calls}) == len(events)  # dedupe by id: one each
    by_event = {m.event_id: m for m in messages()}
    assert by_event[killed_id].attempts == 2
    assert all(m.attempts == 1 for e, m in by_event.items() if e != killed_id)


def test_sigterm_lets_the_worker_finish_the_message_in_hand(app, receiver, database_url):
    village = hooked_village(receiver, email=None)
    event_id = record("order.paid", make_parcel(village))
    receiver.block_on = 1
    worker = _worker_process(database_url)
    try:
        assert receiver.blocked.wait(30)
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert worker.poll() is None  # still waiting for the answer
        receiver.release.set()
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    output = worker.stdout.read()
    assert "outbox worker stopped" in output
    [message] = messages(event_id)
    assert message.status == "delivered" and receiver.ids == [event_id]


def test_flask_outbox_work_once_delivers_what_is_due(app, receiver):
    village = hooked_village(receiver, email=None)
    event_id = record("order.paid", make_parcel(village))
    result = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 delivered" in result.output
    assert receiver.ids == [event_id]
    status = app.test_cli_runner().invoke(args=["outbox", "status"])
    assert "delivered: 1" in status.output and "pending: 0" in status.output


def test_the_worker_runs_housekeeping_at_most_once_a_minute(app, monkeypatch):
    calls = []

    def expire():
        calls.append("expire")

    def overdue():
        calls.append("overdue")

    monkeypatch.setitem(app.extensions, "housekeeping_jobs", (expire, overdue))
    worker = Worker(poll=0.01, housekeeping_every=60)
    ticks = iter([0.0, 0.01, 30.0])

    def deliver(**kwargs):
        try:
            next(ticks)
        except StopIteration:
            worker.stop()
        return {}

    monkeypatch.setattr(outbox_worker, "deliver_due", deliver)
    worker.run()
    assert calls == ["expire", "overdue"]


def test_an_unpaid_order_past_its_time_is_expired_by_housekeeping(app):
    village = make_village(email=None)
    parcel = make_parcel(village, status="awaiting_payment")
    order = db.session.get(Order, parcel.order_id)
    order.expires_at = now_utc() - timedelta(minutes=1)
    db.session.commit()
    outbox_worker.housekeeping()
    db.session.expire_all()
    assert db.session.get(Order, parcel.order_id).status == "expired"


# --- the village's settings as the worker sees them ---------------------------------------------------

def test_a_webhook_turned_off_stops_delivery_and_a_new_address_takes_what_waits(app, receiver):
    village = hooked_village(receiver, email=None)
    first = record("order.paid", make_parcel(village))
    deactivate_webhook(village.id)
    assert deliver_due() == {}
    [message] = messages(first)
    assert message.status == "failed" and "turned off" in message.last_error
    with pytest.raises(WebhookError):
        resend_delivery(village.id, message.id)
    assert record("order.paid", make_parcel(village)) is not None
    assert len(messages(channel="webhook")) == 1  # nothing queued while off

    other = Receiver()
    try:
        # An event waits (receiver down), the village moves its receiver: the event follows.
        webhook = save_webhook(village.id, receiver.url)
        other.secret = receiver.secret = webhook.secret
        receiver.default = 500
        second = record("order.status_changed", make_parcel(village))
        assert deliver_due() == {"pending": 1}
        save_webhook(village.id, other.url)
        [waiting] = messages(second)
        assert waiting.target == other.url
        assert deliver_due(now=as_utc(waiting.next_attempt_at)) == {"delivered": 1}
        assert other.ids == [second] and other.calls[0]["verified"]
    finally:
        other.close()


def test_webhook_addresses_are_checked(app):
    assert validate_webhook_url("  https://desa.example.id/hook?x=1  ") == "https://desa.example.id/hook?x=1"
    for url, words in [
        ("http://evil.example/hook", "https://"),
        ("ftp://desa.example.id/", "https://"),
        ("https://user:pass@desa.example.id/", "user name or password"),
        ("https://token@desa.example.id/", "user name or password"),
        ("https://" + "a" * 500 + ".id/", "too long"),
        ("https://10.0.0.5/hook", "private"),
        ("https://169.254.169.254/latest", "private"),
        ("https://localhost/hook", "private"),
        ("https://desa.example.id:99999/", "valid"),
        ("https:///nohost", "server"),
        ("https://desa example.id/", "spaces"),
        ("", "Enter"),
        ("http://127.0.0.1:8000/hook", "https://"),  # plain http only when allowed
    ]:
        with pytest.raises(WebhookError) as error, force_locale("en"):
            validate_webhook_url(url)
        assert words in str(error.value), (url, str(error.value))
    assert validate_webhook_url("http://127.0.0.1:8000/hook", allow_http=True)
    with pytest.raises(WebhookError):
        validate_webhook_url("http://10.0.0.5/hook", allow_http=True)


def test_a_name_that_resolves_to_a_private_address_is_not_called(receiver):
    # Registered as a public name, later pointed at the shop's own network: checked when sending.
    port = receiver.server.server_address[1]
    outcome = outbox_worker.post_webhook(f"https://localhost:{port}/hook", b"{}", {})
    assert not outcome.ok and "private network" in outcome.error
    assert receiver.calls == []


# --- where a webhook may go (SSRF) ------------------------------------------------------------------

#: A public address that stands for a village's server; no test ever reaches it (see Network).
PUBLIC = "103.10.20.30"
#: IPv6 spellings of 127.0.0.1, 10.0.0.5 and 169.254.169.254 (the cloud metadata service), and
#: other addresses that are not on the public internet although Python 3.11 calls some global.
HIDDEN_PRIVATE = [
    "64:ff9b::7f00:1", "64:ff9b::a00:5", "64:ff9b::a9fe:a9fe",          # NAT64 (RFC 6052)
    "64:ff9b:1::a00:5",                                                 # local-use NAT64 (RFC 8215)
    "2002:7f00:1::1", "2002:a00:5::1", "2002:a9fe:a9fe::1",             # 6to4
    "::ffff:127.0.0.1", "::ffff:a00:5", "::ffff:a9fe:a9fe",             # IPv4-mapped
    "::a00:5",                                                          # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",                             # Teredo
    "100.64.0.1", "100.100.100.200", "192.0.0.192", "224.0.0.1", "fec0::1",
]


@pytest.fixture
def dns(monkeypatch):
    return FakeDNS(monkeypatch)


@pytest.fixture
def net(monkeypatch):
    return Network(monkeypatch)


@pytest.fixture
def https_receiver(tmp_path, monkeypatch):
    """A village's https receiver for ``desa.example.id`` on loopback, with a certificate for that
    name which the worker's trust store (``SSL_CERT_FILE``) holds; ``.sni`` lists the names
    clients asked for in TLS."""
    cert, key = self_signed_certificate(tmp_path, "desa.example.id")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    sni = []
    context.sni_callback = lambda connection, name, ctx: sni.append(name)
    server = Receiver(tls=context)
    server.sni = sni
    server.port = server.server.server_address[1]
    yield server
    server.close()


def _host(address):
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize("address", HIDDEN_PRIVATE)
def test_hidden_forms_of_private_addresses_are_refused_when_registered_and_when_sent(app, dns, net, address):
    for allow_http in (False, True):
        with pytest.raises(WebhookError) as error, force_locale("en"):
            validate_webhook_url(f"https://{_host(address)}/hook", allow_http=allow_http)
        assert "private network" in str(error.value)

    dns.zone["desa.example.id"] = [[address]]
    for url in (f"https://{_host(address)}/hook", "https://desa.example.id/hook"):
        outcome = outbox_worker.post_webhook(url, b"{}", {})
        assert not outcome.ok and "private network" in outcome.error, (url, outcome)
    assert net.connects == []


def test_other_spellings_of_loopback_are_refused_when_registered(app):
    for url in ("https://127.1/hook", "https://0x7f000001/hook", "https://2130706433/hook", "https://localhost./hook"):
        with pytest.raises(WebhookError) as error, force_locale("en"):
            validate_webhook_url(url, allow_http=True)
        assert "private network" in str(error.value), url


def test_one_private_address_among_public_ones_refuses_the_name(dns, net):
    dns.zone["desa.example.id"] = [[PUBLIC, "10.0.0.5"]]
    outcome = outbox_worker.post_webhook("https://desa.example.id/hook", b"{}", {})
    assert not outcome.ok and "private network" in outcome.error
    assert net.connects == []


def test_https_connects_to_the_checked_address_with_the_name_for_tls_and_host(app, dns, net, https_receiver):
    port = https_receiver.port
    dns.zone["desa.example.id"] = [[PUBLIC]]
    net.routes[(PUBLIC, port)] = ("127.0.0.1", port)
    village = make_village(email=None)
    https_receiver.secret = save_webhook(village.id, f"https://desa.example.id:{port}/hook").secret
    event_id = record("order.paid", make_parcel(village))

    assert deliver_due() == {"delivered": 1}
    assert net.connects == [(PUBLIC, port)]  # the address that was checked, not the name again
    assert dns.lookups["desa.example.id"] == 1
    assert https_receiver.sni == ["desa.example.id"]
    [call] = https_receiver.calls
    assert call["host"] == f"desa.example.id:{port}" and call["event_id"] == event_id and call["verified"]

    # The certificate is checked against the name: the same server under another name is refused.
    dns.zone["lain.example.id"] = [[PUBLIC]]
    outcome = outbox_worker.post_webhook(f"https://lain.example.id:{port}/hook", b"{}", {})
    assert not outcome.ok and "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert len(https_receiver.calls) == 1


def test_a_name_rebound_to_loopback_after_the_check_is_never_connected_to(app, dns, net, https_receiver):
    # The village's name answers a public address to the check, then 127.0.0.1 (DNS rebinding),
    # where a service of the shop's own listens.
    inside = Listener()
    try:
        dns.zone["desa.example.id"] = [[PUBLIC], ["127.0.0.1"]]
        net.routes[(PUBLIC, inside.port)] = ("127.0.0.1", https_receiver.port)
        village = make_village(email=None)
        https_receiver.secret = save_webhook(village.id, f"https://desa.example.id:{inside.port}/hook").secret
        event_id = record("order.paid", make_parcel(village))
        app.config.update(TESTING=False, OUTBOX_ALLOW_HTTP=False)  # as in production

        done = deliver_due()
        assert inside.connections == []
        assert net.connects == [(PUBLIC, inside.port)]
        assert dns.lookups["desa.example.id"] == 1
        assert done == {"delivered": 1} and https_receiver.ids == [event_id]
    finally:
        inside.close()


def test_outbox_allow_http_allows_plain_http_to_loopback_and_nothing_else(app, dns, net, receiver):
    app.config["OUTBOX_ALLOW_HTTP"] = True
    for url, words in [("https://10.0.0.5/hook", "private"), ("https://localhost/hook", "private"),
                       ("https://[::1]/hook", "private"), ("http://10.0.0.5/hook", "https://"),
                       ("http://internal-name/hook", "https://")]:
        with pytest.raises(WebhookError) as error, force_locale("en"):
            validate_webhook_url(url, allow_http=True)
        assert words in str(error.value), url

    # An https name (accepted when registered) that resolves to the shop's own network.
    dns.zone["internal-name"] = [["10.0.0.5"]]
    inside = make_village(email=None)
    save_webhook(inside.id, "https://internal-name/hook")
    refused = record("order.paid", make_parcel(inside))
    # An http address to "localhost" whose name is pointed elsewhere.
    dns.zone["localhost"] = [["10.0.0.5"]]
    moved = make_village(email=None)
    save_webhook(moved.id, f"http://localhost:{receiver.server.server_address[1]}/hook")
    elsewhere = record("order.paid", make_parcel(moved))
    # Plain http to 127.0.0.1: the local trial the setting is for.
    delivered = record("order.paid", make_parcel(hooked_village(receiver, email=None)))

    assert deliver_due() == {"pending": 2, "delivered": 1}
    [message] = messages(refused)
    assert "private network" in message.last_error
    [message] = messages(elsewhere)
    assert "loopback" in message.last_error
    assert receiver.ids == [delivered]
    assert net.connects == [("127.0.0.1", receiver.server.server_address[1])]


def test_plain_http_is_not_sent_without_the_setting(app, receiver):
    village = hooked_village(receiver, email=None)  # registered while tests allow http
    event_id = record("order.paid", make_parcel(village))
    app.config.update(TESTING=False, OUTBOX_ALLOW_HTTP=False)
    assert deliver_due() == {"failed": 1}
    [message] = messages(event_id)
    assert "plain http" in message.last_error
    assert receiver.calls == []


# --- e-mail -----------------------------------------------------------------------------------------

def test_each_village_gets_one_mail_per_event_in_indonesian(app, smtp, receiver):
    hooked = hooked_village(receiver, email="hooked@desa.example.id")
    plain = make_village(email="plain@desa.example.id")
    paid = [record("order.paid", make_parcel(hooked)), record("order.paid", make_parcel(plain))]
    cancelled = record("order.cancelled", make_parcel(plain, status="cancelled"))
    changed = record("order.status_changed", make_parcel(plain, status="accepted"))
    assert changed is not None and messages(changed) == []  # a village's own change is not mailed back

    assert deliver_due() == {"delivered": 4}
    assert deliver_due() == {}
    [to_hooked] = smtp.to("hooked@desa.example.id")
    mails = smtp.to("plain@desa.example.id")
    assert len(mails) == 2
    assert to_hooked["subject"].startswith("Pesanan baru NTT-") and "Barang:" in to_hooked["body"]
    assert to_hooked["message_id"] == f"<{paid[0]}@produkdesa-ntt.example>"
    assert {m["message_id"] for m in mails} == {f"<{paid[1]}@produkdesa-ntt.example>",
                                                f"<{cancelled}@produkdesa-ntt.example>"}
    assert any("dibatalkan" in m["subject"] and "Jangan kirim paket ini" in m["body"] for m in mails)
    assert receiver.ids == [paid[0]]  # the webhook got its own call for the same event


def test_a_mail_sent_again_keeps_its_message_id(app, smtp):
    village = make_village(email="desa@desa.example.id")
    event_id = record("order.paid", make_parcel(village))
    assert deliver_due() == {"delivered": 1}
    [message] = messages(event_id)
    resend_delivery(village.id, message.id)
    assert deliver_due() == {"delivered": 1}
    first, again = smtp.to(village.email)
    assert first["message_id"] == again["message_id"] == f"<{event_id}@produkdesa-ntt.example>"
    assert first["subject"] == again["subject"]


def test_a_mail_server_that_is_down_is_retried(app):
    village = make_village(email="desa@desa.example.id")
    event_id = record("order.cancelled", make_parcel(village, status="cancelled"))
    port = _free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_STARTTLS=False, MAIL_USERNAME=None,
                      MAIL_TIMEOUT=5)
    assert deliver_due() == {"pending": 1}
    [message] = messages(event_id)
    assert message.last_error and attempts_of(message.id)[0].error

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert deliver_due(now=as_utc(message.next_attempt_at)) == {"delivered": 1}
        [mail] = mailbox.to(village.email)
        assert mail["message_id"] == f"<{event_id}@produkdesa-ntt.example>"
    finally:
        controller.stop()


def test_without_a_mail_server_the_mail_is_logged_and_not_retried(app):
    village = make_village(email="desa@desa.example.id")
    event_id = record("order.paid", make_parcel(village))
    assert deliver_due() == {"delivered": 1}
    [message] = messages(event_id)
    assert "MAIL_SERVER" in message.last_error and message.attempts == 1
    assert deliver_due(now=now_utc() + timedelta(days=1)) == {}

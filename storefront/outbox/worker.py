"""Delivering the outbox: ``flask outbox work``.

Each message is claimed with a lease (a conditional UPDATE of ``locked_until``, committed before
any network I/O), sent, and its outcome recorded in a second short transaction. Delivery is
at least once: a worker killed after sending but before recording leaves the lease to run out,
and the message is sent again with the same event id (``X-Desa-Event-Id`` and the body's
``id``; the e-mail's Message-ID), so the receiver can tell a repeat from a new event.

Failures are retried with exponential backoff (30 s doubling, at most an hour apart, with
jitter) until 24 hours after the event; then the message is ``failed`` and stays in the
village's delivery log, from where it can be sent again by hand.
"""
import http.client
import json
import logging
import random
import signal
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import or_, select, update

from ..clock import as_utc, now_utc
from ..extensions import db
from ..mail import send_mail
from ..unit_of_work import unit_of_work
from .addresses import DestinationRefused, PinnedHTTPConnection, PinnedHTTPSConnection, resolve_destination
from .models import OutboxAttempt, OutboxMessage, VillageWebhook
from .services import http_allowed
from .signing import webhook_headers

log = logging.getLogger(__name__)

#: First wait after a failure; doubled after each further failure.
BACKOFF_BASE = timedelta(seconds=30)
#: Longest wait between two attempts.
BACKOFF_CAP = timedelta(hours=1)
#: After this long since the event, a message that still fails is given up (status ``failed``).
GIVE_UP_AFTER = timedelta(hours=24)
#: Seconds to wait for a village's receiver to connect and answer.
HTTP_TIMEOUT = 10
#: How long a claim holds a message; must be well above HTTP_TIMEOUT and the SMTP timeout.
LEASE = timedelta(seconds=60)
#: Seconds between looks at the outbox when nothing was due.
POLL_SECONDS = 2.0
#: Seconds between two runs of the housekeeping jobs (unpaid orders, overdue parcels).
HOUSEKEEPING_SECONDS = 60
#: Longest error text kept per attempt.
ERROR_MAX = 500
#: How much of a receiver's answer is read (and partly kept when it is an error).
RESPONSE_READ_MAX = 4096
USER_AGENT = "ProdukDesaNTT-Webhook/1"


@dataclass
class Outcome:
    """What one attempt came to. ``final``: do not retry (e.g. the village turned its webhook off)."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    final: bool = False


def backoff(attempts, base=BACKOFF_BASE, cap=BACKOFF_CAP, rng=random):
    """How long to wait after the ``attempts``-th failed attempt: ``base * 2**(attempts-1)``,
    at most ``cap``, less up to a quarter at random so that many messages spread out.

    Before the cap each wait is longer than the one before, jitter and all."""
    exponent = min(max(attempts - 1, 0), 32)
    delay = min(cap.total_seconds(), base.total_seconds() * 2 ** exponent)
    return timedelta(seconds=delay * rng.uniform(0.75, 1.0))


def _truncate(text):
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= ERROR_MAX else text[:ERROR_MAX - 1] + "…"


# --- claiming -------------------------------------------------------------------------------------

def _due(now):
    return (OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))


def claim_next(now=None, lease=LEASE):
    """Claim the next due message for this worker: ``(message id, lease token)`` or None.

    The claim is a conditional UPDATE (only if still pending, due and not leased), so of two
    workers racing for a message exactly one wins, on SQLite and PostgreSQL alike; PostgreSQL
    also skips rows another worker is claiming (``FOR UPDATE SKIP LOCKED``). The claim counts
    the attempt and is committed at once. The token is the ``locked_until`` it set: the
    outcome is recorded only while it is still there (the lease was not lost meanwhile).
    """
    now = now or now_utc()
    stmt = (select(OutboxMessage.id).where(*_due(now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.limit(1).with_for_update(skip_locked=True)
    else:
        stmt = stmt.limit(10)
    with unit_of_work():
        for message_id in db.session.scalars(stmt).all():
            token = now + lease
            claimed = db.session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id, *_due(now))
                .values(locked_until=token, attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False))
            if claimed.rowcount == 1:
                return message_id, token
    return None


# --- sending --------------------------------------------------------------------------------------

def post_webhook(url, body, headers, timeout=HTTP_TIMEOUT, allow_loopback_http=False):
    """POST ``body`` (bytes) to ``url``; success is a 2xx answer. Redirects are not followed, and
    at most ``RESPONSE_READ_MAX`` bytes of the answer are read.

    The host is looked up once, when sending (a name may be pointed elsewhere after it was
    registered), and every address it resolves to must be public; the connection then goes to
    one of those checked addresses, never to a second lookup's answer. An https call sends the
    name as SNI, checks the certificate against it and names it in ``Host``. Plain http is only
    sent with ``allow_loopback_http`` (tests, ``OUTBOX_ALLOW_HTTP``), and only to a host that
    resolves to this machine alone."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return Outcome(False, error="invalid port in the address", final=True)
    host = parts.hostname
    if parts.scheme not in ("https", "http"):
        return Outcome(False, error=f"unsupported address scheme {parts.scheme!r}", final=True)
    if not host:
        return Outcome(False, error="no host in the address", final=True)
    if parts.scheme == "http" and not allow_loopback_http:
        return Outcome(False, error="plain http is only sent to this machine, with OUTBOX_ALLOW_HTTP; "
                                    "register an https address", final=True)
    try:
        addresses = resolve_destination(host, allow_loopback=parts.scheme == "http")
    except DestinationRefused:
        if parts.scheme == "http":
            return Outcome(False, error=f"{host} does not resolve to this machine only; plain http is "
                                        "only sent to loopback")
        return Outcome(False, error=f"{host} resolves to a private network address; not called")
    except OSError as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if parts.scheme == "https":
        conn = PinnedHTTPSConnection(host, port, addresses, timeout, ssl.create_default_context())
    else:
        conn = PinnedHTTPConnection(host, port, addresses, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers={
            **headers, "User-Agent": USER_AGENT, "Content-Length": str(len(body))})
        response = conn.getresponse()
        answer = response.read(RESPONSE_READ_MAX).decode("utf-8", "replace").strip()
        status = response.status
        location = response.getheader("Location")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    finally:
        conn.close()
    if 200 <= status < 300:
        return Outcome(True, status_code=status)
    if 300 <= status < 400:
        return Outcome(False, status_code=status,
                       error=f"HTTP {status}: redirect to {location or '?'} not followed; "
                             "register the final address")
    return Outcome(False, status_code=status, error=f"HTTP {status}: {answer}" if answer else f"HTTP {status}")


def _deliver_webhook(message, secret):
    body = message["payload"].encode("utf-8")
    headers = webhook_headers(body, secret, message["event_id"], message["kind"])
    return post_webhook(message["target"], body, headers, allow_loopback_http=http_allowed())


def _deliver_email(message):
    content = json.loads(message["payload"])
    # "body": the plain text of mails queued before mails had templates (and an HTML part).
    text = content.get("text", content.get("body", ""))
    try:
        sent = send_mail([message["target"]], content["subject"], text, html=content.get("html"),
                         message_id=message["event_id"])
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        return Outcome(False, error=f"{type(exc).__name__}: {exc}")
    if not sent and not current_app.config.get("MAIL_SERVER"):
        return Outcome(True, error="MAIL_SERVER is not set: the mail was written to the log")
    return Outcome(True) if sent else Outcome(False, error="no recipient", final=True)


def _load(message_id):
    """What sending needs, as plain values, read in a transaction that ends before sending."""
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    values = {name: getattr(message, name) for name in (
        "id", "event_id", "kind", "channel", "target", "payload", "attempts", "village_id", "partner_id",
        "created_at")}
    secret = None
    if message.channel == "webhook" and message.partner_id is not None:
        # A partner's call: the partners package says where its secret is (the outbox imports
        # nothing above it). None when the partner's webhook is off.
        find = current_app.extensions.get("partner_webhook_secret")
        secret = find(message.partner_id) if find is not None else None
    elif message.channel == "webhook":
        webhook = db.session.scalars(select(VillageWebhook).where(
            VillageWebhook.village_id == message.village_id)).one_or_none()
        secret = webhook.secret if webhook is not None and webhook.active else None
    return values, secret


def _record(message, token, outcome, started, duration_ms, now):
    """The attempt for the log, and the message's new state if this worker still holds it."""
    db.session.add(OutboxAttempt(message_id=message["id"], attempted_at=started, duration_ms=duration_ms,
                                 status_code=outcome.status_code, error=_truncate(outcome.error)))
    values = {"locked_until": None, "last_status_code": outcome.status_code,
              "last_error": _truncate(outcome.error)}
    if outcome.ok:
        values.update(status="delivered", delivered_at=now)
    else:
        deadline = as_utc(message["created_at"]) + GIVE_UP_AFTER
        if outcome.final or now >= deadline:
            values.update(status="failed")
        else:
            values.update(next_attempt_at=min(now + backoff(message["attempts"]), deadline))
    kept = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message["id"], OutboxMessage.locked_until == token)
        .values(**values).execution_options(synchronize_session=False))
    if kept.rowcount != 1:
        log.warning("outbox message %s: lease lost before the outcome was recorded", message["id"])
    return values.get("status", "pending")


def deliver_message(message_id, token, now=None):
    """Send one claimed message and record the outcome; returns its status afterwards. Reading
    it and recording the outcome are two short units of work, with the sending between them."""
    with unit_of_work():
        message, secret = _load(message_id)
    started = now or now_utc()
    clock = time.monotonic()
    if message["channel"] == "webhook":
        if secret is None:
            owner = "partner's" if message["partner_id"] is not None else "village's"
            outcome = Outcome(False, error=f"the {owner} webhook is turned off", final=True)
        else:
            outcome = _deliver_webhook(message, secret)
    else:
        outcome = _deliver_email(message)
    duration_ms = int((time.monotonic() - clock) * 1000)
    with unit_of_work():
        status = _record(message, token, outcome, started, duration_ms, now or now_utc())
    # A webhook's address may be logged; a mail's recipient (personal data) is not.
    target = message["target"] if message["channel"] == "webhook" else "(mail)"
    log.info("outbox %s %s %s -> %s: %s", message["event_id"], message["channel"], target,
             outcome.status_code or "-", status)
    return status


def deliver_due(now=None, lease=LEASE, limit=None, should_stop=None):
    """Deliver every message due at ``now`` (default: the real time, read again per message).

    Returns ``{status: count}`` of what this call did. ``should_stop`` is checked between
    messages: a stopping worker finishes the message in hand, then returns."""
    done = {}
    while limit is None or sum(done.values()) < limit:
        if should_stop is not None and should_stop():
            break
        claim = claim_next(now, lease)
        if claim is None:
            break
        status = deliver_message(*claim, now=now)
        done[status] = done.get(status, 0) + 1
    return done


# --- housekeeping ---------------------------------------------------------------------------------

def housekeeping(jobs=None):
    """Run the app's housekeeping jobs (``storefront/jobs.py``, registered by ``create_app``),
    each in a unit of work of its own. Errors are logged, never raised: the worker must keep
    delivering."""
    for job in current_app.extensions["housekeeping_jobs"] if jobs is None else jobs:
        try:
            with unit_of_work():
                job()
        except Exception:  # noqa: BLE001
            log.exception("housekeeping job %s failed", job.__name__)


# --- the long-running worker ----------------------------------------------------------------------

class Worker:
    """``flask outbox work``: deliver, sleep ``poll`` seconds when idle, repeat until stopped.

    SIGTERM or SIGINT asks it to stop: the message in hand is finished, then it exits. A second
    signal stops it at once."""

    def __init__(self, poll=POLL_SECONDS, lease=LEASE, housekeeping_every=HOUSEKEEPING_SECONDS, echo=None):
        self.poll = poll
        self.lease = lease
        self.housekeeping_every = housekeeping_every
        self.echo = echo or (lambda line: None)
        self._stop = threading.Event()
        self._last_housekeeping = None

    def stop(self, *_args):
        if self._stop.is_set():
            raise KeyboardInterrupt
        self._stop.set()

    @property
    def stopping(self):
        return self._stop.is_set()

    def install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, self.stop)
        # Started in the background by a shell (``make run``), SIGINT is ignored: Ctrl-C is for the
        # web server, and the shell stops the worker with SIGTERM. Keep it that way.
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, self.stop)

    def _housekeeping_due(self):
        if self.housekeeping_every is None:
            return False
        current = time.monotonic()
        if self._last_housekeeping is None or current - self._last_housekeeping >= self.housekeeping_every:
            self._last_housekeeping = current
            return True
        return False

    def run(self):
        """Loop until stopped; a database or other unexpected error is logged and retried."""
        self.echo(f"outbox worker started (poll {self.poll:g} s)")
        while not self.stopping:
            try:
                if self._housekeeping_due():
                    housekeeping()
                done = deliver_due(lease=self.lease, should_stop=lambda: self.stopping)
            except Exception:  # noqa: BLE001  (each unit of work rolled back its own)
                log.exception("outbox worker: error, retrying in %s s", self.poll)
                done = {}
            if done:
                self.echo("outbox: " + ", ".join(f"{n} {status}" for status, n in sorted(done.items())))
            else:
                self._stop.wait(self.poll)
            db.session.remove()
        self.echo("outbox worker stopped")

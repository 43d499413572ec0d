"""Outbox verbs for a village: its webhook address and secret, its delivery log, resending.

Each verb takes the member's ``village_id`` and touches that village's rows only; the caller
commits.
"""
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from ..clock import now_utc
from ..extensions import db
from .addresses import is_public_address, literal_address
from .models import OutboxMessage, VillageWebhook
from .signing import new_secret

#: Longest webhook address (the column's length).
URL_MAX = 500
#: Hosts a plain-http address may name when http is allowed (tests, local trials). At delivery
#: the name must still resolve to this machine only.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Rows per page of the delivery log.
LOG_PAGE_SIZE = 50


class WebhookError(Exception):
    """Something the member can fix: a bad address, a webhook that is off."""


class DeliveryNotFound(LookupError):
    """No such message for this village (another village's messages do not exist here)."""


def http_allowed():
    """Plain http to this machine (loopback) is allowed only in tests or with ``OUTBOX_ALLOW_HTTP``.

    It allows nothing else: an https address, or an http one naming another host, is checked
    for private addresses all the same."""
    cfg = current_app.config
    return bool(cfg.get("TESTING") or cfg.get("OUTBOX_ALLOW_HTTP"))


def validate_webhook_url(url, allow_http=False):
    """The address, trimmed, if a webhook may be sent there; else raise WebhookError.

    HTTPS only, at most 500 characters, no user name or password, no address of a private
    network (in any spelling: ``127.1``, ``[::ffff:127.0.0.1]``, ``[64:ff9b::a00:5]``...). A name
    is not looked up here: the worker checks what it resolves to each time it sends. With
    ``allow_http``, ``http://127.0.0.1``/``localhost`` is accepted too (and nothing else private)."""
    url = (url or "").strip()
    if not url:
        raise WebhookError(_("Enter the address of your receiver, starting with https://."))
    if len(url) > URL_MAX:
        raise WebhookError(_("The address is too long (at most %(max)d characters).", max=URL_MAX))
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise WebhookError(_("The address must not contain spaces."))
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise WebhookError(_("This is not a valid web address.")) from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise WebhookError(_("The address must start with https:// and name a server."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise WebhookError(_("The address must not contain a user name or password; "
                             "we sign every call with your secret instead."))
    if scheme == "http":
        if not (allow_http and host in LOOPBACK_HOSTS):
            raise WebhookError(_("The address must start with https://: order details are only sent encrypted."))
    elif _is_private_host(host):
        raise WebhookError(_("The address must be reachable on the internet, not a private network."))
    if parts.fragment:
        url = url.split("#", 1)[0]
    return url


def _is_private_host(host):
    """True for a name that is private by convention, or an IP address that is not public."""
    name = host.rstrip(".")
    if name in LOOPBACK_HOSTS or name.endswith((".localhost", ".local", ".internal")):
        return True
    address = literal_address(host)
    return address is not None and not is_public_address(address)


def village_webhook(village_id):
    """The village's webhook (on or off), or None."""
    return db.session.scalars(select(VillageWebhook).where(VillageWebhook.village_id == village_id)
                              .execution_options(populate_existing=True)).one_or_none()


def save_webhook(village_id, url):
    """Register the village's address (with a new secret the first time) or change it, and turn
    the webhook on. Messages still waiting go to the new address. Returns the webhook."""
    url = validate_webhook_url(url, allow_http=http_allowed())
    webhook = village_webhook(village_id)
    if webhook is None:
        webhook = VillageWebhook(village_id=village_id, url=url, secret=new_secret(), active=True)
        db.session.add(webhook)
    else:
        webhook.url, webhook.active = url, True
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.village_id == village_id, OutboxMessage.channel == "webhook",
                                    OutboxMessage.status == "pending")
        .values(target=url).execution_options(synchronize_session=False))
    db.session.flush()  # two members registering at the same moment: the second gets IntegrityError
    return webhook


def deactivate_webhook(village_id):
    """Stop sending to the village's address. What was waiting is marked failed (it can be sent
    again by hand once the webhook is on). True if it was on."""
    turned_off = db.session.execute(
        update(VillageWebhook).where(VillageWebhook.village_id == village_id, VillageWebhook.active.is_(True))
        .values(active=False, updated_at=now_utc()).execution_options(synchronize_session=False)).rowcount
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.village_id == village_id, OutboxMessage.channel == "webhook",
                                    OutboxMessage.status == "pending")
        .values(status="failed", last_error="the village's webhook is turned off")
        .execution_options(synchronize_session=False))
    return turned_off == 1


def rotate_webhook_secret(village_id):
    """A new signing secret; the old one stops being used at once. Returns the new secret."""
    webhook = village_webhook(village_id)
    if webhook is None:
        raise WebhookError(_("Register an address first."))
    webhook.secret = new_secret()
    db.session.flush()
    return webhook.secret


def delivery_log(village_id, before=None, limit=LOG_PAGE_SIZE):
    """The village's messages (webhook calls and e-mails), newest first, each with its attempts.

    ``before``: a message id, for the next (older) page. Returns ``(messages, next_before)``."""
    stmt = (select(OutboxMessage).where(OutboxMessage.village_id == village_id)
            .options(selectinload(OutboxMessage.attempts_log))
            .order_by(OutboxMessage.id.desc()).limit(limit + 1))
    if before is not None:
        stmt = stmt.where(OutboxMessage.id < before)
    messages = db.session.scalars(stmt).all()
    more = len(messages) > limit
    messages = messages[:limit]
    return messages, (messages[-1].id if more else None)


def resend_delivery(village_id, message_id, now=None):
    """Send a message of the village again, with the same event id, as soon as a worker is free.

    A delivered or failed message goes back to ``pending``; a pending one is moved to now. A
    webhook call goes to the village's current address. Raises DeliveryNotFound for another
    village's message, WebhookError when the webhook is off."""
    now = now or now_utc()
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.village_id == village_id)).one_or_none()
    if message is None:
        raise DeliveryNotFound(message_id)
    values = {"next_attempt_at": now}
    if message.channel == "webhook":
        webhook = village_webhook(village_id)
        if webhook is None or not webhook.active:
            raise WebhookError(_("Turn the webhook on (save its address) before sending again."))
        values["target"] = webhook.url
    stmt = update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.village_id == village_id)
    if message.status != "pending":
        # A message in a worker's hands stays there; only a finished one is put back in line.
        values.update(status="pending", locked_until=None)
        stmt = stmt.where(OutboxMessage.status == message.status)
    db.session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    return message.event_id

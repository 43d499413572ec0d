"""Putting messages in the outbox: webhook calls and e-mails, written in the caller's transaction.

The outbox knows nothing of orders or accounts: the domains build the documents and mails
(``orders/notices.py``, ``accounts/mails.py``, ...) and hand them in here. A message exists
exactly when the change it reports does (same transaction); ``flask outbox work`` delivers it.
"""
import json
import secrets

from sqlalchemy import select

from ..clock import now_utc
from ..extensions import db
from ..mailing import is_wanted
from .models import OutboxMessage, VillageWebhook


def new_event_id():
    return "evt_" + secrets.token_hex(12)


def _add(event_id, kind, channel, target, payload, village_id, village_order_id, partner_id=None):
    db.session.add(OutboxMessage(
        event_id=event_id, kind=kind, village_id=village_id, village_order_id=village_order_id,
        partner_id=partner_id, channel=channel, target=target,
        payload=json.dumps(payload, ensure_ascii=False), next_attempt_at=now_utc()))
    return event_id


def enqueue_mail(to, mail, *, kind, event_id=None, village_id=None, village_order_id=None,
                 optional_mail=True):
    """Queue ``mail`` (a ``mailing.Mail``) to the address ``to``; returns the event id, which is
    also the mail's Message-ID, so a resent mail is one message to the recipient's mail program.

    ``optional_mail`` is the recipient's account's choice (``User.optional_mail``): a mail of an
    optional kind (``mailing.OPTIONAL_KINDS``) to someone who turned those off is not queued,
    and None is returned."""
    if not is_wanted(kind, optional_mail):
        return None
    payload = {"subject": mail.subject, "text": mail.text}
    if mail.html:
        payload["html"] = mail.html
    return _add(event_id or new_event_id(), kind, "email", to, payload, village_id, village_order_id)


def village_webhook_url(village_id):
    """The address of the village's active webhook, or None."""
    return db.session.scalar(select(VillageWebhook.url).where(
        VillageWebhook.village_id == village_id, VillageWebhook.active.is_(True)))


def enqueue_webhook(url, body, *, kind, event_id, village_id=None, village_order_id=None, partner_id=None):
    """Queue a signed POST of ``body`` (a JSON document with ``id`` = ``event_id``) to ``url``:
    a village's webhook (``village_id``) or a partner's (``partner_id``)."""
    return _add(event_id, kind, "webhook", url, body, village_id, village_order_id, partner_id)

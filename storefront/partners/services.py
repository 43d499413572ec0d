"""The office's verbs for partners: create one, set its webhook, and what its pages show (keys,
the audit of reads, the webhook calls). The caller commits."""
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from .. import clock
from ..extensions import db
from ..outbox.models import OutboxMessage
from ..outbox.services import WebhookError, http_allowed, validate_webhook_url
from ..outbox.signing import new_secret
from .models import Partner, PartnerKey, PartnerRead

NAME_MAX = 120
#: How far back the office's page shows a partner's reads.
AUDIT_DAYS = 7
#: How many webhook calls the office's page shows.
DELIVERIES_SHOWN = 20


class PartnerError(Exception):
    """Something the office can fix: a name taken, an address refused."""


def create_partner(name, contact_email="", actor_name=""):
    """A new partner, without keys or webhook yet. Raises PartnerError when the name is taken."""
    name = " ".join((name or "").split())[:NAME_MAX]
    if not name:
        raise PartnerError(_("Enter the partner's name."))
    if db.session.scalar(select(Partner.id).where(func.lower(Partner.name) == name.lower())) is not None:
        raise PartnerError(_("A partner named %(name)s exists already.", name=name))
    partner = Partner(name=name, contact_email=(contact_email or "").strip()[:254], created_by=actor_name[:160])
    db.session.add(partner)
    db.session.flush()
    return partner


def partners_for_office():
    """Every partner with its keys, by name."""
    return db.session.scalars(select(Partner).options(selectinload(Partner.keys)).order_by(Partner.name)).all()


def partner_for_office(partner_id):
    """The partner with its keys (newest first on the page), or None."""
    return db.session.scalars(select(Partner).where(Partner.id == partner_id)
                              .options(selectinload(Partner.keys))
                              .execution_options(populate_existing=True)).one_or_none()


def save_partner_webhook(partner_id, url):
    """Set (or change) the partner's receiver and turn its webhook on; a secret is made the first
    time. Calls still waiting go to the new address. Raises WebhookError for an address the
    village webhooks would refuse too (https only, public), PartnerError for one another
    partner uses."""
    url = validate_webhook_url(url, allow_http=http_allowed())
    taken = db.session.scalar(select(Partner.id).where(Partner.webhook_url == url, Partner.id != partner_id))
    if taken is not None:
        raise PartnerError(_("Another partner already receives at this address."))
    partner = db.session.get(Partner, partner_id, populate_existing=True)
    partner.webhook_url, partner.webhook_active = url, True
    if not partner.webhook_secret:
        partner.webhook_secret = new_secret()
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.partner_id == partner_id, OutboxMessage.status == "pending")
        .values(target=url).execution_options(synchronize_session=False))
    db.session.flush()
    return partner


def rotate_partner_webhook_secret(partner_id):
    """A new signing secret; the old one stops at once (as for the villages). Returns it."""
    partner = db.session.get(Partner, partner_id, populate_existing=True)
    if not partner.webhook_url:
        raise WebhookError(_("Register an address first."))
    partner.webhook_secret = new_secret()
    db.session.flush()
    return partner.webhook_secret


def deactivate_partner_webhook(partner_id):
    """Stop calling the partner; what was waiting is marked failed. True if it was on."""
    turned_off = db.session.execute(
        update(Partner).where(Partner.id == partner_id, Partner.webhook_active.is_(True))
        .values(webhook_active=False).execution_options(synchronize_session=False)).rowcount
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.partner_id == partner_id, OutboxMessage.status == "pending")
        .values(status="failed", last_error="the partner's webhook is turned off")
        .execution_options(synchronize_session=False))
    return turned_off == 1


def partner_webhook_secret(partner_id):
    """The secret that signs the partner's calls, or None while its webhook is off (the outbox
    worker asks, through ``app.extensions["partner_webhook_secret"]``)."""
    return db.session.scalar(select(Partner.webhook_secret).where(
        Partner.id == partner_id, Partner.webhook_active.is_(True)))


def partner_reads(partner_id, now=None, days=AUDIT_DAYS):
    """What the partner's keys read in the last ``days``: rows of (key prefix, endpoint, hour,
    requests, last request), newest hour first."""
    since = (now or clock.now_utc()) - timedelta(days=days)
    return db.session.execute(
        select(PartnerKey.prefix, PartnerRead.endpoint, PartnerRead.hour, PartnerRead.requests, PartnerRead.last_at)
        .join(PartnerKey, PartnerKey.id == PartnerRead.key_id)
        .where(PartnerKey.partner_id == partner_id, PartnerRead.hour >= since)
        .order_by(PartnerRead.hour.desc(), PartnerKey.prefix, PartnerRead.endpoint)).all()


def partner_deliveries(partner_id, limit=DELIVERIES_SHOWN):
    """The partner's latest webhook calls, newest first."""
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.partner_id == partner_id)
                              .order_by(OutboxMessage.id.desc()).limit(limit)).all()

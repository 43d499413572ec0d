"""What the shop's tables say about its health, for ``/metrics`` and ``/healthz``.

Computed from the database when asked, not counted in memory: every gunicorn worker gives the
same figures, and a restart loses nothing. Each figure is one aggregate query:

- the outbox's waiting messages (``pending``: not yet delivered, whether due now or waiting
  for a retry) by channel, and when the oldest of them was written; the ``status`` index finds
  them without reading the delivered ones;
- messages given up (``failed``: 24 hours of failures), which wait for a person to send them again;
- orders placed, by payment method (every order ever placed: a counter);
- payments that failed: Stripe events and Midtrans notifications the shop refused (they named
  an order they do not belong to, see ``payments/``), Stripe's failed asynchronous payments,
  and the payments Midtrans denied or that failed there.

The orders, Stripe and Midtrans counts read their whole table: a few milliseconds for a hundred
thousand rows, once per scrape (docs/observability.md).
"""
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select

from ..clock import as_utc, now_utc
from ..orders.models import Order
from ..outbox.models import CHANNELS, OutboxMessage
from ..payments.methods import METHODS
from ..payments.models import MidtransNotification, StripeEvent

#: Stripe's event for an asynchronous payment (a bank debit) that did not go through.
STRIPE_FAILED = "checkout.session.async_payment_failed"
#: Midtrans' statuses of a payment that did not go through: refused by the bank or its fraud check
#: (``deny``), or failed in processing (``failure``). ``cancel`` is the merchant's act, ``expire``
#: a buyer who did not pay: neither is a failure.
MIDTRANS_FAILED = ("deny", "failure")
PROVIDERS = ("stripe", "midtrans")
#: Why a payment counts as failed: the shop refused it, or the provider reported it failed.
REASONS = ("refused", "failed")


@dataclass
class Backlog:
    """The outbox's waiting messages."""

    waiting: int = 0
    oldest_created_at: object = None

    def oldest_seconds(self, now=None):
        """How long the oldest waiting message has waited (0 when none waits)."""
        if self.oldest_created_at is None:
            return 0.0
        return max(0.0, ((now or now_utc()) - as_utc(self.oldest_created_at)).total_seconds())


def outbox_backlog(connection):
    """The waiting messages on ``connection`` (a session or a connection): one indexed query."""
    waiting, oldest = connection.execute(select(func.count(), func.min(OutboxMessage.created_at))
                                         .where(OutboxMessage.status == "pending")).one()
    return Backlog(waiting, oldest)


@dataclass
class Figures:
    """Everything ``/metrics`` reads from the database, zero where nothing happened yet."""

    waiting: dict = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    failed_messages: dict = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    backlog: Backlog = field(default_factory=Backlog)
    orders: dict = field(default_factory=lambda: {method.code: 0 for method in METHODS})
    payment_failures: dict = field(
        default_factory=lambda: {(provider, reason): 0 for provider in PROVIDERS for reason in REASONS})


def read_figures(connection):
    figures = Figures()
    rows = connection.execute(
        select(OutboxMessage.status, OutboxMessage.channel, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(("pending", "failed")))
        .group_by(OutboxMessage.status, OutboxMessage.channel)).all()
    oldest = []
    for status, channel, count, first in rows:
        if status == "pending":
            figures.waiting[channel] = count
            oldest.append(first)
        else:
            figures.failed_messages[channel] = count
    figures.backlog = Backlog(sum(figures.waiting.values()), min(map(as_utc, oldest), default=None))

    for method, count in connection.execute(
            select(Order.payment_method, func.count()).group_by(Order.payment_method)):
        figures.orders[method] = count

    refused = func.count().filter(StripeEvent.refusal.is_not(None))
    failed = func.count().filter(StripeEvent.refusal.is_(None), StripeEvent.type == STRIPE_FAILED)
    stripe = connection.execute(select(refused, failed)).one()

    note = MidtransNotification
    denied = or_(note.transaction_status.in_(MIDTRANS_FAILED),
                 and_(note.transaction_status == "capture", note.fraud_status == "deny"))
    midtrans = connection.execute(select(func.count().filter(note.refusal.is_not(None)),
                                         func.count().filter(note.refusal.is_(None), denied))).one()
    for provider, counts in (("stripe", stripe), ("midtrans", midtrans)):
        for reason, count in zip(REASONS, counts):
            figures.payment_failures[(provider, reason)] = count
    return figures

"""The Stripe events already handled."""
from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, and_, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..extensions import db


class StripeEvent(db.Model):
    """A Stripe webhook event handled once; its id is the primary key, so a repeat cannot insert.

    A Checkout Session event that names an order it does not belong to (another session, an
    order not paid by card, another amount, currency or mode) is kept with ``refusal`` set and
    the order left alone; when it took money, the office sees it until a person settles it.
    """

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    #: The order the event named: by its Checkout Session, else by ``metadata.order_number`` or
    #: ``client_reference_id`` (which a buyer can set on a Payment Link), matching or not.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    received_at = mapped_column(DateTime(timezone=True), default=now_utc)
    #: The Checkout Session the event is about (checkout.session.* events only).
    session_id: Mapped[str | None] = mapped_column(String(255))
    #: What the session charged, in Stripe's smallest unit (IDR: Rp 1 is 100), and its currency.
    amount_total: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    #: The session's ``payment_status`` at the event: ``paid`` means money was taken.
    payment_status: Mapped[str | None] = mapped_column(String(30))
    #: Why the event was not applied to its order: codes of ``stripe_gateway.REFUSALS``,
    #: space-separated; None when it was applied (or named no order).
    refusal: Mapped[str | None] = mapped_column(String(200))
    #: When, and by whom, the office settled a refused payment (refunded or matched in Stripe).
    settled_at = mapped_column(DateTime(timezone=True))
    settled_by: Mapped[str | None] = mapped_column(String(160))


#: A refused event that took money and that no person has settled yet: the office's list.
#: ``'paid'`` is written into the SQL, not bound, so SQLite can match the partial index.
NEEDS_OFFICE = and_(StripeEvent.refusal.is_not(None), StripeEvent.payment_status == literal_column("'paid'"),
                    StripeEvent.settled_at.is_(None))
Index("ix_stripe_events_needs_office", StripeEvent.received_at,
      sqlite_where=NEEDS_OFFICE, postgresql_where=NEEDS_OFFICE)

"""The Stripe events and Midtrans notifications already handled, each order's Midtrans transaction;
money received against orders; the buyers' transfer receipts."""
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer,
                        String, UniqueConstraint, and_, literal_column, true)
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


class MidtransTransaction(db.Model):
    """The Snap transaction the shop made for an order (one per order: its ``order_id`` at Midtrans
    is the order's number). Its page is sent again to a buyer who comes back to pay while it lasts."""

    __tablename__ = "midtrans_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    #: Snap's token and the address of its payment page.
    snap_token: Mapped[str] = mapped_column(String(255))
    redirect_url: Mapped[str] = mapped_column(String(500))
    #: When the payment expires at Midtrans (the order's stock hold ends then too).
    expires_at = mapped_column(DateTime(timezone=True))
    #: Midtrans' id of the payment, known from the first notification it confirmed; a later one
    #: about another payment of the same order number is refused.
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    #: ``qris``, ``gopay``, ``bank_transfer``, ``echannel``...: whether a refund goes through Midtrans.
    payment_type: Mapped[str | None] = mapped_column(String(40))
    #: The last status Midtrans confirmed (``pending``, ``settlement``, ``expire``...).
    status: Mapped[str | None] = mapped_column(String(20))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)


class MidtransNotification(db.Model):
    """A Midtrans HTTP notification, applied once: ``key`` is the transaction, status and status
    code that Midtrans' status API confirmed (and the amount refunded, for refunds), so a repeat,
    or a late notification whose status was already applied, cannot insert.

    One that names an order it does not belong to (an order not paid through Midtrans, another
    payment, another amount or currency) is kept with ``refusal`` set and the order left alone;
    when it took money, the office sees it until a person settles it.
    """

    __tablename__ = "midtrans_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    received_at = mapped_column(DateTime(timezone=True), default=now_utc)
    #: As the status API answered, not as the notification said.
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    transaction_status: Mapped[str | None] = mapped_column(String(20))
    fraud_status: Mapped[str | None] = mapped_column(String(20))
    status_code: Mapped[str | None] = mapped_column(String(3))
    payment_type: Mapped[str | None] = mapped_column(String(40))
    #: The transaction's gross amount in whole rupiah (None if it was not whole), and its currency.
    gross_amount_idr: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    #: Midtrans reports the money as taken (settlement, or a capture its fraud check accepted).
    took_money: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why it was not applied: codes of ``midtrans_gateway.REFUSALS``, space-separated.
    refusal: Mapped[str | None] = mapped_column(String(200))
    settled_at = mapped_column(DateTime(timezone=True))
    settled_by: Mapped[str | None] = mapped_column(String(160))


#: A refused notification whose money was taken and that no person has settled yet.
MIDTRANS_NEEDS_OFFICE = and_(MidtransNotification.refusal.is_not(None), MidtransNotification.took_money == true(),
                             MidtransNotification.settled_at.is_(None))


#: How money for an order moved: a bank transfer the office saw arrive, a payment Stripe or
#: Midtrans reported, or money the office gave back (a negative amount).
PAYMENT_METHODS = ("bank_transfer", "stripe", "midtrans", "refund")


class PaymentReceived(db.Model):
    """Money that reached the shop for an order, or went back to its buyer. Never updated or
    deleted: a correction is a new row. What an order has received is the sum of its rows.

    A ``refund`` row returns money paid beyond what the order asks (a transfer of too much, a
    payment for an order that had ended); the money of a parcel that does not ship goes back
    through the parcel's own ``refund_state``.
    """

    __tablename__ = "payments_received"
    __table_args__ = (
        CheckConstraint("method IN ('bank_transfer', 'stripe', 'midtrans', 'refund')", name="method_known"),
        CheckConstraint("amount_idr <> 0", name="amount_idr_not_zero"),
        CheckConstraint("method <> 'refund' OR amount_idr < 0", name="refund_is_negative"),
        #: The same bank reference twice for one order is one transfer typed twice.
        UniqueConstraint("order_id", "method", "reference"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Not indexed on its own: the unique constraint's index starts with it.
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    method: Mapped[str] = mapped_column(String(20))
    #: Signed whole rupiah: money in is positive, a refund negative.
    amount_idr: Mapped[int] = mapped_column(BigInteger)
    #: The day the money moved, as the bank statement says it (a date in WITA).
    received_on = mapped_column(Date, nullable=False)
    #: The bank's reference of the transfer, Stripe's PaymentIntent or Midtrans' transaction id;
    #: None when there is none.
    reference: Mapped[str | None] = mapped_column(String(255))
    recorded_by: Mapped[str] = mapped_column(String(160))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)


class TransferReceipt(db.Model):
    """The buyer said "I have transferred", with the photo or PDF of the transfer receipt when
    one was attached: cleaned like a paper's scan and kept outside ``static/``, for the office only."""

    __tablename__ = "transfer_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    #: The stored file's private name under ``SCAN_ROOT``; None when the buyer attached nothing.
    key: Mapped[str | None] = mapped_column(String(60), unique=True)
    content_type: Mapped[str | None] = mapped_column(String(40))
    uploaded_at = mapped_column(DateTime(timezone=True), default=now_utc)

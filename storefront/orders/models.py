"""Orders: Order -> one VillageOrder per village (its own parcel) -> lines that snapshot the goods."""
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..extensions import db
from .tracking import constraint_sql as tracking_constraint

PAYMENT_METHODS = ("bank_transfer", "cod", "stripe", "midtrans")
ORDER_STATUSES = ("awaiting_payment", "paid", "cancelled", "expired")
#: A village's parcel: paid -> accepted -> packed -> shipped -> delivered, or declined/cancelled.
PARCEL_STATUSES = ("awaiting_payment", "paid", "accepted", "packed", "shipped", "delivered",
                   "declined", "cancelled", "expired")
#: What happens to money already taken for a parcel that will not ship.
REFUND_STATES = ("refunded", "refund_failed", "office")


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("subtotal_idr >= 0", name="subtotal_idr_not_negative"),
        CheckConstraint("shipping_idr >= 0", name="shipping_idr_not_negative"),
        CheckConstraint("total_idr >= 0", name="total_idr_not_negative"),
        CheckConstraint("payment_method IN ('bank_transfer', 'cod', 'stripe', 'midtrans')",
                        name="payment_method_known"),
        CheckConstraint("status IN ('awaiting_payment', 'paid', 'cancelled', 'expired')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What people read and say on the phone, e.g. ``NTT-261129-7K3M``.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: From the checkout form: the same checkout submitted twice makes one order.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: SHA-256 of the token in a guest's private order link.
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(20))
    province: Mapped[str] = mapped_column(String(60))
    #: The regency's or city's name, as the list names it (typed freely on older orders).
    regency: Mapped[str] = mapped_column(String(80))
    #: Kemendagri code of the regency or city the parcels' zones were priced from (``53.09``);
    #: NULL on orders placed before it was chosen from the list.
    regency_code: Mapped[str | None] = mapped_column(String(5))
    district: Mapped[str] = mapped_column(String(80))
    village_ward: Mapped[str] = mapped_column(String(80))
    #: One of the regency's postal codes (checked at checkout).
    postal_code: Mapped[str] = mapped_column(String(5))
    street: Mapped[str] = mapped_column(Text)
    payment_method: Mapped[str] = mapped_column(String(20))
    #: ``id`` or ``en``: the language the buyer shopped in; the order's mails are written in it.
    lang: Mapped[str] = mapped_column(String(2), default="id")
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    #: Set when the office must look before anything ships (e.g. papers lapsed during payment).
    hold_reason: Mapped[str | None] = mapped_column(Text)
    subtotal_idr: Mapped[int] = mapped_column(Integer)
    shipping_idr: Mapped[int] = mapped_column(Integer)
    total_idr: Mapped[int] = mapped_column(Integer)
    #: Stock is held for an unpaid order until then.
    expires_at = mapped_column(DateTime(timezone=True))
    paid_at = mapped_column(DateTime(timezone=True))
    #: Set once when the buyer of an unpaid bank transfer was reminded that its time runs out
    #: (``orders.reminders.remind_unpaid_orders``).
    payment_reminded_at = mapped_column(DateTime(timezone=True))
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: Stripe's PaymentIntent of a paid card order: what refunds are made against.
    stripe_payment_intent: Mapped[str | None] = mapped_column(String(255))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc, index=True)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)

    village_orders = relationship("VillageOrder", lazy="raise", back_populates="order",
                                  order_by="VillageOrder.id", cascade="all, delete-orphan")


class VillageOrder(db.Model):
    """One village's part of an order: shipped as its own parcel."""

    __tablename__ = "village_orders"
    __table_args__ = (
        UniqueConstraint("order_id", "village_id"),
        CheckConstraint("subtotal_idr >= 0", name="subtotal_idr_not_negative"),
        CheckConstraint("shipping_idr >= 0", name="shipping_idr_not_negative"),
        CheckConstraint("status IN ('awaiting_payment', 'paid', 'accepted', 'packed', 'shipped', "
                        "'delivered', 'declined', 'cancelled', 'expired')", name="status_known"),
        CheckConstraint("refund_state IS NULL OR refund_state IN ('refunded', 'refund_failed', 'office')",
                        name="refund_state_known"),
        #: A listed courier's parcel has its tracking number; another courier's may; a village
        #: that carried the parcel itself has none (orders/tracking.py).
        CheckConstraint(tracking_constraint(), name="shipped_has_tracking"),
        Index("ix_village_orders_village_id_updated_at", "village_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id", ondelete="SET NULL"), index=True)
    #: Kept in case the village is renamed or removed.
    village_name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    weight_grams: Mapped[int] = mapped_column(Integer)
    chargeable_kg: Mapped[int] = mapped_column(Integer)
    #: ``same_regency``, ``ntt`` or ``indonesia``.
    zone: Mapped[str] = mapped_column(String(20))
    subtotal_idr: Mapped[int] = mapped_column(Integer)
    shipping_idr: Mapped[int] = mapped_column(Integer)
    #: Why it was declined or cancelled, for the buyer and the office.
    status_reason: Mapped[str | None] = mapped_column(Text)
    courier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(60))
    accepted_at = mapped_column(DateTime(timezone=True))
    shipped_at = mapped_column(DateTime(timezone=True))
    delivered_at = mapped_column(DateTime(timezone=True))
    #: Set once when a paid parcel was not accepted in time: the office and the buyer were told.
    overdue_flagged_at = mapped_column(DateTime(timezone=True))
    refund_state: Mapped[str | None] = mapped_column(String(20))
    #: The gateway's reference of the refund it made for this parcel: Stripe's ``re_...`` or
    #: Midtrans' refund key (named for Stripe, the first gateway).
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    #: Every change moves this: feeds are ordered and polled by it.
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)

    order = relationship("Order", back_populates="village_orders", lazy="raise")
    lines = relationship("OrderLine", lazy="raise", back_populates="village_order",
                         order_by="OrderLine.id", cascade="all, delete-orphan")


class OrderLine(db.Model):
    """A line as bought: name, SKU, price and village are copied, not referenced."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price_idr >= 0", name="price_idr_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_order_id: Mapped[int] = mapped_column(
        ForeignKey("village_orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(160))
    village_name: Mapped[str] = mapped_column(String(120))
    price_idr: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    weight_grams: Mapped[int] = mapped_column(Integer)

    village_order = relationship("VillageOrder", back_populates="lines", lazy="raise")

    @property
    def total_idr(self):
        return self.price_idr * self.quantity


class OrderEvent(db.Model):
    """Audit trail of an order and its parcels: who, when, from, to, why."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    village_order_id: Mapped[int | None] = mapped_column(ForeignKey("village_orders.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(160))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)

"""The outbox: what must reach a village (webhook calls, e-mails), written in the same
transaction as the change it reports and delivered later by ``flask outbox work``."""
from sqlalchemy import (Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..extensions import db

CHANNELS = ("webhook", "email")
MESSAGE_STATUSES = ("pending", "delivered", "failed")


class VillageWebhook(db.Model):
    """The HTTPS address a village registered for order events, and the secret that signs them."""

    __tablename__ = "village_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    #: Shared with the village so its receiver can check our signature.
    secret: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)


class OutboxMessage(db.Model):
    """One event for one destination. ``event_id`` is the same for every destination of an
    event and is sent with it, so a receiver can tell a repeat delivery from a new event."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "target"),
        CheckConstraint("channel IN ('webhook', 'email')", name="channel_known"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    #: ``order.paid``, ``order.cancelled``, ``order.status_changed``, ``order.delayed``; a partner's
    #: ``product.listed``, ``product.changed``, ``product.delisted``.
    kind: Mapped[str] = mapped_column(String(40))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id", ondelete="CASCADE"), index=True)
    village_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("village_orders.id", ondelete="SET NULL"), index=True)
    #: A partner marketplace's ``product.*`` webhook call (``storefront/partners``); its signing
    #: secret is the partner's, found through ``app.extensions["partner_webhook_secret"]``.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    #: The webhook URL or the e-mail address, as it was when the event happened.
    target: Mapped[str] = mapped_column(String(500))
    #: JSON: the webhook body, or {"subject", "body"} of an e-mail.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at = mapped_column(DateTime(timezone=True), default=now_utc)
    #: A worker that claimed the message owns it until then; after that another may retry.
    locked_until = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(DateTime(timezone=True), default=now_utc, index=True)
    delivered_at = mapped_column(DateTime(timezone=True))

    attempts_log = relationship("OutboxAttempt", lazy="raise", order_by="OutboxAttempt.id",
                                cascade="all, delete-orphan", passive_deletes=True)


class OutboxAttempt(db.Model):
    """Each try at delivering a message: what the village sees in its delivery log."""

    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    attempted_at = mapped_column(DateTime(timezone=True), default=now_utc)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

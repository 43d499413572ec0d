"""Partners, their API keys and reads, and the snapshot of the catalogue they were told about."""
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..extensions import db


class Partner(db.Model):
    """A marketplace the office lets read the catalogue with keys and be told of its changes."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: As the office names it, e.g. "NTT Mart"; unique.
    name: Mapped[str] = mapped_column(String(120), unique=True)
    #: Whom the office writes to about the partner's keys and deliveries (optional).
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    #: The partner's HTTPS receiver for ``product.*`` events; unique, since an event's outbox
    #: rows are told apart by their address.
    webhook_url: Mapped[str | None] = mapped_column(String(500), unique=True)
    #: Signs every call (``whsec_...``, outbox/signing.py), as for the villages' webhooks.
    webhook_secret: Mapped[str | None] = mapped_column(String(80))
    webhook_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    #: Who in the office created it, as a person reads it.
    created_by: Mapped[str] = mapped_column(String(160), default="")

    keys = relationship("PartnerKey", lazy="raise", order_by="PartnerKey.id", back_populates="partner",
                        cascade="all, delete-orphan", passive_deletes=True)


class PartnerKey(db.Model):
    """One API key. Only its first characters (``prefix``, to find it and to show it) and the
    SHA-256 of the whole key are kept: the key itself is shown once, when it is made."""

    __tablename__ = "partner_keys"
    __table_args__ = (CheckConstraint("requests_per_minute > 0", name="requests_per_minute_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    #: ``mitra_<10 hex>``: the public part of the key, unique; the office and logs name the key by it.
    prefix: Mapped[str] = mapped_column(String(24), unique=True)
    #: Hex SHA-256 of the whole key (a high-entropy secret needs no slow hash).
    key_hash: Mapped[str] = mapped_column(String(64))
    #: How many requests a minute the key may make (a moving window); more get 429.
    requests_per_minute: Mapped[int] = mapped_column(Integer, default=120)
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    created_by: Mapped[str] = mapped_column(String(160), default="")
    #: The last request made with it (whole minutes are enough: written at most once a minute).
    last_used_at = mapped_column(DateTime(timezone=True))
    #: Set when the key was rotated: it keeps working until then, beside its successor.
    expires_at = mapped_column(DateTime(timezone=True))
    #: Set when the office revoked it: it stops at once.
    revoked_at = mapped_column(DateTime(timezone=True))
    #: The key that replaced it when it was rotated.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("partner_keys.id", ondelete="SET NULL"))

    partner = relationship("Partner", lazy="raise", back_populates="keys")


class PartnerRead(db.Model):
    """What a key read: requests per endpoint per hour (UTC), one row each, so the audit grows
    with hours of use, not with requests."""

    __tablename__ = "partner_reads"
    __table_args__ = (UniqueConstraint("key_id", "endpoint", "hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: (The unique constraint's index, which leads with it, finds a key's rows.)
    key_id: Mapped[int] = mapped_column(ForeignKey("partner_keys.id", ondelete="CASCADE"))
    #: ``products``, ``products.csv`` or ``changes`` (``products?changed_since=``).
    endpoint: Mapped[str] = mapped_column(String(40))
    #: The start of the hour (UTC).
    hour = mapped_column(DateTime(timezone=True), nullable=False)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    last_at = mapped_column(DateTime(timezone=True), default=now_utc)


class CatalogueEntry(db.Model):
    """The catalogue as partners were last told of it: one row per product ever listed.

    ``sync.sync_catalogue`` compares the sellable products with these rows; each difference
    moves the row to a new ``seq`` (a number no other change has), and is announced to the
    partners' webhooks in the same transaction. ``changed_since`` reads these rows by ``seq``.
    No foreign key: a deleted product must stay here, as removed, so partners hear of it."""

    __tablename__ = "partner_catalogue"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sku: Mapped[str] = mapped_column(String(40))
    #: False once it stopped being sellable (for whatever reason: partners are told only
    #: "not available").
    listed: Mapped[bool] = mapped_column(Boolean)
    #: SHA-256 of the product's document as the API shows it (price, stock, content, papers).
    content_hash: Mapped[str] = mapped_column(String(64))
    #: The stock in that document: when only stock can have changed, the rows whose stock
    #: differs are all that need a look.
    stock: Mapped[int] = mapped_column(Integer, default=0)
    #: The change's number: every change of any row gets the next one.
    seq = mapped_column(BigInteger, unique=True, nullable=False)
    changed_at = mapped_column(DateTime(timezone=True), index=True, nullable=False)


class CatalogueSyncState(db.Model):
    """One row: where the snapshot stands. Every sync takes it first (an UPDATE), so syncs run one
    at a time and ``seq`` numbers are committed in order."""

    __tablename__ = "partner_catalogue_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The last ``seq`` given out.
    seq = mapped_column(BigInteger, default=0, nullable=False)
    #: ``CatalogueState.version`` and the WITA date the snapshot was last made for: while both
    #: hold, nothing can have changed and the minute's job does nothing.
    synced_version = mapped_column(BigInteger)
    #: ``CatalogueState.listing_version`` then: while it holds, only stock can have changed.
    synced_listing_version = mapped_column(BigInteger)
    synced_on = mapped_column(Date)
    synced_at = mapped_column(DateTime(timezone=True))

"""Legality papers (certificates) and the audit trail of their status."""
from sqlalchemy import (CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, String, Table,
                        Text, UniqueConstraint, and_, or_)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..extensions import db

KINDS = ("nib", "pirt", "bpom_md", "halal", "trademark", "geographical_indication")
STATUSES = ("pending", "verified", "rejected", "revoked")
#: Papers that name the group rather than a product.
VILLAGE_WIDE_KINDS = ("nib", "trademark")
FOOD_PERMIT_KINDS = ("pirt", "bpom_md")
BADGE_KINDS = ("trademark", "geographical_indication")

certificate_products = Table(
    "certificate_products",
    db.metadata,
    Column("certificate_id", ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


def _in(values):
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(KINDS)}", name="kind_known"),
        CheckConstraint(f"status IN {_in(STATUSES)}", name="status_known"),
        CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="expiry_after_issue"),
        # The listing rule asks "does village V hold a current paper of kind K?" per product.
        Index("ix_certificates_village_kind_status", "village_id", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: One of ``KINDS``.
    kind: Mapped[str] = mapped_column(String(30))
    #: Normalised number as printed by the issuer, e.g. ``P-IRT No. 2053374020970-28``.
    number: Mapped[str] = mapped_column(String(60), unique=True)
    #: The holder; a paper of another village never makes a product sellable.
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    issued_on = mapped_column(Date, nullable=False)
    #: Empty for papers without an end (NIB, most halal certificates).
    expires_on = mapped_column(Date, nullable=True)
    #: One of ``STATUSES``; only ``verified`` counts.
    status: Mapped[str] = mapped_column(String(12), default="pending")
    #: The office account that verified it, if any (imports have none).
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Who verified it, as shown to buyers (kept if the account goes).
    verified_by_name: Mapped[str | None] = mapped_column(String(160))
    verified_at = mapped_column(DateTime(timezone=True))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc, index=True)

    village = relationship("Village", lazy="raise")
    products = relationship("Product", secondary=certificate_products, lazy="raise")
    events = relationship(
        "CertificateEvent", order_by="CertificateEvent.id", lazy="raise",
        back_populates="certificate", cascade="all, delete-orphan",
    )
    scans = relationship(
        "CertificateScan", order_by="CertificateScan.id", lazy="raise",
        back_populates="certificate", cascade="all, delete-orphan",
    )

    @hybrid_method
    def is_current(self, on):
        """Whether the paper counts on date ``on`` (WITA): verified, and its expiry empty or not
        before that day. One definition for loaded papers and, below, for SQL (the listing rule),
        so the two cannot disagree (tests/test_listing_rule.py checks every case)."""
        return self.status == "verified" and (self.expires_on is None or self.expires_on >= on)

    @is_current.inplace.expression
    @classmethod
    def _is_current_expression(cls, on):
        return and_(cls.status == "verified", or_(cls.expires_on.is_(None), cls.expires_on >= on))

    def __repr__(self):
        return f"<Certificate {self.kind} {self.number} {self.status}>"


class CertificateEvent(db.Model):
    """One status change: who, when, from, to, why."""

    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    #: Empty when the paper was created.
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The actor as a person reads it ("Dinas ... (catalogue import)").
    actor_name: Mapped[str] = mapped_column(String(160))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)

    certificate = relationship("Certificate", back_populates="events", lazy="raise")


class CertificateScan(db.Model):
    """A scan of the paper as uploaded by the village; the newest one is the one reviewed."""

    __tablename__ = "certificate_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    #: File name in the private scan store (``SCAN_ROOT``), never under ``static/``.
    key: Mapped[str] = mapped_column(String(80), unique=True)
    #: ``application/pdf``, ``image/jpeg`` or ``image/png``, decided from the content.
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    #: The uploader's file name, for display only.
    original_name: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)

    certificate = relationship("Certificate", back_populates="scans", lazy="raise")


class ExpiryReminder(db.Model):
    """One reminder e-mail about a paper's coming expiry; each threshold is sent once."""

    __tablename__ = "expiry_reminders"
    __table_args__ = (UniqueConstraint("certificate_id", "days_before", "expires_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"))
    #: 60, 30 or 7.
    days_before: Mapped[int] = mapped_column(Integer)
    #: The expiry date the reminder was about: a renewed paper gets its reminders again.
    expires_on = mapped_column(Date, nullable=False)
    sent_at = mapped_column(DateTime(timezone=True), default=now_utc)

"""Ledger entries, the running balance they add up to, the shop's fee, bank accounts, payouts."""
from sqlalchemy import (BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..extensions import db

#: Why an entry exists: the issue's four causes.
CAUSES = ("parcel", "refund", "payout", "adjustment")
BUCKETS = ("pending", "available")
BANK_ACCOUNT_STATES = ("unverified", "verified", "rejected")
PAYOUT_STATES = ("sent", "paid", "failed")


class LedgerEntry(db.Model):
    """One movement of a village's money. Never updated or deleted: a mistake is corrected by a
    new entry that names the one it reverses (``reverses_id``) and says why."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("cause IN ('parcel', 'refund', 'payout', 'adjustment')", name="cause_known"),
        CheckConstraint("bucket IN ('pending', 'available')", name="bucket_known"),
        CheckConstraint("amount_idr <> 0", name="amount_idr_not_zero"),
        CheckConstraint("amount_idr = goods_idr + shipping_idr - fee_idr + other_idr", name="parts_add_up"),
        Index("ix_ledger_entries_village_id_id", "village_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    cause: Mapped[str] = mapped_column(String(20))
    bucket: Mapped[str] = mapped_column(String(10))
    #: Signed: money in for the village is positive.
    amount_idr: Mapped[int] = mapped_column(BigInteger)
    #: The parts of a parcel's amount, signed like it (the statement's columns); ``other_idr``
    #: holds what is neither goods, shipping nor fee (payouts, adjustments, cash kept on delivery).
    goods_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    other_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The shop's fee rate the parcel was charged, in basis points (100 = 1 %).
    fee_basis_points: Mapped[int | None] = mapped_column(Integer)
    village_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("village_orders.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"),
                                                    unique=True)
    #: What the statement says, e.g. the order number or the bank's reference.
    memo: Mapped[str] = mapped_column(Text, default="")
    actor_name: Mapped[str] = mapped_column(String(160))
    #: Makes a step happen once whoever triggers it, e.g. ``earned:17``; NULL for free entries.
    once_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    created_at = mapped_column(DateTime(timezone=True), default=now_utc, index=True)


class VillageBalance(db.Model):
    """The sums of a village's entries per bucket, kept by atomic increments in the same
    transaction as each entry: the row a payout locks so that it never pays more than is there."""

    __tablename__ = "village_balances"

    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), primary_key=True)
    pending_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    available_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc)


class FeeRate(db.Model):
    """The shop's fee on the goods of a parcel, as set by the office; the newest row applies.
    Kept as a history so every statement can say which rate a parcel paid."""

    __tablename__ = "fee_rates"
    __table_args__ = (CheckConstraint("basis_points BETWEEN 0 AND 5000", name="basis_points_in_range"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    basis_points: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(160))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)


class BankAccount(db.Model):
    """An account a village asked to be paid into. A change is a new row, verified again; the
    newest row of a village is its account."""

    __tablename__ = "bank_accounts"
    __table_args__ = (
        CheckConstraint("status IN ('unverified', 'verified', 'rejected')", name="status_known"),
        Index("ix_bank_accounts_village_id_id", "village_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    #: The bank's three-digit clearing code (``banks.BANKS``).
    bank_code: Mapped[str] = mapped_column(String(3))
    account_number: Mapped[str] = mapped_column(String(20))
    holder_name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default="unverified")
    submitted_by: Mapped[str] = mapped_column(String(160))
    submitted_at = mapped_column(DateTime(timezone=True), default=now_utc)
    reviewed_by: Mapped[str | None] = mapped_column(String(160))
    reviewed_at = mapped_column(DateTime(timezone=True))
    #: Why the office refused it (the village reads it).
    review_note: Mapped[str | None] = mapped_column(Text)

    @property
    def masked_number(self):
        """The number as shown outside the screens that set and verify it."""
        return "•••• " + self.account_number[-4:]


class PayoutBatch(db.Model):
    """Payouts built together and sent to the bank as one bulk-transfer file."""

    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minimum_idr: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)


class Payout(db.Model):
    """Money sent to one village's verified account. Its debit is booked when the batch is
    built (the money is spoken for); a failed transfer is booked back by a reversing entry."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount_idr > 0", name="amount_idr_positive"),
        CheckConstraint("status IN ('sent', 'paid', 'failed')", name="status_known"),
        UniqueConstraint("batch_id", "village_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id"))
    amount_idr: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="sent")
    bank_reference: Mapped[str | None] = mapped_column(String(60))
    paid_on = mapped_column(Date)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(160))
    closed_at = mapped_column(DateTime(timezone=True))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)

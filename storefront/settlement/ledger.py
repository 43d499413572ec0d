"""Posting to a village's ledger. The caller's unit of work commits.

Every posting inserts one entry and moves the village's balance row by the same amount with an
atomic ``UPDATE ... SET x = x + :amount``, so the balance is always the sum of the entries,
whichever transactions run at once. A step that must happen once per parcel carries a
``once_key`` (unique): a second attempt, from any side, finds it and posts nothing.

A prepaid parcel's life in the ledger:

- paid:       pending   +net      (goods + shipping - fee)
- delivered:  pending   -net, available +net   (earned)
- cancelled before delivery: pending -net (nothing was earned)
- refunded after delivery:   available -net
Cash on delivery: the village takes the cash from the courier, so at delivery it is credited the
net and debited the cash it kept (``other_idr``): what remains is the fee it owes the shop.
"""
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from ..clock import now_utc
from ..extensions import db
from .models import BankAccount, FeeRate, LedgerEntry, Payout, VillageBalance


class LedgerError(ValueError):
    """A posting that cannot be made; the message is for the user."""


@dataclass(frozen=True)
class Parcel:
    """What the ledger needs of a parcel, handed in by the orders package."""

    id: int
    village_id: int
    order_number: str
    goods_idr: int
    shipping_idr: int


def fee_basis_points():
    """The office's current fee rate (0 until it sets one)."""
    rate = db.session.scalar(select(FeeRate.basis_points).order_by(FeeRate.id.desc()).limit(1))
    return rate or 0


def set_fee_basis_points(basis_points, actor_name):
    if not 0 <= basis_points <= 5000:
        raise LedgerError(_("The fee must be between 0 % and 50 %."))
    db.session.add(FeeRate(basis_points=basis_points, set_by=actor_name[:160]))
    db.session.flush()


def fee_of(goods_idr, basis_points):
    """The fee on the goods in whole rupiah, rounded half up (shipping is passed on whole)."""
    return (goods_idr * basis_points + 5000) // 10000


def _ensure_balance(village_id):
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(VillageBalance).values(village_id=village_id, pending_idr=0, available_idr=0,
                                                     updated_at=now_utc())
                       .on_conflict_do_nothing(index_elements=["village_id"]))


def _once_done(once_key):
    return once_key is not None and db.session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.once_key == once_key)) is not None


def post(village_id, *, cause, bucket, actor_name, goods_idr=0, shipping_idr=0, fee_idr=0, other_idr=0,
         fee_basis_points=None, village_order_id=None, payout_id=None, reverses_id=None, memo="",
         once_key=None, require_available=False):
    """Add one entry and move the balance with it; returns the entry, or None when ``once_key``
    was already posted. ``require_available`` refuses (None) a debit that the available balance
    does not cover, in the same statement that takes it."""
    amount = goods_idr + shipping_idr - fee_idr + other_idr
    if amount == 0 or _once_done(once_key):
        return None
    _ensure_balance(village_id)
    column = VillageBalance.pending_idr if bucket == "pending" else VillageBalance.available_idr
    stmt = update(VillageBalance).where(VillageBalance.village_id == village_id)
    if require_available:
        stmt = stmt.where(VillageBalance.available_idr >= -amount)
    moved = db.session.execute(stmt.values({column: column + amount, "updated_at": now_utc()}))
    if moved.rowcount != 1:
        return None
    entry = LedgerEntry(village_id=village_id, cause=cause, bucket=bucket, amount_idr=amount,
                        goods_idr=goods_idr, shipping_idr=shipping_idr, fee_idr=fee_idr, other_idr=other_idr,
                        fee_basis_points=fee_basis_points, village_order_id=village_order_id,
                        payout_id=payout_id, reverses_id=reverses_id, memo=memo[:500],
                        actor_name=actor_name[:160], once_key=once_key)
    db.session.add(entry)
    db.session.flush()
    return entry


def reverse_entry(entry, *, cause, actor_name, memo, once_key, bucket=None, require_available=False):
    """The entry that undoes ``entry`` (every part negated), in ``bucket`` (default: its own)."""
    return post(entry.village_id, cause=cause, bucket=bucket or entry.bucket, actor_name=actor_name,
                goods_idr=-entry.goods_idr, shipping_idr=-entry.shipping_idr, fee_idr=-entry.fee_idr,
                other_idr=-entry.other_idr, fee_basis_points=entry.fee_basis_points,
                village_order_id=entry.village_order_id, payout_id=entry.payout_id, reverses_id=entry.id,
                memo=memo, once_key=once_key, require_available=require_available)


def _entry(once_key):
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.once_key == once_key)).one_or_none()


def parcel_paid(parcel, actor_name):
    """The buyer's money for a prepaid parcel arrived: pending until delivery."""
    rate = fee_basis_points()
    return post(parcel.village_id, cause="parcel", bucket="pending", actor_name=actor_name,
                goods_idr=parcel.goods_idr, shipping_idr=parcel.shipping_idr,
                fee_idr=fee_of(parcel.goods_idr, rate), fee_basis_points=rate, village_order_id=parcel.id,
                memo=parcel.order_number, once_key=f"pending:{parcel.id}")


def parcel_delivered(parcel, actor_name, *, cash_on_delivery=False):
    """The parcel arrived: what was pending is earned. For cash on delivery nothing was pending:
    the village is credited the parcel and debited the cash it collected."""
    if cash_on_delivery:
        rate = fee_basis_points()
        earned = post(parcel.village_id, cause="parcel", bucket="available", actor_name=actor_name,
                      goods_idr=parcel.goods_idr, shipping_idr=parcel.shipping_idr,
                      fee_idr=fee_of(parcel.goods_idr, rate), fee_basis_points=rate,
                      village_order_id=parcel.id, memo=parcel.order_number, once_key=f"earned:{parcel.id}")
        if earned is not None:
            post(parcel.village_id, cause="parcel", bucket="available", actor_name=actor_name,
                 other_idr=-(parcel.goods_idr + parcel.shipping_idr), village_order_id=parcel.id,
                 memo=_("%(number)s: cash collected on delivery", number=parcel.order_number),
                 once_key=f"cod:{parcel.id}")
        return earned
    pending = _entry(f"pending:{parcel.id}")
    if pending is None:
        # Every paid prepaid parcel is booked when paid (and by the migration for older ones):
        # a delivery without it means money the village earned is not on its statement.
        current_app.logger.error("Parcel %s (%s) delivered without its payment in the ledger: the office "
                                 "must book it by an adjustment.", parcel.id, parcel.order_number)
        return None
    if _once_done(f"earned:{parcel.id}") or _once_done(f"unpaid:{parcel.id}"):
        return None
    reverse_entry(pending, cause="parcel", actor_name=actor_name, memo=parcel.order_number,
             once_key=f"released:{parcel.id}")
    return post(parcel.village_id, cause="parcel", bucket="available", actor_name=actor_name,
                goods_idr=pending.goods_idr, shipping_idr=pending.shipping_idr, fee_idr=pending.fee_idr,
                fee_basis_points=pending.fee_basis_points, village_order_id=parcel.id,
                memo=parcel.order_number, once_key=f"earned:{parcel.id}")


def parcel_refunded(parcel, actor_name, reason):
    """The parcel will not bring the village money (declined, cancelled, refunded): whatever it
    had pending or earned is reversed, once, whoever asks."""
    reason = " ".join(reason.split())
    memo = f"{parcel.order_number}: {reason}" if reason else parcel.order_number
    earned = _entry(f"earned:{parcel.id}")
    if earned is not None:
        cash = _entry(f"cod:{parcel.id}")
        reversed_ = reverse_entry(earned, cause="refund", actor_name=actor_name, memo=memo,
                             once_key=f"refund:{parcel.id}")
        if reversed_ is not None and cash is not None:
            # The village gave the cash back to the buyer: the debit for keeping it goes too.
            reverse_entry(cash, cause="refund", actor_name=actor_name, memo=memo, once_key=f"refund-cod:{parcel.id}")
        return reversed_
    pending = _entry(f"pending:{parcel.id}")
    if pending is not None and not _once_done(f"released:{parcel.id}"):
        return reverse_entry(pending, cause="refund", actor_name=actor_name, memo=memo, once_key=f"unpaid:{parcel.id}")
    return None


def adjust(village_id, amount_idr, actor_name, memo, once=None):
    """A correction by the office that is not a parcel, refund or payout; it must say why.
    ``once`` (the form's key) makes a resent form book nothing more: it then returns None."""
    memo = " ".join(memo.split())
    if not memo:
        raise LedgerError(_("Say why, so the village and an auditor can follow it."))
    if amount_idr == 0:
        raise LedgerError(_("An adjustment of Rp 0 changes nothing."))
    return post(village_id, cause="adjustment", bucket="available", other_idr=amount_idr,
                actor_name=actor_name, memo=memo, once_key=f"adjust:{once}" if once else None)


def reverse_adjustment(entry_id, actor_name, reason, village_id=None):
    """Undo an office adjustment made by mistake: a reversing entry, never an edit."""
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.cause != "adjustment" or entry.reverses_id is not None or (
            village_id is not None and entry.village_id != village_id):
        raise LookupError(entry_id)
    reason = " ".join(reason.split())
    if not reason:
        raise LedgerError(_("Say why, so the village and an auditor can follow it."))
    reversed_ = reverse_entry(entry, cause="adjustment", actor_name=actor_name, memo=reason,
                         once_key=f"reversal:{entry.id}")
    if reversed_ is None:
        raise LedgerError(_("This entry was reversed already."))
    return reversed_


def balance(village_id):
    """(pending, available) in rupiah, as the database has them now (the balance row moves by
    UPDATE statements, so an object in the session could be out of date)."""
    row = db.session.execute(select(VillageBalance.pending_idr, VillageBalance.available_idr)
                             .where(VillageBalance.village_id == village_id)).first()
    return (row.pending_idr, row.available_idr) if row else (0, 0)


def entry_sums(village_id=None):
    """(pending, available) as the sum of the entries themselves: what an auditor recomputes."""
    stmt = select(LedgerEntry.bucket, func.coalesce(func.sum(LedgerEntry.amount_idr), 0)).group_by(
        LedgerEntry.bucket)
    if village_id is not None:
        stmt = stmt.where(LedgerEntry.village_id == village_id)
    sums = dict(db.session.execute(stmt).all())
    return int(sums.get("pending", 0)), int(sums.get("available", 0))


def statement(village_id, bucket="available", limit=None):
    """The village's entries of one bucket, newest first, each with the balance after it."""
    running = func.sum(LedgerEntry.amount_idr).over(order_by=LedgerEntry.id).label("balance_after")
    inner = (select(LedgerEntry, running)
             .where(LedgerEntry.village_id == village_id, LedgerEntry.bucket == bucket).subquery())
    entry = aliased(LedgerEntry, inner)
    stmt = select(entry, inner.c.balance_after).order_by(inner.c.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return db.session.execute(stmt).all()


def _running(*, by_bucket=False):
    """The entry's balance after it, within its bucket: a window over the village's entries."""
    return func.sum(LedgerEntry.amount_idr).over(
        partition_by=LedgerEntry.bucket if by_bucket else None, order_by=LedgerEntry.id).label("balance_after")


def _with_context(inner):
    """``inner`` (entries with ``balance_after``) joined to what a statement line names: the
    payout and the account it went to, and the entry that reversed it (None when none did)."""
    entry = aliased(LedgerEntry, inner)
    reversal = aliased(LedgerEntry)
    return (select(entry, inner.c.balance_after, Payout, BankAccount, reversal.id.label("reversed_by"))
                   .outerjoin(Payout, Payout.id == inner.c.payout_id)
                   .outerjoin(BankAccount, BankAccount.id == Payout.bank_account_id)
                   .outerjoin(reversal, reversal.reverses_id == inner.c.id))


def statement_page(village_id, bucket="available", before_id=None, limit=50):
    """One page of a bucket's statement, newest first, in one query: rows of (entry, balance
    after it, its payout or None, that payout's account or None, the id of the entry that
    reversed it or None). ``before_id`` starts the page below that entry; the balance after a
    line is over the whole bucket, whichever page shows it. One row more than ``limit`` comes
    back when older entries exist."""
    inner = (select(LedgerEntry, _running())
             .where(LedgerEntry.village_id == village_id, LedgerEntry.bucket == bucket).subquery())
    stmt = _with_context(inner)
    if before_id is not None:
        stmt = stmt.where(inner.c.id < before_id)
    rows = db.session.execute(stmt.order_by(inner.c.id.desc()).limit(limit + 1)).all()
    return [(row[0], int(row[1]), row[2], row[3], row[4]) for row in rows]


def statement_chunks(village_id, size=500):
    """The whole statement, both buckets, oldest first, in lists of at most ``size`` rows shaped
    like ``statement_page``'s (the balance after each line is its bucket's)."""
    inner = select(LedgerEntry, _running(by_bucket=True)).where(LedgerEntry.village_id == village_id).subquery()
    stmt = _with_context(inner)
    last = 0
    while True:
        rows = db.session.execute(stmt.where(inner.c.id > last).order_by(inner.c.id).limit(size)).all()
        if not rows:
            return
        last = rows[-1][0].id
        yield [(row[0], int(row[1]), row[2], row[3], row[4]) for row in rows]


def open_pending(village_id):
    """The village's parcels paid for and not yet delivered nor refunded: their pending entries,
    newest first."""
    reversal = aliased(LedgerEntry)
    return db.session.scalars(
        select(LedgerEntry).outerjoin(reversal, reversal.reverses_id == LedgerEntry.id)
        .where(LedgerEntry.village_id == village_id, LedgerEntry.bucket == "pending",
               LedgerEntry.cause == "parcel", LedgerEntry.amount_idr > 0, reversal.id.is_(None))
        .order_by(LedgerEntry.id.desc())).all()


def fee_rate_in_force():
    """The newest fee row (rate, who set it, when), or None while the office has set none."""
    return db.session.scalars(select(FeeRate).order_by(FeeRate.id.desc()).limit(1)).first()

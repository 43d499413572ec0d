"""What each line of a village's statement says, in the reader's language: shared by the
village's finance page, the office's view of a village and the statement CSV.

The ledger (``settlement.ledger``) keeps figures and a short memo; the words around them are
made here when the line is shown, so a village reads its statement in its own language whoever
booked the entry.
"""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import format_date, format_decimal, gettext as _, lazy_gettext as _l
from sqlalchemy import select

from .clock import as_utc, to_wita
from .extensions import db
from .numbers import whole_number
from .orders.fulfilment import STATUS_LABELS
from .orders.models import VillageOrder
from .settlement import ledger

#: How a bucket is named on a statement.
BUCKET_LABELS = {"pending": _l("pending money"), "available": _l("available money")}


def fee_percent(basis_points):
    """``250`` -> ``"2,5 %"`` (in the reader's number format)."""
    return format_decimal(Decimal(basis_points or 0) / 100, "#,##0.##") + " %"


@dataclass(frozen=True)
class Line:
    """One entry as a statement shows it. Every part is signed like the amount, and they add
    up to it: goods + shipping + fee (negative when taken) + other."""

    id: int
    created_at: object
    bucket: str
    cause: str
    what: str
    goods_idr: int
    shipping_idr: int
    fee_idr: int
    fee_rate: str
    other_idr: int
    amount_idr: int
    balance_after_idr: int
    #: An office adjustment that may still be reversed (not a reversal, not reversed yet).
    reversible: bool
    reversed: bool
    bank_reference: str
    paid_on: object


def _number_and_reason(memo):
    """The ledger writes ``"<order number>: <reason>"`` (or the number alone) for refunds and
    for the cash kept on delivery."""
    number, _sep, reason = memo.partition(": ")
    return number, reason


def describe(entry, payout, account):
    """The line's "what": the order, the refund and why, the payout and its bank reference, or
    the office's reason for an adjustment."""
    if entry.cause == "parcel":
        if entry.other_idr and not entry.goods_idr:
            return _("Parcel %(number)s: cash you collected on delivery",
                     number=_number_and_reason(entry.memo)[0])
        if entry.bucket == "pending" and entry.reverses_id is not None:
            return _("Parcel %(number)s delivered: moved to available", number=entry.memo)
        if entry.bucket == "pending":
            return _("Parcel %(number)s paid by the buyer", number=entry.memo)
        return _("Parcel %(number)s delivered", number=entry.memo)
    if entry.cause == "refund":
        number, reason = _number_and_reason(entry.memo)
        if reason:
            return _("Refund of parcel %(number)s: %(reason)s", number=number, reason=reason)
        return _("Refund of parcel %(number)s", number=number)
    if entry.cause == "payout" and payout is not None:
        masked = account.masked_number if account is not None else ""
        if entry.reverses_id is not None:
            return _("Payout #%(id)s came back: %(reason)s", id=payout.id, reason=payout.failure_reason or "")
        if payout.status == "paid":
            return _("Payout #%(id)s to %(account)s, bank reference %(reference)s, transferred %(date)s",
                     id=payout.id, account=masked, reference=payout.bank_reference,
                     date=format_date_long(payout.paid_on))
        if payout.status == "failed":
            return _("Payout #%(id)s to %(account)s: the transfer failed", id=payout.id, account=masked)
        return _("Payout #%(id)s to %(account)s: being transferred", id=payout.id, account=masked)
    if entry.cause == "adjustment" and entry.reverses_id is not None:
        return _("Adjustment reversed by the office: %(reason)s", reason=entry.memo)
    if entry.cause == "adjustment":
        return _("Adjustment by the office: %(reason)s", reason=entry.memo)
    return entry.memo


def format_date_long(day):
    return format_date(day, "d MMMM yyyy") if day else ""


def to_lines(rows):
    """``ledger.statement_page`` / ``statement_chunks`` rows as ``Line``s."""
    lines = []
    for entry, balance_after, payout, account, reversed_by in rows:
        lines.append(Line(
            id=entry.id, created_at=entry.created_at, bucket=entry.bucket, cause=entry.cause,
            what=describe(entry, payout, account), goods_idr=entry.goods_idr, shipping_idr=entry.shipping_idr,
            fee_idr=-entry.fee_idr,
            fee_rate=fee_percent(entry.fee_basis_points) if entry.fee_basis_points is not None else "",
            other_idr=entry.other_idr, amount_idr=entry.amount_idr, balance_after_idr=balance_after,
            reversible=entry.cause == "adjustment" and entry.reverses_id is None and reversed_by is None,
            reversed=reversed_by is not None,
            bank_reference=(payout.bank_reference or "") if payout is not None and payout.status == "paid" else "",
            paid_on=payout.paid_on if payout is not None and payout.status == "paid" else None))
    return lines


def csv_header():
    return [_("Date (WITA)"), _("Bucket"), _("Entry"), _("What"), _("Goods"), _("Shipping"), _("Shop fee"),
            _("Fee rate"), _("Other"), _("Amount"), _("Balance after"), _("Bank reference"),
            _("Date of transfer")]


def csv_row(line):
    """Amounts as plain whole rupiah, so a spreadsheet can add them up."""
    return [to_wita(line.created_at).strftime("%Y-%m-%d %H:%M"), str(BUCKET_LABELS[line.bucket]), line.id,
            line.what, line.goods_idr, line.shipping_idr, line.fee_idr, line.fee_rate, line.other_idr,
            line.amount_idr, line.balance_after_idr, line.bank_reference,
            line.paid_on.isoformat() if line.paid_on else ""]

#: How a payout's state is named to the village and the office.
PAYOUT_LABELS = {"sent": _l("being transferred"), "paid": _l("paid"), "failed": _l("failed, money returned")}
#: A bank account's state, and the tag it wears.
ACCOUNT_LABELS = {"unverified": _l("waiting for the office"), "verified": _l("verified"), "rejected": _l("refused")}
ACCOUNT_TAGS = {"unverified": "pending", "verified": "verified", "rejected": "rejected"}

#: Statement lines per page.
PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """A page of a statement: its lines, the entry id the older page starts below (None on the
    last page), and whether this is an older page rather than the newest."""

    lines: list
    older: int | None
    paged: bool


def statement_page(village_id, before_arg, bucket="available"):
    """The page of ``bucket`` that ``?sebelum=`` (as typed) asks for; an odd value means the
    newest page."""
    before = whole_number(before_arg, minimum=1) if before_arg else None
    rows = ledger.statement_page(village_id, bucket, before_id=before, limit=PAGE_SIZE)
    older = rows[PAGE_SIZE - 1][0].id if len(rows) > PAGE_SIZE else None
    return Page(to_lines(rows[:PAGE_SIZE]), older, before is not None)


def pending_parcels(village_id):
    """The parcels paid for and not yet earned: each pending entry with its parcel's status and,
    once shipped, when it counts as delivered if nobody says otherwise. Two queries."""
    entries = ledger.open_pending(village_id)
    ids = [e.village_order_id for e in entries if e.village_order_id is not None]
    parcels = {row.id: row for row in db.session.execute(
        select(VillageOrder.id, VillageOrder.status, VillageOrder.shipped_at)
        .where(VillageOrder.id.in_(ids), VillageOrder.village_id == village_id))} if ids else {}
    days = current_app.config["DELIVERED_AFTER_DAYS"]
    rows = []
    for entry in entries:
        parcel = parcels.get(entry.village_order_id)
        shipped_at = as_utc(parcel.shipped_at) if parcel else None
        rows.append(PendingParcel(entry=entry, parcel_id=parcel.id if parcel else None,
                                  status=STATUS_LABELS.get(parcel.status, parcel.status) if parcel else "",
                                  earned_by=shipped_at + timedelta(days=days) if shipped_at else None))
    return rows


@dataclass(frozen=True)
class PendingParcel:
    entry: object
    parcel_id: int | None
    status: str
    earned_by: object
PAYOUT_TAGS = {"sent": "pending", "paid": "verified", "failed": "rejected"}

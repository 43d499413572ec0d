"""Bank accounts and payouts. The caller's unit of work commits.

A payout books its debit when the office builds the batch (the money is spoken for and cannot
be paid twice), through a conditional update that only takes what the available balance holds.
The office then transfers the money through the bank and marks each payout paid, with the
bank's reference and date, or failed, which books the money back with a reversing entry.
"""
import re
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..clock import now_utc, today_wita
from ..extensions import db
from ..mailing import render_mail
from ..money import format_idr
from ..outbox.queue import enqueue_mail
from ..urls import external_url
from ..villages.models import Village
from .banks import BANKS, bank_name
from .ledger import LedgerError, post, reverse_entry
from .models import BankAccount, LedgerEntry, Payout, PayoutBatch, VillageBalance

ACCOUNT_NUMBER = re.compile(r"^[0-9]{6,20}$")  # ASCII digits: the bank's file takes no others
BANK_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._-]{2,59}$")
#: Villages read their mail in Indonesian.
VILLAGE_LANGUAGE = "id"


def current_account(village_id):
    """The village's newest account (whatever its state), or None."""
    return db.session.scalars(select(BankAccount).where(BankAccount.village_id == village_id)
                              .order_by(BankAccount.id.desc()).limit(1)).first()


def submit_account(village_id, *, bank_code, account_number, holder_name, actor_name):
    """The village names the account it wants to be paid into; the office must verify it."""
    number = re.sub(r"[\s.-]", "", account_number or "")
    holder = " ".join((holder_name or "").split())
    if bank_code not in BANKS:
        raise LedgerError(_("Choose the bank from the list."))
    if not ACCOUNT_NUMBER.match(number):
        raise LedgerError(_("An account number has 6 to 20 digits."))
    if not 2 <= len(holder) <= 120:
        raise LedgerError(_("Enter the account holder's name, as the bank book shows it."))
    current = current_account(village_id)
    if current is not None and (current.bank_code, current.account_number, current.holder_name) == (
            bank_code, number, holder) and current.status != "rejected":
        return current
    account = BankAccount(village_id=village_id, bank_code=bank_code, account_number=number,
                          holder_name=holder, submitted_by=actor_name[:160])
    db.session.add(account)
    db.session.flush()
    return account


def review_account(account_id, *, verified, actor_name, note=""):
    """The office checked the account against the bank book (or a test transfer). Only the
    village's newest account can be reviewed, once."""
    account = db.session.get(BankAccount, account_id)
    if account is None:
        raise LookupError(account_id)
    note = " ".join((note or "").split())
    if not verified and not note:
        raise LedgerError(_("Say why, so the village knows what to fix."))
    latest = current_account(account.village_id)
    moved = db.session.execute(update(BankAccount).where(
        BankAccount.id == account.id, BankAccount.status == "unverified").values(
        status="verified" if verified else "rejected", reviewed_by=actor_name[:160], reviewed_at=now_utc(),
        review_note=note[:500] or None))
    if moved.rowcount != 1 or latest.id != account.id:
        raise LedgerError(_("This account was reviewed already, or the village has changed it since."))
    db.session.refresh(account)
    return account


def accounts_to_review():
    """The newest account of each village, where it still waits for the office."""
    newest = select(func.max(BankAccount.id)).group_by(BankAccount.village_id)
    return db.session.execute(
        select(BankAccount, Village.name).join(Village, Village.id == BankAccount.village_id)
        .where(BankAccount.id.in_(newest), BankAccount.status == "unverified")
        .order_by(BankAccount.submitted_at)).all()


def owed_villages():
    """Every village with money available or pending: balance, its account, and since when the
    oldest unpaid earning waits (the first credit after its last payout)."""
    newest_account = (select(BankAccount.village_id, func.max(BankAccount.id).label("account_id"))
                      .group_by(BankAccount.village_id).subquery())
    last_payout = (select(LedgerEntry.village_id, func.max(LedgerEntry.id).label("entry_id"))
                   .where(LedgerEntry.cause == "payout", LedgerEntry.amount_idr < 0)
                   .group_by(LedgerEntry.village_id).subquery())
    since = (select(LedgerEntry.village_id, func.min(LedgerEntry.created_at).label("since"))
             .outerjoin(last_payout, last_payout.c.village_id == LedgerEntry.village_id)
             .where(LedgerEntry.bucket == "available", LedgerEntry.amount_idr > 0,
                    LedgerEntry.id > func.coalesce(last_payout.c.entry_id, 0))
             .group_by(LedgerEntry.village_id).subquery())
    rows = db.session.execute(
        select(Village, VillageBalance, BankAccount, since.c.since)
        .join(VillageBalance, VillageBalance.village_id == Village.id)
        .outerjoin(newest_account, newest_account.c.village_id == Village.id)
        .outerjoin(BankAccount, BankAccount.id == newest_account.c.account_id)
        .outerjoin(since, since.c.village_id == Village.id)
        .where((VillageBalance.available_idr != 0) | (VillageBalance.pending_idr != 0))
        .order_by(VillageBalance.available_idr.desc(), Village.name)).all()
    return rows


def build_batch(minimum_idr, actor_name):
    """A payout for every village whose available balance reaches ``minimum_idr`` and whose
    newest account is verified. Returns the batch, or raises LedgerError if none qualifies."""
    if minimum_idr < 1:
        raise LedgerError(_("The minimum must be at least Rp 1."))
    newest = select(func.max(BankAccount.id)).group_by(BankAccount.village_id)
    candidates = db.session.execute(
        select(VillageBalance.village_id, BankAccount.id)
        .join(BankAccount, BankAccount.village_id == VillageBalance.village_id)
        .where(BankAccount.id.in_(newest), BankAccount.status == "verified",
               VillageBalance.available_idr >= minimum_idr)
        .order_by(VillageBalance.village_id)).all()
    batch = PayoutBatch(minimum_idr=minimum_idr, created_by=actor_name[:160])
    db.session.add(batch)
    db.session.flush()
    made = 0
    for village_id, account_id in candidates:
        # Read the balance now; the debit below takes it only if it is still all there.
        available = db.session.scalar(select(VillageBalance.available_idr)
                                      .where(VillageBalance.village_id == village_id)
                                      .execution_options(populate_existing=True))
        if available < minimum_idr:
            continue
        payout = Payout(batch_id=batch.id, village_id=village_id, bank_account_id=account_id,
                        amount_idr=available)
        db.session.add(payout)
        db.session.flush()
        entry = post(village_id, cause="payout", bucket="available", other_idr=-available,
                     payout_id=payout.id, actor_name=actor_name, memo=_("Payout %(id)s", id=payout.id),
                     once_key=f"payout:{payout.id}", require_available=True)
        if entry is None:  # a refund took part of it meanwhile: leave it for the next batch
            db.session.delete(payout)
            db.session.flush()
            continue
        made += 1
    if not made:
        raise LedgerError(_("No village with a verified account has at least %(amount)s available.",
                            amount=format_idr(minimum_idr)))
    return batch


def batch_payouts(batch_id):
    return db.session.execute(
        select(Payout, Village.name, BankAccount).join(Village, Village.id == Payout.village_id)
        .join(BankAccount, BankAccount.id == Payout.bank_account_id)
        .where(Payout.batch_id == batch_id).order_by(Village.name)).all()


def recent_batches(limit=20):
    return db.session.execute(
        select(PayoutBatch, func.count(Payout.id), func.coalesce(func.sum(Payout.amount_idr), 0))
        .outerjoin(Payout, Payout.batch_id == PayoutBatch.id)
        .group_by(PayoutBatch.id).order_by(PayoutBatch.id.desc()).limit(limit)).all()


def mark_payout_paid(payout_id, *, bank_reference, paid_on, actor_name):
    """The bank transferred the money: record its reference and date, and tell the village."""
    reference = (bank_reference or "").strip()
    if not BANK_REFERENCE.match(reference):
        raise LedgerError(_("Enter the bank's reference, 3 to 60 letters and digits, as on the bank's record."))
    if not isinstance(paid_on, date) or paid_on > today_wita():
        raise LedgerError(_("Enter the date of the transfer (not in the future)."))
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        raise LookupError(payout_id)
    moved = db.session.execute(update(Payout).where(Payout.id == payout_id, Payout.status == "sent").values(
        status="paid", bank_reference=reference, paid_on=paid_on, closed_by=actor_name[:160],
        closed_at=now_utc()))
    if moved.rowcount != 1:
        raise LedgerError(_("This payout is closed already."))
    db.session.refresh(payout)
    _tell_village(payout)
    return payout


def mark_payout_failed(payout_id, *, reason, actor_name):
    """The transfer failed or came back: the money returns to the village's balance."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise LedgerError(_("Say why the transfer failed."))
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        raise LookupError(payout_id)
    moved = db.session.execute(update(Payout).where(Payout.id == payout_id, Payout.status.in_(("sent", "paid")))
                               .values(status="failed", failure_reason=reason[:500], closed_by=actor_name[:160],
                                       closed_at=now_utc()))
    if moved.rowcount != 1:
        raise LedgerError(_("This payout failed already."))
    debit = db.session.scalars(select(LedgerEntry).where(LedgerEntry.once_key == f"payout:{payout.id}")).one()
    reverse_entry(debit, cause="payout", actor_name=actor_name,
             memo=_("Payout %(id)s returned: %(reason)s", id=payout.id, reason=reason),
             once_key=f"payout-returned:{payout.id}")
    db.session.refresh(payout)
    return payout


def _tell_village(payout):
    village = db.session.get(Village, payout.village_id)
    if not village or not village.email:
        return
    account = db.session.get(BankAccount, payout.bank_account_id)
    mail = render_mail("village_payout_made", VILLAGE_LANGUAGE, village=village, payout=payout,
                       bank=bank_name(account.bank_code), account=account,
                       link=external_url("portal.finance"), office=current_app.config["OFFICE_NAME"])
    enqueue_mail(village.email, mail, kind="payout.paid", village_id=village.id)


def village_payouts(village_id, limit=20):
    """The village's payouts, newest first, each with the account it went to."""
    return db.session.execute(
        select(Payout, BankAccount).join(BankAccount, BankAccount.id == Payout.bank_account_id)
        .where(Payout.village_id == village_id).order_by(Payout.id.desc()).limit(limit)).all()


def next_payout_date(today, weekday):
    """The next payout day (``weekday``, 0 = Monday) from ``today`` on, today included."""
    return today + timedelta(days=(weekday - today.weekday()) % 7)

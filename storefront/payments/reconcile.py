"""Money received against orders: bank transfers the office records from the bank statement,
payments as Stripe or Midtrans reported them, and the excess the office gives back. The caller's unit
of work commits.

What an order has received is the sum of its ``PaymentReceived`` rows (refunds negative):

- a bank-transfer order waiting for its money is paid (``orders.services.mark_paid``) once the
  money received reaches its total;
- below the total it is *underpaid*: it keeps waiting, the buyer is told what arrived and what
  is missing, and it no longer ends on its own when its hold runs out (its ``expires_at`` is
  cleared): the office records the rest, or cancels it and returns what arrived;
- whatever is above what the order asks (its total while it is awaiting payment or paid,
  nothing once it ended) is *to refund*, shown to the office until it records the refund.
"""
import re
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import format_date, gettext as _
from sqlalchemy import case, func, select, update

from ..accounts.services import office_addresses
from ..clock import now_utc, to_wita, today_wita
from ..extensions import db
from ..legality.scans import store_scan
from ..mailing import render_mail
from ..money import format_idr
from ..orders.models import Order, VillageOrder
from ..orders.notices import order_link
from ..orders.services import cancel_unpaid_order, mark_paid
from ..outbox.queue import enqueue_mail, new_event_id
from ..urls import external_url
from .models import PaymentReceived, TransferReceipt

#: A bank's transfer reference as the office types it from the statement.
REFERENCE = re.compile(r"[A-Z0-9]{3,60}")
MAX_AMOUNT_IDR = 10 ** 9
#: How many times a buyer may say "I have transferred" for one order (each may carry a file).
MAX_TRANSFER_REPORTS = 10
#: The office reads its notices in Indonesian.
OFFICE_LANGUAGE = "id"


class PaymentError(ValueError):
    """Money that cannot be recorded as asked; the message is for the user."""


@dataclass(frozen=True)
class Money:
    """An order's money: what it asks, what it received (refunds taken off), and so what is
    missing (underpaid, while it waits) or to give back (paid beyond what it asks)."""

    status: str
    total_idr: int
    received_idr: int

    @property
    def due_idr(self):
        """What the order may keep: its total while it is awaiting payment or paid, nothing once it ended."""
        return self.total_idr if self.status in ("awaiting_payment", "paid") else 0

    @property
    def missing_idr(self):
        return max(0, self.total_idr - self.received_idr) if self.underpaid else 0

    @property
    def excess_idr(self):
        return max(0, self.received_idr - self.due_idr)

    @property
    def underpaid(self):
        return self.status == "awaiting_payment" and 0 < self.received_idr < self.total_idr


@dataclass(frozen=True)
class Recorded:
    """What recording a transfer did: ``paid`` (this transfer completed the order),
    ``underpaid``, or ``excess`` (the order was no longer waiting: the money is to be returned)."""

    outcome: str
    money: Money


def _received(order_id):
    return int(db.session.scalar(select(func.coalesce(func.sum(PaymentReceived.amount_idr), 0))
                                 .where(PaymentReceived.order_id == order_id)))


def received_by_order(order_ids):
    """``{order id: money received}`` for the orders that received any, in one query."""
    if not order_ids:
        return {}
    return {order_id: int(total) for order_id, total in db.session.execute(
        select(PaymentReceived.order_id, func.sum(PaymentReceived.amount_idr))
        .where(PaymentReceived.order_id.in_(order_ids)).group_by(PaymentReceived.order_id))}


def money_of(order, received=None):
    """The order's ``Money``; ``received`` when the caller already summed it (a list page)."""
    return Money(order.status, order.total_idr, _received(order.id) if received is None else received)


def payments_of(order_ids):
    """``{order id: [PaymentReceived, ...]}`` oldest first, in one query."""
    rows = {}
    if order_ids:
        for payment in db.session.scalars(select(PaymentReceived).order_by(PaymentReceived.id)
                                          .where(PaymentReceived.order_id.in_(order_ids))):
            rows.setdefault(payment.order_id, []).append(payment)
    return rows


def receipts_of(order_ids):
    """``{order id: [TransferReceipt, ...]}`` oldest first, in one query."""
    rows = {}
    if order_ids:
        for receipt in db.session.scalars(select(TransferReceipt).order_by(TransferReceipt.id)
                                          .where(TransferReceipt.order_id.in_(order_ids))):
            rows.setdefault(receipt.order_id, []).append(receipt)
    return rows


def _money_rows():
    received = func.sum(PaymentReceived.amount_idr)
    return (select(Order, received).join(PaymentReceived, PaymentReceived.order_id == Order.id)
            .group_by(Order.id))


def orders_underpaid():
    """``(order, received)``: orders waiting for the rest of their money, oldest first."""
    received = func.sum(PaymentReceived.amount_idr)
    return db.session.execute(_money_rows().where(Order.status == "awaiting_payment")
                              .having(received > 0).order_by(Order.created_at, Order.id)).all()


def orders_to_refund():
    """``(order, received)``: orders that received more than they may keep, oldest first."""
    received = func.sum(PaymentReceived.amount_idr)
    due = case((Order.status.in_(("awaiting_payment", "paid")), Order.total_idr), else_=0)
    return db.session.execute(_money_rows().having(received > func.max(due))
                              .order_by(Order.created_at, Order.id)).all()


def delivered_prepaid_parcels(limit=50):
    """``(parcel, order number, payment method)``: the latest delivered parcels that were paid
    before they shipped and not refunded yet, which the office may refund if the buyer complains."""
    return db.session.execute(
        select(VillageOrder, Order.number, Order.payment_method)
        .join(Order, Order.id == VillageOrder.order_id)
        .where(VillageOrder.status == "delivered", VillageOrder.refund_state.is_(None),
               Order.payment_method != "cod")
        .order_by(VillageOrder.delivered_at.desc(), VillageOrder.id.desc()).limit(limit)).all()


# --- checks ----------------------------------------------------------------------------------------

def clean_reference(reference, required=True):
    """The bank's reference in capitals, or PaymentError; None when it may be left out and was."""
    reference = (reference or "").strip().upper()
    if not reference and not required:
        return None
    if not REFERENCE.fullmatch(reference):
        raise PaymentError(_("The bank reference is 3 to 60 letters and digits, without spaces or signs."))
    return reference


def _check_amount(amount_idr):
    whole = isinstance(amount_idr, int) and not isinstance(amount_idr, bool)
    if not whole or not 1 <= amount_idr <= MAX_AMOUNT_IDR:
        raise PaymentError(_("The amount is whole rupiah, from Rp 1 to Rp 1.000.000.000."))


def _check_day(day, order):
    if not isinstance(day, date):
        raise PaymentError(_("Give the date of the transfer."))
    if day > today_wita():
        raise PaymentError(_("The date of the transfer cannot be in the future."))
    placed = to_wita(order.created_at).date()
    if day < placed:
        raise PaymentError(_("The transfer cannot be older than the order, placed on %(date)s.",
                             date=format_date(placed, "d MMMM yyyy")))


def _locked_order(order_id):
    """The order, its row locked until the commit, so that two transfers recorded at once are
    summed one after the other (PostgreSQL; SQLite writes one at a time anyway)."""
    order = db.session.scalars(select(Order).where(Order.id == order_id).with_for_update()
                               .execution_options(populate_existing=True)).one_or_none()
    if order is None:
        raise LookupError(order_id)
    return order


def _add(order, method, amount_idr, day, reference, actor_name):
    db.session.add(PaymentReceived(order_id=order.id, method=method, amount_idr=amount_idr, received_on=day,
                                   reference=reference, recorded_by=actor_name[:160]))
    db.session.flush()


def _seen(order_id, method, reference):
    return db.session.scalar(select(PaymentReceived.id).where(
        PaymentReceived.order_id == order_id, PaymentReceived.method == method,
        PaymentReceived.reference == reference)) is not None


# --- the verbs ---------------------------------------------------------------------------------------

def record_transfer(order_id, amount_idr, received_on, reference, actor_name):
    """The office saw ``amount_idr`` of a buyer's bank transfer arrive on ``received_on`` (a WITA
    date) with the bank's ``reference``. Appends it and settles the order (see the module's
    docstring); returns ``Recorded``. Raises PaymentError (nothing changed) or LookupError."""
    order = _locked_order(order_id)
    if order.payment_method != "bank_transfer":
        raise PaymentError(_("Only bank transfers are recorded here."))
    _check_amount(amount_idr)
    _check_day(received_on, order)
    reference = clean_reference(reference)
    if _seen(order.id, "bank_transfer", reference):
        raise PaymentError(_("A transfer with the reference %(reference)s is already recorded for this "
                             "order.", reference=reference))
    _add(order, "bank_transfer", amount_idr, received_on, reference, actor_name)
    money = money_of(order)
    if order.status != "awaiting_payment":
        return Recorded("excess", money)
    if money.received_idr >= order.total_idr:
        if mark_paid(order.id, actor_name, "bank transfer received"):
            db.session.refresh(order)
            return Recorded("paid", money_of(order))
        db.session.refresh(order)  # it ended a moment ago: what arrived goes back to the buyer
        return Recorded("excess", money_of(order))
    # Underpaid: the order waits for the rest, however long; the office decides, not the clock.
    db.session.execute(update(Order).where(Order.id == order.id, Order.status == "awaiting_payment")
                       .values(expires_at=None, updated_at=now_utc()))
    db.session.refresh(order)
    _tell_buyer_underpaid(order, money, amount_idr, received_on, reference)
    return Recorded("underpaid", money)


def _tell_buyer_underpaid(order, money, amount_idr, received_on, reference):
    cfg = current_app.config
    mail = render_mail("buyer_transfer_underpaid", order.lang, order=order, link=order_link(order),
                       amount=amount_idr, received_on=received_on, reference=reference,
                       received=money.received_idr, missing=money.missing_idr,
                       bank={"name": cfg["BANK_NAME"], "account": cfg["BANK_ACCOUNT_NUMBER"],
                             "holder": cfg["BANK_ACCOUNT_HOLDER"]})
    enqueue_mail(order.email, mail, kind="order.underpaid")


def record_refund(order_id, amount_idr, refunded_on, reference, actor_name):
    """The office gave back ``amount_idr`` of what the order received beyond what it may keep
    (a negative ``refund`` row). Raises PaymentError when it is more than that."""
    order = _locked_order(order_id)
    _check_amount(amount_idr)
    _check_day(refunded_on, order)
    reference = clean_reference(reference, required=False)
    excess = money_of(order).excess_idr
    if amount_idr > excess:
        raise PaymentError(_("Only %(excess)s is to be returned, not more.", excess=format_idr(excess)))
    if reference is not None and _seen(order.id, "refund", reference):
        raise PaymentError(_("A refund with the reference %(reference)s is already recorded for this order.",
                             reference=reference))
    _add(order, "refund", -amount_idr, refunded_on, reference, actor_name)
    return money_of(order)


def record_card_payment(order, amount_total, reference, actor_name="Stripe"):
    """What Stripe reported it took for the order (``amount_total`` in hundredths of a rupiah),
    once per PaymentIntent (or Checkout Session). Called with the event the gateway accepted."""
    return record_gateway_payment(order, "stripe", amount_total // 100, reference, actor_name)


def record_gateway_payment(order, method, amount_idr, reference, actor_name):
    """What a gateway (``method``: ``stripe``, ``midtrans``) reported it took for the order, in
    whole rupiah, once per ``reference`` (its id of the payment). Called with a report the
    gateway module accepted."""
    if amount_idr <= 0 or _seen(order.id, method, reference):
        return None
    _add(order, method, amount_idr, today_wita(), reference, actor_name)
    return amount_idr


def cancel_underpaid_order(order_id, reason, actor_name):
    """The rest of an underpaid order's money did not come: it ends, its stock returns, and what
    arrived is to be returned to the buyer, who is told why. Raises PaymentError."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise PaymentError(_("Say why, so the buyer knows."))
    order = _locked_order(order_id)
    money = money_of(order)
    if not money.underpaid:
        raise PaymentError(_("Only an order waiting for the rest of its money can be cancelled here."))
    if not cancel_unpaid_order(order.id, actor_name, reason[:500]):
        raise PaymentError(_("The order is no longer awaiting payment."))
    db.session.refresh(order)
    mail = render_mail("buyer_order_cancelled_underpaid", order.lang, order=order, link=order_link(order),
                       reason=reason, received=money.received_idr)
    enqueue_mail(order.email, mail, kind="order.cancelled")
    return money_of(order)


def report_transfer(order_id, scan=None):
    """The buyer says they transferred, with the cleaned receipt (``legality.scans.CleanScan``)
    if they attached one: kept privately, and the office is told through the outbox."""
    order = _locked_order(order_id)
    if order.payment_method != "bank_transfer" or order.status != "awaiting_payment":
        raise PaymentError(_("This order is not waiting for a bank transfer."))
    count = db.session.scalar(select(func.count()).select_from(TransferReceipt)
                              .where(TransferReceipt.order_id == order.id))
    if count >= MAX_TRANSFER_REPORTS:
        raise PaymentError(_("You have told us %(num)d times already; the office will check the bank "
                             "statement. Write to the office if the order is still not paid.",
                             num=MAX_TRANSFER_REPORTS))
    receipt = TransferReceipt(order_id=order.id, key=store_scan(scan) if scan else None,
                              content_type=scan.content_type if scan else None)
    db.session.add(receipt)
    db.session.flush()
    mail = render_mail("office_transfer_reported", OFFICE_LANGUAGE, order=order, receipt=receipt,
                       money=money_of(order), link=external_url("office.order", number=order.number))
    event_id = new_event_id()
    for address in office_addresses():
        enqueue_mail(address, mail, kind="order.transfer_reported", event_id=event_id)
    return receipt

"""Order verbs after checkout: mark paid, expire or cancel (releasing stock), hold for the office.

Status moves are conditional UPDATEs (``... WHERE status = 'awaiting_payment'``), so two
workers, webhooks or clicks racing each other change an order once, and stock is released once.
"""
from sqlalchemy import select, update

from ..clock import now_utc
from ..extensions import db
from ..products.models import Product
from .models import Order, OrderEvent, OrderLine, VillageOrder
from .notices import record_parcel_event, tell_buyer_order_expired, tell_buyer_payment_received
from .settlement import book_paid


class OrderError(ValueError):
    """An order action that cannot be carried out; the message is for the user, and ``field``
    names the form field it is about when there is one (the form shows it there)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def _move(order_id, from_status, to_status, actor_name, reason="", where=(), **values):
    """Move an order from one status to another if it is still there (and ``where`` still holds);
    True when it moved."""
    stmt = update(Order).where(Order.id == order_id, Order.status == from_status, *where)
    if where:  # the ORM cannot compare times in Python (SQLite's are naive): the database tells
        stmt = stmt.execution_options(synchronize_session="fetch")
    result = db.session.execute(stmt.values(status=to_status, updated_at=now_utc(), **values))
    if result.rowcount != 1:
        return False
    db.session.execute(
        update(VillageOrder).where(VillageOrder.order_id == order_id, VillageOrder.status == from_status)
        .values(status=to_status, updated_at=now_utc()))
    db.session.add(OrderEvent(order_id=order_id, from_status=from_status, to_status=to_status,
                              actor_name=actor_name[:160], reason=reason))
    return True


def release_stock(order_id):
    """Give back what an order held."""
    release_lines(
        select(OrderLine.product_id, OrderLine.quantity)
        .join(VillageOrder, VillageOrder.id == OrderLine.village_order_id)
        .where(VillageOrder.order_id == order_id))


def release_lines(lines):
    """Give back the stock of ``lines`` (a select of product id and quantity): atomic
    increments, in product order so that concurrent releases cannot deadlock; products that
    are gone are skipped."""
    rows = db.session.execute(
        lines.where(OrderLine.product_id.is_not(None)).order_by(OrderLine.product_id)).all()
    for product_id, quantity in rows:
        db.session.execute(update(Product).where(Product.id == product_id)
                           .values(stock=Product.stock + quantity))


def mark_paid(order_id, actor_name, reason="", hold_reason=None):
    """Record payment once, tell the buyer, and (unless the order is held) the villages; True
    if this call did it."""
    values = {"paid_at": now_utc()}
    if hold_reason:
        values["hold_reason"] = hold_reason
    moved = _move(order_id, "awaiting_payment", "paid", actor_name, reason, **values)
    db.session.flush()
    if moved:
        book_paid(order_id, actor_name)
        tell_buyer_payment_received(db.session.get(Order, order_id))
        if not hold_reason:
            announce_to_villages(order_id)
    return moved


def announce_to_villages(order_id):
    """Each village learns of its parcel (e-mail, webhook): when the order is paid (or the
    office released its hold), or at once for cash on delivery. Part of the caller's transaction."""
    for parcel_id in db.session.scalars(select(VillageOrder.id).where(
            VillageOrder.order_id == order_id).order_by(VillageOrder.id)):
        record_parcel_event("order.paid", parcel_id)


def expire_order(order_id, actor_name, reason="", hold_ended_before=None):
    """An unpaid order ran out of time: it ends and its stock returns. True if this call did it.
    With ``hold_ended_before``, only if its hold still ends before then (see ``expire_unpaid_orders``)."""
    where = () if hold_ended_before is None else (Order.expires_at < hold_ended_before,)
    moved = _move(order_id, "awaiting_payment", "expired", actor_name, reason, where=where)
    if moved:
        release_stock(order_id)
    db.session.flush()
    return moved


def cancel_unpaid_order(order_id, actor_name, reason=""):
    """Payment failed or the buyer gave up: the order ends and its stock returns."""
    moved = _move(order_id, "awaiting_payment", "cancelled", actor_name, reason)
    if moved:
        release_stock(order_id)
    db.session.flush()
    return moved


def expire_unpaid_orders(now=None):
    """End every unpaid order whose hold ran out and tell its buyer; returns their numbers. Each
    end is a conditional move, so a second run at once (another worker) ends (and mails) each
    order once.

    An order some of whose money arrived (underpaid) has no hold any more
    (``payments.reconcile.record_transfer`` clears it): it is left to the office, which records
    the rest or cancels it. The move checks the hold again, so a transfer recorded while this
    runs keeps its order."""
    now = now or now_utc()
    due = db.session.execute(
        select(Order.id, Order.number).where(
            Order.status == "awaiting_payment", Order.expires_at.is_not(None), Order.expires_at < now)
    ).all()
    ended = []
    for order_id, number in due:
        if expire_order(order_id, "system", "payment time ran out", hold_ended_before=now):
            tell_buyer_order_expired(db.session.get(Order, order_id))
            ended.append(number)
    return ended


def release_hold(order_id, actor_name, note=""):
    """The office checked a held order: the villages may now ship it. True if it was held."""
    released = db.session.execute(update(Order).where(
        Order.id == order_id, Order.hold_reason.is_not(None)).values(hold_reason=None, updated_at=now_utc()))
    if released.rowcount != 1:
        return False
    db.session.add(OrderEvent(order_id=order_id, from_status="held", to_status="released",
                              actor_name=actor_name[:160], reason=note))
    # The parcels reach the villages now: their feeds' "since" must see them as changed.
    db.session.execute(update(VillageOrder).where(VillageOrder.order_id == order_id).values(updated_at=now_utc()))
    order = db.session.get(Order, order_id, populate_existing=True)
    if order.status == "paid" or order.payment_method == "cod":
        announce_to_villages(order_id)
    return True


def mark_refunded(village_order_id, actor_name):
    """The office gave a parcel's money back by hand. True if the parcel was waiting for it."""
    parcel = db.session.get(VillageOrder, village_order_id)
    if parcel is None:
        return False
    done = db.session.execute(update(VillageOrder).where(
        VillageOrder.id == village_order_id, VillageOrder.refund_state.in_(("office", "refund_failed")))
        .values(refund_state="refunded", updated_at=now_utc()))
    if done.rowcount != 1:
        return False
    db.session.add(OrderEvent(order_id=parcel.order_id, village_order_id=village_order_id,
                              from_status=parcel.status, to_status="refunded",
                              actor_name=actor_name[:160], reason="money returned by the office"))
    return True

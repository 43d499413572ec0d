"""What the office reads about orders: what needs a person, and what waits for a transfer."""
from sqlalchemy import or_, select

from ..extensions import db
from .models import Order, VillageOrder


def held_orders():
    """Paid orders the office holds (a product lost its papers, money after the end), oldest first."""
    return db.session.scalars(select(Order).where(Order.hold_reason.is_not(None))
                              .order_by(Order.created_at)).all()


def parcels_needing_office():
    """``(parcel, order number)``: money to return by hand, and parcels not accepted in time."""
    return db.session.execute(
        select(VillageOrder, Order.number).join(Order, Order.id == VillageOrder.order_id)
        .where(or_(VillageOrder.refund_state.in_(("office", "refund_failed")),
                   VillageOrder.overdue_flagged_at.is_not(None)
                   & VillageOrder.status.in_(("paid", "awaiting_payment"))))
        .order_by(VillageOrder.id)).all()


def orders_awaiting_payment():
    return db.session.scalars(
        select(Order).where(Order.status == "awaiting_payment").order_by(Order.created_at)).all()


def recent_orders(limit=50):
    return db.session.scalars(
        select(Order).where(Order.status != "awaiting_payment")
        .order_by(Order.created_at.desc()).limit(limit)).all()

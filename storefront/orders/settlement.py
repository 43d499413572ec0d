"""What a parcel's moves mean for its village's money: the orders package tells the ledger
(``settlement.ledger``) in the same transaction as the move, in plain figures."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ..clock import now_utc
from ..extensions import db
from ..settlement import ledger
from .models import Order, VillageOrder


def _parcel(village_order, order):
    return ledger.Parcel(id=village_order.id, village_id=village_order.village_id, order_number=order.number,
                         goods_idr=village_order.subtotal_idr, shipping_idr=village_order.shipping_idr)


def book_paid(order_id, actor_name):
    """The buyer paid: each village's parcel is pending until delivery. In village order, so
    that two transactions touching the same villages' balances take their locks in one order."""
    order = db.session.get(Order, order_id)
    if order.payment_method == "cod":
        return
    parcels = db.session.scalars(select(VillageOrder).where(
        VillageOrder.order_id == order_id, VillageOrder.village_id.is_not(None))
        .order_by(VillageOrder.village_id)).all()
    for parcel in parcels:
        ledger.parcel_paid(_parcel(parcel, order), actor_name)


def book_delivered(village_order, order, actor_name):
    if village_order.village_id is not None:
        ledger.parcel_delivered(_parcel(village_order, order), actor_name,
                                cash_on_delivery=order.payment_method == "cod")


def book_refund(village_order, order, actor_name, reason):
    if village_order.village_id is not None:
        ledger.parcel_refunded(_parcel(village_order, order), actor_name, reason)


def delivery_deadline(now=None):
    """A shipped parcel the buyer has not confirmed counts as delivered after this moment."""
    return (now or now_utc()) - timedelta(days=current_app.config["DELIVERED_AFTER_DAYS"])

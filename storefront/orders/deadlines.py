"""The acknowledgement deadline: a paid parcel a village has not accepted in time is flagged
for the office, and the buyer is told of the delay (once per parcel)."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from ..clock import now_utc
from ..extensions import db
from .models import Order, OrderEvent, VillageOrder
from .notices import tell_buyer_parcel_delayed, tell_office_parcels_overdue


def flag_overdue_parcels(now=None):
    """Flag every paid parcel not accepted within ``ACK_DEADLINE_HOURS``, tell its buyer, and
    tell the office in one mail of the parcels this run flagged; returns ``(order number,
    village name)`` of each parcel flagged by this call. The caller commits."""
    now = now or now_utc()
    deadline = now - timedelta(hours=current_app.config["ACK_DEADLINE_HOURS"])
    due = db.session.execute(
        select(VillageOrder.id, Order.id, Order.number, VillageOrder.village_name)
        .join(Order, Order.id == VillageOrder.order_id)
        .where(VillageOrder.overdue_flagged_at.is_(None), Order.hold_reason.is_(None),
               or_(VillageOrder.status == "paid",
                   (VillageOrder.status == "awaiting_payment") & (Order.payment_method == "cod")),
               func.coalesce(Order.paid_at, Order.created_at) < deadline)
        .order_by(VillageOrder.id)).all()
    flagged = []
    for parcel_id, order_id, number, village in due:
        # Conditional, so two runs at once flag (and mail) a parcel once.
        moved = db.session.execute(update(VillageOrder).where(
            VillageOrder.id == parcel_id, VillageOrder.overdue_flagged_at.is_(None))
            .values(overdue_flagged_at=now))
        if moved.rowcount != 1:
            continue
        hours = current_app.config["ACK_DEADLINE_HOURS"]
        db.session.add(OrderEvent(order_id=order_id, village_order_id=parcel_id, from_status="paid",
                                  to_status="overdue", actor_name="system",
                                  reason=f"not accepted within {hours} hours"))
        tell_buyer_parcel_delayed(db.session.get(Order, order_id), db.session.get(VillageOrder, parcel_id))
        flagged.append((number, village))
    if flagged:
        tell_office_parcels_overdue(flagged, current_app.config["ACK_DEADLINE_HOURS"])
    db.session.flush()
    return flagged

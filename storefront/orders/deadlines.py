"""The acknowledgement deadline: a paid parcel a village has not accepted in time is flagged
for the office, and the buyer is told of the delay (once per parcel)."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from ..clock import now_utc
from ..extensions import db
from ..outbox.events import queue_mail
from ..urls import external_url
from .models import Order, OrderEvent, VillageOrder
from .services import order_link_token


def flag_overdue_parcels(now=None):
    """Flag every paid parcel not accepted within ``ACK_DEADLINE_HOURS``; returns
    ``(order number, village name)`` of each parcel flagged by this call."""
    now = now or now_utc()
    deadline = now - timedelta(hours=current_app.config["ACK_DEADLINE_HOURS"])
    due = db.session.execute(
        select(VillageOrder.id, Order.id, Order.number, Order.idempotency_key, Order.email, Order.name,
               VillageOrder.village_name)
        .join(Order, Order.id == VillageOrder.order_id)
        .where(VillageOrder.overdue_flagged_at.is_(None), Order.hold_reason.is_(None),
               or_(VillageOrder.status == "paid",
                   (VillageOrder.status == "awaiting_payment") & (Order.payment_method == "cod")),
               func.coalesce(Order.paid_at, Order.created_at) < deadline)
        .order_by(VillageOrder.id)).all()
    flagged = []
    for parcel_id, order_id, number, key, email, name, village in due:
        # Conditional, so two runs at once flag (and mail) a parcel once.
        moved = db.session.execute(update(VillageOrder).where(
            VillageOrder.id == parcel_id, VillageOrder.overdue_flagged_at.is_(None))
            .values(overdue_flagged_at=now))
        if moved.rowcount != 1:
            db.session.rollback()
            continue
        hours = current_app.config["ACK_DEADLINE_HOURS"]
        db.session.add(OrderEvent(order_id=order_id, village_order_id=parcel_id, from_status="paid",
                                  to_status="overdue", actor_name="system",
                                  reason=f"not accepted within {hours} hours"))
        queue_mail("order.delayed", email, f"Pesanan {number}: paket dari {village} tertunda",
                   f"Halo {name},\n\n{village} belum mengonfirmasi paket Anda untuk pesanan {number}. "
                   "Kantor dinas provinsi sedang menindaklanjutinya dengan desa, dan akan menghubungi "
                   "Anda bila paket tidak dapat dikirim (uang Anda akan dikembalikan).\n\n"
                   f"Status pesanan: {external_url('checkout.order', number=number, kunci=order_link_token(key))}\n",
                   village_order_id=parcel_id)
        db.session.commit()
        flagged.append((number, village))
    return flagged

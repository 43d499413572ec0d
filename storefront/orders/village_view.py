"""What a village sees of orders: its own parcels, once there is something to do.

The one place that decides which parcels reach a village (portal, feeds, exports). A parcel
waiting for a card or transfer payment is not the village's business yet; cash on delivery
is, from the start. An order the office holds (papers lapsed while the buyer paid) reaches the
villages only when the office releases it.
"""
from sqlalchemy import or_, select

from .models import Order, VillageOrder


def village_parcels_query(village_id):
    """A select of the village's visible parcels (VillageOrder joined to Order); callers add
    filters, ordering and loading options."""
    return (select(VillageOrder).join(Order, Order.id == VillageOrder.order_id)
            .where(VillageOrder.village_id == village_id, Order.hold_reason.is_(None),
                   or_(VillageOrder.status != "awaiting_payment", Order.payment_method == "cod")))

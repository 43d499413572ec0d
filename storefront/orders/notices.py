"""What an order tells the people it concerns: each village of its own parcel (a signed webhook
call and an e-mail), and the buyer (confirmation, payment received, a delay). Everything is put
in the outbox in the caller's transaction, so it leaves exactly when the change it reports is
committed.
"""
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..clock import now_utc, to_wita
from ..extensions import db
from ..mailing import render_mail
from ..outbox.queue import enqueue_mail, enqueue_webhook, new_event_id, village_webhook_url
from ..urls import external_url
from ..villages.models import Village
from .links import order_link_token
from .models import Order, OrderLine, VillageOrder

EVENT_KINDS = ("order.paid", "order.cancelled", "order.status_changed")
#: Events a village is e-mailed about (its own status changes are not mailed back to it), and
#: the template of each mail.
VILLAGE_MAILS = {"order.paid": "village_parcel_paid", "order.cancelled": "village_parcel_cancelled"}
#: Villages read their mail in Indonesian; so does the office.
VILLAGE_LANGUAGE = "id"


def parcel_document(village_order, order, lines):
    """What a village may know of an order: its own parcel, lines and the shipping address.
    Never payment details, never other villages' lines."""
    return {
        "order_number": order.number,
        "parcel_id": village_order.id,
        "status": village_order.status,
        "status_reason": village_order.status_reason,
        "payment_method": "cod" if order.payment_method == "cod" else "prepaid",
        "created_at": _iso(village_order.created_at),
        "updated_at": _iso(village_order.updated_at),
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                   "price_idr": line.price_idr, "total_idr": line.total_idr} for line in lines],
        "subtotal_idr": village_order.subtotal_idr,
        "shipping_idr": village_order.shipping_idr,
        "weight_grams": village_order.weight_grams,
        "ship_to": {"name": order.name, "phone": order.phone, "street": order.street,
                    "village_ward": order.village_ward, "district": order.district,
                    "regency": order.regency, "province": order.province,
                    "postal_code": order.postal_code},
        "courier": village_order.courier,
        "tracking_number": village_order.tracking_number,
        "url": external_url("portal.order", village_order_id=village_order.id),
    }


def _iso(moment):
    return to_wita(moment).isoformat() if moment else None


def record_parcel_event(kind, village_order_id):
    """Queue ``kind`` for one parcel: a signed webhook call if the village registered one, and
    an e-mail to the village for new paid orders and cancellations. Returns the event id."""
    village_order = db.session.get(VillageOrder, village_order_id, populate_existing=True)
    order = db.session.get(Order, village_order.order_id)
    village = db.session.get(Village, village_order.village_id) if village_order.village_id else None
    if village is None:
        return None
    lines = db.session.scalars(select(OrderLine).where(OrderLine.village_order_id == village_order.id)
                               .order_by(OrderLine.id)).all()
    event_id = new_event_id()
    document = parcel_document(village_order, order, lines)
    url = village_webhook_url(village.id)
    if url is not None:
        body = {"id": event_id, "type": kind, "created": int(now_utc().timestamp()), "data": document}
        enqueue_webhook(url, body, kind=kind, event_id=event_id, village_id=village.id,
                        village_order_id=village_order.id)
    if kind in VILLAGE_MAILS and village.email:
        mail = render_mail(VILLAGE_MAILS[kind], VILLAGE_LANGUAGE, order=order, parcel=village_order,
                           lines=lines, link=document["url"], office=current_app.config["OFFICE_NAME"])
        enqueue_mail(village.email, mail, kind=kind, event_id=event_id, village_id=village.id,
                     village_order_id=village_order.id)
    return event_id


# --- the buyer ---------------------------------------------------------------------------------------

def order_link(order):
    """The buyer's private link to the order (it works without signing in)."""
    return external_url("checkout.order", number=order.number, kunci=order_link_token(order.idempotency_key))


def _parcels(order):
    return db.session.scalars(
        select(VillageOrder).where(VillageOrder.order_id == order.id)
        .options(selectinload(VillageOrder.lines)).order_by(VillageOrder.id)).all()


def _tell_buyer(order, template, kind, village_order_id=None, **context):
    mail = render_mail(template, order.lang, order=order, link=order_link(order), **context)
    return enqueue_mail(order.email, mail, kind=kind, village_order_id=village_order_id)


def tell_buyer_order_placed(order):
    """The confirmation: what was ordered from whom, the total, how and until when to pay."""
    cfg = current_app.config
    return _tell_buyer(order, "buyer_order_placed", "order.placed", parcels=_parcels(order),
                       pay_until=to_wita(order.expires_at) if order.expires_at else None,
                       bank={"name": cfg["BANK_NAME"], "account": cfg["BANK_ACCOUNT_NUMBER"],
                             "holder": cfg["BANK_ACCOUNT_HOLDER"]})


def tell_buyer_payment_received(order):
    """The payment arrived: each village will now send its own parcel."""
    return _tell_buyer(order, "buyer_payment_received", "order.payment_received", parcels=_parcels(order))


def tell_buyer_parcel_delayed(order, village_order):
    """A village has not accepted its parcel in time: the office is on it."""
    return _tell_buyer(order, "buyer_parcel_delayed", "order.delayed", village_order_id=village_order.id,
                       parcel=village_order)

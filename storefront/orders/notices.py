"""What an order tells the people it concerns: each village of its own parcel (a signed webhook
call and an e-mail; a delivery it did not record itself), and the buyer (confirmation, payment
received, a delay, the payment deadline, each parcel's moves). Everything is put
in the outbox in the caller's transaction, so it leaves exactly when the change it reports is
committed.
"""
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.services import office_addresses
from ..clock import now_utc, to_wita
from ..extensions import db
from ..mailing import render_mail
from ..outbox.queue import enqueue_mail, enqueue_webhook, new_event_id, village_webhook_url
from ..urls import external_url
from ..villages.models import Village
from .links import order_link_token
from .models import Order, OrderLine, VillageOrder
from .status import state_of
from .tracking import VILLAGE_DELIVERY, courier_label, opens_parcel, tracking_url

EVENT_KINDS = ("order.paid", "order.cancelled", "order.status_changed")
#: Events a village is e-mailed about (its own status changes are not mailed back to it), and
#: the template of each mail.
VILLAGE_MAILS = {"order.paid": "village_parcel_paid", "order.cancelled": "village_parcel_cancelled"}
#: Villages read their mail in Indonesian; so does the office.
VILLAGE_LANGUAGE = OFFICE_LANGUAGE = "id"


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


def tell_buyer_payment_due(order):
    """An unpaid bank transfer's time runs out soon: what to pay, where, and until when."""
    cfg = current_app.config
    return _tell_buyer(order, "buyer_payment_reminder", "order.payment_reminder",
                       bank={"name": cfg["BANK_NAME"], "account": cfg["BANK_ACCOUNT_NUMBER"],
                             "holder": cfg["BANK_ACCOUNT_HOLDER"]})


def tell_buyer_order_expired(order):
    """No payment came in time: the order has ended and its goods are back on sale."""
    return _tell_buyer(order, "buyer_order_expired", "order.expired", shop_link=external_url("catalog.home"))


# --- the office ------------------------------------------------------------------------------------

def tell_office_parcels_overdue(parcels, hours):
    """One mail to the office's addresses about the parcels (``(order number, village name)``)
    that were just flagged as not accepted within ``hours``."""
    mail = render_mail("office_parcels_overdue", OFFICE_LANGUAGE, parcels=parcels, hours=hours,
                       link=external_url("office.orders"))
    event_id = new_event_id()
    for address in office_addresses():
        enqueue_mail(address, mail, kind="order.overdue", event_id=event_id)
    return event_id


# --- a parcel's moves --------------------------------------------------------------------------------

#: Parcel moves the buyer is told of, and the template of each mail.
BUYER_PARCEL_MAILS = {"accepted": "buyer_parcel_accepted", "shipped": "buyer_parcel_shipped",
                      "delivered": "buyer_parcel_delivered", "declined": "buyer_parcel_cancelled",
                      "cancelled": "buyer_parcel_cancelled"}


def tell_parcel_moved(parcel_id, to_status, *, by, automatic=False):
    """Tell the people a parcel's move concerns, besides the village's own notices
    (``record_parcel_event``); called once per move, in its transaction.

    The buyer hears of an accepted, shipped, delivered, declined or cancelled parcel (not of a
    delivery they confirmed themselves); the village hears of a delivery it did not record itself
    (the buyer confirmed receipt, or the parcel counted as delivered, ``automatic``). ``by`` is
    the side that moved it (``village``, ``office``, ``buyer``)."""
    order = db.session.scalar(select(Order).join(VillageOrder, VillageOrder.order_id == Order.id)
                              .where(VillageOrder.id == parcel_id))
    parcels = db.session.scalars(
        select(VillageOrder).where(VillageOrder.order_id == order.id)
        .options(selectinload(VillageOrder.lines)).order_by(VillageOrder.id)
        .execution_options(populate_existing=True)).all()
    parcel = next(p for p in parcels if p.id == parcel_id)
    village = db.session.get(Village, parcel.village_id) if parcel.village_id else None
    context = dict(parcel=parcel, lines=parcel.lines, village=village, automatic=automatic,
                   days=current_app.config["DELIVERED_AFTER_DAYS"])
    if to_status in BUYER_PARCEL_MAILS and not (to_status == "delivered" and by == "buyer"):
        _tell_buyer(order, BUYER_PARCEL_MAILS[to_status], f"parcel.{to_status}",
                    status=state_of(order, parcels).label, money=_money_back(order, parcel),
                    shipment=_shipment(parcel) if to_status == "shipped" else None, **context)
    if to_status == "delivered" and by != "village" and village is not None and village.email:
        mail = render_mail("village_parcel_delivered", VILLAGE_LANGUAGE, order=order, by=by,
                           link=external_url("portal.order", village_order_id=parcel.id),
                           statement=external_url("portal.finance"), office=current_app.config["OFFICE_NAME"],
                           **context)
        enqueue_mail(village.email, mail, kind="parcel.delivered_village", village_id=village.id,
                     village_order_id=parcel.id)


def tell_parcel_refunded(parcel_id):
    """A delivered parcel was refunded by the office: the buyer is told how the money comes back,
    the village's webhook hears the change (its statement shows the reversal)."""
    record_parcel_event("order.status_changed", parcel_id)
    parcel = db.session.get(VillageOrder, parcel_id, populate_existing=True)
    order = db.session.get(Order, parcel.order_id)
    lines = db.session.scalars(select(OrderLine).where(OrderLine.village_order_id == parcel.id)
                               .order_by(OrderLine.id)).all()
    _tell_buyer(order, "buyer_parcel_refunded", "parcel.refunded", village_order_id=parcel.id, parcel=parcel,
                lines=lines, money=_money_back(order, parcel))


def _money_back(order, parcel):
    """What happens to the money of a parcel that will not ship, as the buyer's mail says it."""
    if parcel.refund_state == "refunded":
        return "card_refunded"
    if parcel.refund_state is not None:
        return "office_transfers" if order.payment_method == "bank_transfer" else "office_returns"
    return "cash_on_delivery" if order.payment_method == "cod" else "nothing_paid"


def _shipment(parcel):
    """How the shipped mail names the parcel's courier, and its public tracking page, if any."""
    return {"by_village": parcel.courier == VILLAGE_DELIVERY, "courier": courier_label(parcel.courier),
            "tracking_link": tracking_url(parcel.courier, parcel.tracking_number),
            "link_opens_parcel": opens_parcel(parcel.courier)}

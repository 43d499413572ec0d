"""Order events for villages, written to the outbox in the caller's transaction.

An event is recorded with the change it reports (same transaction), so it exists exactly
when the change does; ``flask outbox work`` delivers it afterwards.
"""
import json
import secrets

from flask import current_app
from sqlalchemy import select

from ..clock import now_utc, to_wita
from ..extensions import db
from ..money import format_idr
from ..orders.models import Order, OrderLine, VillageOrder
from ..urls import external_url
from ..villages.models import Village
from .models import OutboxMessage, VillageWebhook

EVENT_KINDS = ("order.paid", "order.cancelled", "order.status_changed")
#: Events a village is e-mailed about; status changes it made itself are not mailed back.
MAILED_KINDS = ("order.paid", "order.cancelled")


def new_event_id():
    return "evt_" + secrets.token_hex(12)


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
    webhook = db.session.scalars(select(VillageWebhook).where(
        VillageWebhook.village_id == village.id, VillageWebhook.active.is_(True))).one_or_none()
    if webhook is not None:
        body = {"id": event_id, "type": kind, "created": int(now_utc().timestamp()), "data": document}
        _queue(event_id, kind, village, village_order, "webhook", webhook.url, body)
    if kind in MAILED_KINDS and village.email:
        _queue(event_id, kind, village, village_order, "email", village.email,
               parcel_mail(kind, village_order, order, lines, document["url"]))
    return event_id


def queue_mail(kind, address, subject, body, village_order_id=None, village_id=None):
    """Queue an e-mail that is not a village's order notice (e.g. a delay notice to a buyer)."""
    event_id = new_event_id()
    db.session.add(OutboxMessage(
        event_id=event_id, kind=kind, village_id=village_id, village_order_id=village_order_id,
        channel="email", target=address, payload=json.dumps({"subject": subject, "body": body}),
        next_attempt_at=now_utc()))
    return event_id


def _queue(event_id, kind, village, village_order, channel, target, payload):
    db.session.add(OutboxMessage(
        event_id=event_id, kind=kind, village_id=village.id, village_order_id=village_order.id,
        channel=channel, target=target, payload=json.dumps(payload, ensure_ascii=False),
        next_attempt_at=now_utc()))


def parcel_mail(kind, village_order, order, lines, link):
    """The village's notice, in Indonesian: the lines, where the parcel goes, and a link."""
    if kind == "order.paid":
        subject = f"Pesanan baru {order.number}: {village_order.village_name}"
        opening = (f"Ada pesanan baru untuk {village_order.village_name} yang sudah dibayar."
                   if order.payment_method != "cod" else
                   f"Ada pesanan baru untuk {village_order.village_name}, dibayar tunai saat diterima (COD).")
        closing = "Mohon terima pesanan di portal desa, lalu kemas dan kirim paketnya."
    else:
        subject = f"Pesanan {order.number} dibatalkan: {village_order.village_name}"
        opening = f"Paket pesanan {order.number} untuk {village_order.village_name} dibatalkan."
        if village_order.status_reason:
            opening += f" Alasan: {village_order.status_reason}"
        closing = "Jangan kirim paket ini. Stok barangnya sudah dikembalikan."
    body = [opening, "", f"Nomor pesanan: {order.number}", "", "Barang:"]
    body += [f"  {line.quantity} x {line.name} ({line.sku}) — {format_idr(line.total_idr)}" for line in lines]
    body += ["", f"Nilai barang: {format_idr(village_order.subtotal_idr)}",
             f"Ongkos kirim: {format_idr(village_order.shipping_idr)} ({village_order.chargeable_kg} kg)", "",
             "Kirim ke:", f"  {order.name} ({order.phone})", f"  {order.street}",
             f"  {order.village_ward}, {order.district}",
             f"  {order.regency}, {order.province} {order.postal_code}", "",
             closing, link, "", current_app.config["OFFICE_NAME"]]
    return {"subject": subject, "body": "\n".join(body)}

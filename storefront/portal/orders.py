"""Village portal: the village's orders (its own parcels only), the packing slip, and the
buttons that move a parcel from paid to delivered."""
from urllib.parse import quote

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload

from ..access import member_required
from ..contact import whatsapp_number
from ..extensions import db
from ..mailing import mail_language
from ..money import format_idr
from ..orders.forms import ParcelForm
from ..orders.fulfilment import NEEDS_ACTION, STATUS_LABELS, VILLAGE, Change, allowed_moves, change_parcel
from ..orders.models import OrderEvent, VillageOrder
from ..orders.services import OrderError
from ..orders.timeline import EVENT_LABELS, actor_label, village_reason
from ..orders.tracking import courier_label, tracking_url
from ..orders.village_view import village_parcels_query
from ..payments.methods import refund_parcel
from ..unit_of_work import unit_of_work
from .blueprint import bp, own_village

PAGE_SIZE = 50


@bp.get("/pesanan")
@member_required
def orders():
    """Newest first, filterable by status, with counts of what needs doing."""
    status = request.args.get("status", "")
    counts = _counts()
    stmt = village_parcels_query(current_user.village_id).options(contains_eager(VillageOrder.order), selectinload(VillageOrder.lines))
    if status == "action":
        stmt = stmt.where(VillageOrder.status.in_(NEEDS_ACTION))
    elif status in STATUS_LABELS:
        stmt = stmt.where(VillageOrder.status == status)
    elif status:
        abort(404)
    parcels = db.session.scalars(
        stmt.order_by(VillageOrder.created_at.desc(), VillageOrder.id.desc()).limit(PAGE_SIZE)).all()
    return render_template("portal/orders.html", village=own_village(), parcels=parcels, counts=counts,
                           status=status, labels=STATUS_LABELS, needs_action=NEEDS_ACTION)


def _counts():
    visible = village_parcels_query(current_user.village_id).with_only_columns(
        VillageOrder.status, func.count()).group_by(VillageOrder.status)
    return dict(db.session.execute(visible).all())


def _own_parcel(village_order_id):
    """A parcel of the member's village that it may see, else 404."""
    parcel = db.session.scalars(
        village_parcels_query(current_user.village_id).where(VillageOrder.id == village_order_id)
        .options(contains_eager(VillageOrder.order), selectinload(VillageOrder.lines))
        .execution_options(populate_existing=True)).unique().one_or_none()
    if parcel is None:
        abort(404)
    return parcel


@bp.get("/pesanan/<id:village_order_id>")
@member_required
def order(village_order_id):
    """The parcel: lines, where it goes, what to do next; prints as a packing slip and label."""
    parcel = _own_parcel(village_order_id)
    return _render(parcel, ParcelForm(), 200)


def _render(parcel, form, status):
    history = db.session.scalars(select(OrderEvent).where(OrderEvent.village_order_id == parcel.id)
                                 .order_by(OrderEvent.id)).all()
    moves = [] if parcel.order.hold_reason else allowed_moves(parcel.status, VILLAGE, parcel.order.payment_method)
    return render_template("portal/order.html", village=own_village(), parcel=parcel, order=parcel.order,
                           form=form, moves=moves, history=history, labels={**EVENT_LABELS, **STATUS_LABELS},
                           actor_label=actor_label, village_reason=village_reason,
                           whatsapp=_whatsapp_link(parcel), buyer_whatsapp=_buyer_whatsapp_link(parcel),
                           courier=courier_label(parcel.courier),
                           tracking=tracking_url(parcel.courier, parcel.tracking_number)), status


@bp.post("/pesanan/<id:village_order_id>/status")
@member_required
def change_order(village_order_id):
    """Accept, pack, ship (courier and tracking number), deliver, or decline/cancel with a reason."""
    parcel = _own_parcel(village_order_id)
    form = ParcelForm()
    if not form.validate_on_submit():
        return _render(parcel, form, 422)
    number = parcel.order.number
    change = Change(to_status=form.to_status.data, reason=form.reason.data or "",
                    courier=form.chosen_courier(), tracking_number=form.tracking_number.data or "")
    try:
        with unit_of_work():
            change_parcel(parcel.id, change, side=VILLAGE, village_id=current_user.village_id,
                          actor_name=current_user.audit_name, refund=refund_parcel)
    except OrderError as exc:
        form.refuse(str(exc), exc.field)
        return _render(_own_parcel(village_order_id), form, 422)
    flash(_("Parcel %(number)s is now %(status)s.", number=number,
            status=STATUS_LABELS[change.to_status]), "success")
    return redirect(url_for("portal.order", village_order_id=village_order_id), code=303)


def _whatsapp_link(parcel):
    """wa.me with the order summary typed in, for villages that coordinate by chat."""
    order = parcel.order
    text = [f"Pesanan {order.number} ({parcel.village_name})"]
    text += [f"- {line.quantity} x {line.name}" for line in parcel.lines]
    text += [f"Kirim ke: {order.name}, {order.phone}",
             f"{order.street}, {order.village_ward}, {order.district}, {order.regency}, "
             f"{order.province} {order.postal_code}",
             f"Nilai barang {format_idr(parcel.subtotal_idr)}, ongkir {format_idr(parcel.shipping_idr)}"]
    if parcel.tracking_number:
        text.append(f"Resi {parcel.courier}: {parcel.tracking_number}")
    return "https://wa.me/?text=" + quote("\n".join(text))


def _buyer_whatsapp_link(parcel):
    """wa.me to the buyer's number, with a short greeting about the order typed in, in the
    language the buyer shopped in."""
    order = parcel.order
    with force_locale(mail_language(order.lang)):
        text = _("Hello %(name)s, this is %(village)s about your order %(number)s at Produk Desa NTT.",
                 name=order.name, village=parcel.village_name, number=order.number)
    return f"https://wa.me/{whatsapp_number(order.phone)}?text={quote(text)}"

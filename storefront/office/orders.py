"""The office's orders: what needs a person (held orders, parcels not accepted in time, money
to return by hand, gateway payments the shop refused, orders paid too little or too much), bank
transfers to record from the statement, the buyers' transfer receipts, refunds of delivered
parcels, shipping rates; a search over every order, and each order's own page."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..access import office_required
from ..catalog.paging import page_number
from ..checkout.models import ZONES
from ..checkout.shipping import rates, set_rates
from ..clock import today_wita
from ..extensions import db
from ..forms import ConfirmForm
from ..legality.scans import scan_response
from ..money import format_idr, format_stripe_amount
from ..orders.forms import ParcelForm
from ..orders.fulfilment import OFFICE, STATUS_LABELS, Change, change_parcel, refund_delivered
from ..orders.models import Order, VillageOrder
from ..orders.queries import (MAX_SEARCH_LENGTH, held_orders, orders_awaiting_payment, parcels_needing_office,
                              search_orders)
from ..orders.services import OrderError, mark_refunded, release_hold
from ..orders.status import LABELS as ORDER_LABELS
from ..orders.timeline import order_views
from ..payments import midtrans_gateway, reconcile
from ..payments.forms import CancelForm, RefundForm, TransferForm, first_error
from ..payments.methods import LABELS as PAYMENT_LABELS, refund_parcel
from ..payments.models import TransferReceipt
from ..payments.reconcile import PaymentError
from ..payments.stripe_gateway import REFUSALS, refused_payments, settle_refused_payment
from ..unit_of_work import unit_of_work
from .blueprint import bp
from .forms import RatesForm
from .order_page import MOVE_LABELS, RECEIVED_LABELS, REFUND_LABELS, order_page

#: Orders per page of the list and of a search.
PAGE_SIZE = 50
#: ``?kembali=pesanan`` on an action's address: the office acted from the order's own page and
#: goes back there (without it, back to the list).
BACK_TO_ORDER = "pesanan"


@bp.get("/pesanan")
@office_required
def orders():
    """What needs the office: held orders, parcels not accepted in time, money to return by
    hand, card payments the shop refused, orders paid too little or too much; then transfers to
    record, then the latest others and the delivered parcels a complaint may refund. With a
    search (``?q=`` number, buyer, e-mail, phone or amount) or a status (``?status=``), only the
    orders found, a page at a time."""
    text = " ".join(request.args.get("q", "").split())[:MAX_SEARCH_LENGTH]
    status = request.args.get("status", "")
    status = status if status in ORDER_LABELS else ""
    searching = bool(text or status)
    stmt = search_orders(text, status)
    if not searching:  # those waiting for money have their own list above
        stmt = stmt.where(Order.status != "awaiting_payment")
    page = db.paginate(stmt, page=page_number(request.args), per_page=PAGE_SIZE, error_out=False)
    context = dict(page=page, q=text, status=status, searching=searching, order_labels=ORDER_LABELS,
                   payment_labels=PAYMENT_LABELS, received_labels=RECEIVED_LABELS, confirm_form=ConfirmForm(),
                   args={k: v for k, v in (("q", text), ("status", status)) if v})
    if searching or page.page > 1:
        return render_template("office/orders.html", work=False, found=page.items,
                               views={view.order.id: view for view in order_views(page.items)}, **context)
    refused = _refused_payments()
    waiting = orders_awaiting_payment()
    to_refund = reconcile.orders_to_refund()
    received = {**reconcile.received_by_order([o.id for o in waiting]),
                **{order.id: amount for order, amount in to_refund}}
    shown = [o.id for o in waiting] + [order.id for order, _amount in to_refund]
    money = {o.id: reconcile.money_of(o, received.get(o.id, 0))
             for o in waiting + [order for order, _amount in to_refund]}
    recent = page.items
    views = {view.order.id: view for view in order_views(recent + [order for order, _amount in to_refund])}
    return render_template("office/orders.html", work=True, waiting=waiting, found=recent, views=views,
                           held=held_orders(), attention=parcels_needing_office(), refused=refused,
                           underpaid=[o for o in waiting if money[o.id].underpaid],
                           to_refund=[order for order, _amount in to_refund], money=money,
                           payments=reconcile.payments_of(shown), receipts=reconcile.receipts_of(shown),
                           delivered=reconcile.delivered_prepaid_parcels(), today=today_wita(), **context)


def _refused_payments():
    """Payments a gateway took that the shop refused to apply, each gateway's alike: the order
    named, the amount, why, the gateway's references, and where the office marks it dealt with."""
    locale = str(get_locale())
    stripe = [{"number": number, "gateway": "Stripe", "at": event.received_at,
               "amount": format_stripe_amount(event.amount_total, event.currency, locale),
               "reasons": [REFUSALS.get(code, code) for code in event.refusal.split()],
               "reference": _("Stripe event %(event)s, checkout %(session)s", event=event.id,
                              session=event.session_id or "—"),
               "settle_url": url_for("office.settle_card_payment", event_id=event.id)}
              for event, number in refused_payments()]
    midtrans = [{"number": number, "gateway": "Midtrans", "at": note.received_at,
                 "amount": format_idr(note.gross_amount_idr) if note.gross_amount_idr is not None else None,
                 "reasons": [midtrans_gateway.REFUSALS.get(code, code) for code in note.refusal.split()],
                 "reference": _("Midtrans transaction %(transaction)s (%(kind)s)", transaction=note.transaction_id,
                                kind=note.payment_type or "—"),
                 "settle_url": url_for("office.settle_midtrans_payment", notification_id=note.id)}
                for note, number in midtrans_gateway.refused_payments()]
    return sorted(stripe + midtrans, key=lambda payment: payment["at"])


@bp.get("/pesanan/<string(maxlength=40):number>")
@office_required
def order(number):
    """One order for the office: buyer, address, each parcel's goods, status, courier, tracking
    and history, the money received and returned, and what the office may do with it."""
    page = order_page(number)
    if page is None:
        abort(404)
    return render_template("office/order.html", page=page, order=page.order, view=page.view, money=page.money,
                           payment_labels=PAYMENT_LABELS, received_labels=RECEIVED_LABELS,
                           refund_labels=REFUND_LABELS, move_labels=MOVE_LABELS, confirm_form=ConfirmForm(),
                           today=today_wita())


def _back(order=None, parcel_id=None, anchor=None):
    """Where an action on ``order`` (or on the parcel ``parcel_id``) goes back to: the order's own
    page when it was done there, else the list (at ``anchor``)."""
    if request.args.get("kembali") == BACK_TO_ORDER:
        number = order.number if order is not None else db.session.scalar(
            select(Order.number).join(VillageOrder, VillageOrder.order_id == Order.id)
            .where(VillageOrder.id == parcel_id))
        if number:
            return redirect(url_for("office.order", number=number), code=303)
    return redirect(url_for("office.orders", _anchor=anchor), code=303)


@bp.post("/pesanan/<id:order_id>/lepas")
@office_required
def release_order(order_id):
    """The office checked a held order's papers: the villages may ship it."""
    order = db.get_or_404(Order, order_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
        return _back(order)
    with unit_of_work():
        released = release_hold(order.id, current_user.audit_name)
    if released:
        flash(_("Order %(number)s is released to its villages.", number=order.number), "success")
    else:
        flash(_("Order %(number)s is not held.", number=order.number), "warning")
    return _back(order)


@bp.post("/paket/<id:village_order_id>/status")
@office_required
def change_parcel_status(village_order_id):
    """The office's moves on a parcel (the transition table says which): e.g. cancel a parcel
    a village cannot send, with the reason the buyer will read."""
    form = ParcelForm()
    if not form.validate_on_submit():
        flash(_("Choose what to do with the parcel."), "warning")
        return _back(parcel_id=village_order_id)
    change = Change(to_status=form.to_status.data, reason=form.reason.data or "")
    try:
        with unit_of_work():
            change_parcel(village_order_id, change, side=OFFICE, refund=refund_parcel,
                          actor_name=current_user.audit_name)
    except LookupError:
        abort(404)
    except OrderError as exc:
        flash(str(exc), "warning")
        return _back(parcel_id=village_order_id)
    flash(_("The parcel is now %(status)s.", status=STATUS_LABELS[change.to_status]), "success")
    return _back(parcel_id=village_order_id)


@bp.post("/paket/<id:village_order_id>/uang-kembali")
@office_required
def refund_done(village_order_id):
    """The office returned a parcel's money by hand (bank transfer, or a failed card refund)."""
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
        return _back(parcel_id=village_order_id)
    with unit_of_work():
        recorded = mark_refunded(village_order_id, current_user.audit_name)
    if not recorded:
        abort(404)
    flash(_("The refund is recorded."), "success")
    return _back(parcel_id=village_order_id)


@bp.post("/pembayaran-kartu/<string(maxlength=255):event_id>/selesai")
@office_required
def settle_card_payment(event_id):
    """The office dealt with a card payment the shop refused to apply (refunded it in Stripe,
    or settled it with the buyer)."""
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
        return redirect(url_for("office.orders"), code=303)
    with unit_of_work():
        settled = settle_refused_payment(event_id, current_user.audit_name)
    if not settled:
        abort(404)
    flash(_("The card payment is marked as dealt with."), "success")
    return redirect(url_for("office.orders"), code=303)


@bp.post("/pembayaran-midtrans/<id:notification_id>/selesai")
@office_required
def settle_midtrans_payment(notification_id):
    """The office dealt with a Midtrans payment the shop refused to apply (refunded it in
    Midtrans' dashboard, or settled it with the buyer)."""
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
        return redirect(url_for("office.orders"), code=303)
    with unit_of_work():
        settled = midtrans_gateway.settle_refused_payment(notification_id, current_user.audit_name)
    if not settled:
        abort(404)
    flash(_("The payment is marked as dealt with."), "success")
    return redirect(url_for("office.orders"), code=303)


def _refused(form, order):
    """Flash why ``form`` was refused, for the order it was about, and go back to the order."""
    if form.csrf_token.errors:
        flash(_("The form has expired"), "warning")
    else:
        flash(_("Order %(number)s: %(problem)s", number=order.number, problem=first_error(form)), "warning")
    return _back_to(order)


def _back_to(order):
    return _back(order, anchor=f"order-{order.id}")


@bp.post("/pesanan/<id:order_id>/transfer")
@office_required
def record_transfer(order_id):
    """The office records a bank transfer as the statement shows it: amount, date, reference."""
    order = db.get_or_404(Order, order_id)
    form = TransferForm()
    if not form.validate_on_submit():
        return _refused(form, order)
    try:
        with unit_of_work():
            recorded = reconcile.record_transfer(order.id, form.amount.data, form.received_on.data,
                                                 form.reference.data, current_user.audit_name)
    except PaymentError as exc:
        flash(_("Order %(number)s: %(problem)s", number=order.number, problem=exc), "warning")
        return _back_to(order)
    money = recorded.money
    if recorded.outcome == "underpaid":
        flash(_("Order %(number)s: %(received)s of %(total)s received, %(missing)s missing. The buyer is told; "
                "the order waits for the rest.", number=order.number, received=format_idr(money.received_idr),
                total=format_idr(money.total_idr), missing=format_idr(money.missing_idr)), "warning")
    elif recorded.outcome == "paid" and money.excess_idr:
        flash(_("Order %(number)s is paid, with %(excess)s more than its total: return it to the buyer and "
                "record the refund.", number=order.number, excess=format_idr(money.excess_idr)), "warning")
    elif recorded.outcome == "paid":
        flash(_("Order %(number)s is paid.", number=order.number), "success")
    elif money.excess_idr:
        flash(_("Order %(number)s was no longer awaiting payment: %(excess)s is to be returned to the buyer.",
                number=order.number, excess=format_idr(money.excess_idr)), "warning")
    else:
        flash(_("Order %(number)s was no longer awaiting payment; the transfer is recorded.",
                number=order.number), "warning")
    return _back_to(order)


@bp.post("/pesanan/<id:order_id>/dana-kembali")
@office_required
def record_refund(order_id):
    """The office returned money an order received beyond what it may keep."""
    order = db.get_or_404(Order, order_id)
    form = RefundForm()
    if not form.validate_on_submit():
        return _refused(form, order)
    try:
        with unit_of_work():
            money = reconcile.record_refund(order.id, form.amount.data, form.received_on.data,
                                            form.reference.data, current_user.audit_name)
    except PaymentError as exc:
        flash(_("Order %(number)s: %(problem)s", number=order.number, problem=exc), "warning")
        return _back_to(order)
    if money.excess_idr:
        flash(_("The refund is recorded; %(excess)s is still to be returned.",
                excess=format_idr(money.excess_idr)), "success")
    else:
        flash(_("The refund is recorded."), "success")
    return _back_to(order)


@bp.post("/pesanan/<id:order_id>/batal")
@office_required
def cancel_underpaid(order_id):
    """The rest of an underpaid order's money did not come: the office ends the order."""
    order = db.get_or_404(Order, order_id)
    form = CancelForm()
    if not form.validate_on_submit():
        return _refused(form, order)
    try:
        with unit_of_work():
            money = reconcile.cancel_underpaid_order(order.id, form.reason.data, current_user.audit_name)
    except PaymentError as exc:
        flash(_("Order %(number)s: %(problem)s", number=order.number, problem=exc), "warning")
        return _back_to(order)
    flash(_("Order %(number)s is cancelled; return %(amount)s to the buyer and record the refund.",
            number=order.number, amount=format_idr(money.excess_idr)), "success")
    return _back_to(order)


@bp.post("/paket/<id:village_order_id>/refund")
@office_required
def refund_delivered_parcel(village_order_id):
    """The buyer's money for a delivered parcel goes back (damaged, wrong goods): what the village
    earned from it is reversed once; a card payment is refunded through Stripe."""
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("The form has expired") if form.csrf_token.errors else first_error(form), "warning")
        return _back(parcel_id=village_order_id, anchor="delivered")
    try:
        with unit_of_work():
            parcel = refund_delivered(village_order_id, form.reason.data, actor_name=current_user.audit_name,
                                      refund=refund_parcel)
    except LookupError:
        abort(404)
    except OrderError as exc:
        flash(str(exc), "warning")
        return _back(parcel_id=village_order_id, anchor="delivered")
    if parcel.refund_state == "refunded":
        flash(_("The parcel's money is refunded to the buyer's card; the village's earning is reversed."),
              "success")
    else:
        flash(_("The village's earning is reversed. Return %(amount)s to the buyer and mark it returned.",
                amount=format_idr(parcel.subtotal_idr + parcel.shipping_idr)), "success")
    return _back(parcel_id=village_order_id)


@bp.get("/bukti-transfer/<id:receipt_id>")
@office_required
def transfer_receipt(receipt_id):
    """A buyer's transfer receipt, for the office only; never as HTML."""
    receipt = db.session.get(TransferReceipt, receipt_id)
    if receipt is None or receipt.key is None:
        abort(404)
    extension = receipt.key.rpartition(".")[2]
    return scan_response(receipt.key, receipt.content_type, f"bukti-transfer-{receipt.id}.{extension}")


@bp.route("/ongkir", methods=["GET", "POST"])
@office_required
def shipping_rates():
    """Shipping rate per kilogram for each destination zone."""
    form = RatesForm()
    if form.validate_on_submit():
        with unit_of_work():
            set_rates({zone: getattr(form, zone).data for zone in ZONES})
        flash(_("Shipping rates saved."), "success")
        return redirect(url_for("office.shipping_rates"), code=303)
    if not form.is_submitted():
        current = rates()
        for zone in ZONES:
            getattr(form, zone).data = current[zone]
    return render_template("office/rates.html", form=form), 422 if form.is_submitted() else 200

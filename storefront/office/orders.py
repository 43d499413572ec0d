"""The office's orders: what needs a person (held orders, parcels not accepted in time, money
to return by hand, card payments the shop refused), bank transfers to confirm, shipping rates."""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user

from ..access import office_required
from ..checkout.models import ZONES
from ..checkout.shipping import rates, set_rates
from ..extensions import db
from ..forms import ConfirmForm
from ..money import format_stripe_amount
from ..orders.forms import ParcelForm
from ..orders.fulfilment import OFFICE, STATUS_LABELS, Change, change_parcel
from ..orders.models import Order
from ..orders.queries import held_orders, orders_awaiting_payment, parcels_needing_office, recent_orders
from ..orders.services import OrderError, mark_paid, mark_refunded, release_hold
from ..payments.stripe_gateway import REFUSALS, refund_parcel, refused_payments, settle_refused_payment
from ..unit_of_work import unit_of_work
from .blueprint import bp
from .forms import RatesForm


@bp.get("/pesanan")
@office_required
def orders():
    """What needs the office: held orders, parcels not accepted in time, money to return by
    hand, card payments the shop refused; then transfers to confirm, then the latest others."""
    locale = str(get_locale())
    refused = [{"event": event, "number": number,
                "amount": format_stripe_amount(event.amount_total, event.currency, locale),
                "reasons": [REFUSALS.get(code, code) for code in event.refusal.split()]}
               for event, number in refused_payments()]
    return render_template("office/orders.html", waiting=orders_awaiting_payment(), recent=recent_orders(),
                           held=held_orders(), attention=parcels_needing_office(), refused=refused,
                           confirm_form=ConfirmForm())


@bp.post("/pesanan/<id:order_id>/lepas")
@office_required
def release_order(order_id):
    """The office checked a held order's papers: the villages may ship it."""
    order = db.get_or_404(Order, order_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
        return redirect(url_for("office.orders"), code=303)
    with unit_of_work():
        released = release_hold(order.id, current_user.audit_name)
    if released:
        flash(_("Order %(number)s is released to its villages.", number=order.number), "success")
    else:
        flash(_("Order %(number)s is not held.", number=order.number), "warning")
    return redirect(url_for("office.orders"), code=303)


@bp.post("/paket/<id:village_order_id>/status")
@office_required
def change_parcel_status(village_order_id):
    """The office's moves on a parcel (the transition table says which): e.g. cancel a parcel
    a village cannot send, with the reason the buyer will read."""
    form = ParcelForm()
    if not form.validate_on_submit():
        flash(_("Choose what to do with the parcel."), "warning")
        return redirect(url_for("office.orders"), code=303)
    change = Change(to_status=form.to_status.data, reason=form.reason.data or "")
    try:
        with unit_of_work():
            change_parcel(village_order_id, change, side=OFFICE, refund=refund_parcel,
                          actor_name=current_user.audit_name)
    except LookupError:
        abort(404)
    except OrderError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("office.orders"), code=303)
    flash(_("The parcel is now %(status)s.", status=STATUS_LABELS[change.to_status]), "success")
    return redirect(url_for("office.orders"), code=303)


@bp.post("/paket/<id:village_order_id>/uang-kembali")
@office_required
def refund_done(village_order_id):
    """The office returned a parcel's money by hand (bank transfer, or a failed card refund)."""
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
        return redirect(url_for("office.orders"), code=303)
    with unit_of_work():
        recorded = mark_refunded(village_order_id, current_user.audit_name)
    if not recorded:
        abort(404)
    flash(_("The refund is recorded."), "success")
    return redirect(url_for("office.orders"), code=303)


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


@bp.post("/pesanan/<id:order_id>/lunas")
@office_required
def mark_order_paid(order_id):
    """The office saw the bank transfer arrive."""
    order = db.get_or_404(Order, order_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
    elif order.payment_method != "bank_transfer":
        flash(_("Only bank transfers are confirmed here."), "warning")
    else:
        with unit_of_work():
            paid = mark_paid(order.id, current_user.audit_name, "bank transfer received")
        if paid:
            flash(_("Order %(number)s is marked paid.", number=order.number), "success")
        else:
            flash(_("Order %(number)s is no longer awaiting payment.", number=order.number), "warning")
    return redirect(url_for("office.orders"), code=303)


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

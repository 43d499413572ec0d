"""Checkout and the order pages a buyer sees."""
import re
import secrets
import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Address
from ..accounts.services import AccountError, add_address
from ..address_forms import AddressForm
from ..addresses import saved_address_data
from ..cart.services import review_cart
from ..cart.session import current_cart
from ..extensions import db
from ..forms import ConfirmForm
from ..i18n import current_language
from ..legality.scans import ScanError, clean_scan
from ..numbers import whole_number
from ..orders.fulfilment import BUYER, Change, change_parcel
from ..orders.links import access_token_hash, order_link_token
from ..orders.lookup import send_order_link
from ..orders.models import Order, OrderLine, VillageOrder
from ..orders.services import OrderError
from ..orders.timeline import BUYER_ACTOR, order_view
from ..payments.forms import TransferReportForm
from ..payments.methods import method_for, offered
from ..payments.reconcile import (PaymentError, money_of, receipts_of,
                                  report_transfer as report_transfer_received)
from ..payments.settling import PaymentGatewayError, SessionClosed
from ..payments.unpaid import cancel_unpaid_by_buyer, may_cancel
from ..ratelimit import configured, limiter, posted_email_key
from ..unit_of_work import unit_of_work
from ..urls import external_url
from .forms import CheckoutForm, FindOrderForm
from .services import CheckoutError, place_order
from .shipping import quote_parcels

bp = Blueprint("checkout", __name__)

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
#: Guests keep their orders' private tokens in the session, so a repeat submit finds them.
SESSION_KEY = "order_tokens"
#: The checkout as last sent ("Calculate shipping", "Place order"): shown again after the redirect.
DRAFT_KEY = "checkout_draft"
DRAFT_FIELDS = AddressForm.ADDRESS_FIELDS + ("email", "payment_method", "save_address", "idempotency_key")
#: ``?alamat=baru``: an empty address form, not the default saved address.
NEW_ADDRESS = "baru"
#: The least time ``/pesanan/cari`` takes to answer (seconds), whether or not an order matched, so
#: that its timing tells nothing; ``ORDER_LINK_ANSWER_SECONDS`` in the config overrides it.
ORDER_LINK_ANSWER_SECONDS = 0.4
#: "I have transferred" posts (each may carry a file to clean), per address and per order;
#: ``RATELIMIT_TRANSFER_REPORT`` in the config overrides it.
TRANSFER_REPORT_LIMIT = "5/hour;20/day"


def _methods(view):
    """The payment methods offered for this cart (``payments.methods``)."""
    return offered(view)


@bp.route("/checkout", methods=["GET", "POST"])
def start():
    """Contact and address, then each parcel's shipping, then the order.

    Every step that succeeds answers with a redirect (POST, redirect, GET): "Calculate shipping"
    keeps what was typed in the session (``DRAFT_KEY``) and shows the quote on the page it
    redirects to, so the back button never asks to send a form again; after the order is placed,
    the same page sends the buyer back to their order."""
    posted = request.method == "POST"
    key = _clean_key(request.form.get("idempotency_key")) if posted else None
    placing = posted and request.form.get("action") == "place"
    repeat = _to_order(key) if placing else None
    if repeat is not None:
        return repeat
    # ?alamat=<id>: one of the buyer's saved addresses; ?alamat=baru: none (a new one); without
    # it, the default saved address is filled in.
    chosen = whole_number(request.args.get("alamat"), minimum=1)
    typing_new = request.args.get("alamat") == NEW_ADDRESS
    draft = None if posted or chosen or typing_new else session.get(DRAFT_KEY)
    if draft is not None:
        key = _clean_key(draft.get("idempotency_key"))
    cart = current_cart()
    view = review_cart(cart)
    if not view.can_check_out and not (placing and view.lines):
        # Placing with a changed cart goes on, so place_order can say what changed (sold out).
        return _to_order(key) or _back_to_cart()
    methods = _methods(view)
    prefill = {"idempotency_key": secrets.token_hex(16), "payment_method": methods[0]}
    saved, notes, using = [], {}, None
    if current_user.is_authenticated:
        prefill.update(name=current_user.name, email=current_user.email)
        saved = db.session.scalars(select(Address).where(Address.user_id == current_user.id)
                                   .order_by(Address.is_default.desc(), Address.id.desc())).all()
        for address in saved:
            if address.id == chosen or (address.is_default and not (chosen or typing_new or posted)):
                using = address
        if using is not None:
            data, notes = saved_address_data(using)
            prefill.update(data)
    if draft is not None:
        return _quote_draft(draft, methods, view, saved)
    form = CheckoutForm(methods=methods, data=prefill)
    if form.picking:
        # A "Choose" or "Search" of the address: the same page, narrowed, nothing checked nor placed.
        return _render(form, view, None, None, 200, saved)
    if notes and not form.is_submitted():
        for name, note in notes.items():
            form[name].errors = [note]
    if not form.validate_on_submit():
        return _render(form, view, None, None, 422 if form.is_submitted() else 200, saved,
                       None if form.is_submitted() else using)
    address = form.address()
    if placing and form.expected_total.data:
        placed = _place(form, cart, address)
        if placed:
            return placed
        # Nothing was placed: show the cart as it is now, not as it was before the attempt.
        view = review_cart(current_cart())
        if not view.lines:
            return _to_order(key) or _back_to_cart()
    elif not view.can_check_out:
        return _back_to_cart()
    elif not placing:
        _keep_draft(form)
        return redirect(url_for("checkout.start"), code=303)
    return _render_quote(form, view, address, 422, saved)


def _keep_draft(form):
    """What the buyer typed (checked), for the page after the redirect and for the back button."""
    session[DRAFT_KEY] = {name: form[name].data for name in DRAFT_FIELDS}


def _quote_draft(draft, methods, view, saved):
    """The checkout as the buyer last sent it, with each parcel's shipping and the total to
    confirm; the form alone if it no longer holds (a payment method that is not offered now)."""
    values = {name: draft.get(name) for name in DRAFT_FIELDS}
    if _order_by_key(_clean_key(values["idempotency_key"])) is not None:
        # This checkout made an order already: another order needs a key of its own.
        values["idempotency_key"] = secrets.token_hex(16)
    checked = CheckoutForm(methods=methods, data=values, meta={"csrf": False})
    form = CheckoutForm(methods=methods, data=values)
    if not checked.validate():
        return _render(form, view, None, None, 200, saved)
    return _render_quote(form, view, checked.address(), 200, saved)


def _render_quote(form, view, address, status, saved):
    parcels = quote_parcels(view, address["regency_code"])
    total = sum(p.subtotal_idr + p.shipping_idr for p in parcels)
    form.expected_total.data = str(total)  # so "Place order" confirms what is shown now
    return _render(form, view, parcels, total, status, saved)


def _back_to_cart():
    flash(_("Review your cart before checking out."), "warning")
    return redirect(url_for("cart.view"), code=303)


def _to_order(key):
    """If this checkout already made an order (double click, back button, retry), go to it."""
    order = _order_by_key(key)
    if order is None:
        return None
    return redirect(url_for("checkout.order", number=order.number, kunci=order_link_token(key)), code=303)


def _order_by_key(key):
    if key is None:
        return None
    return db.session.scalars(select(Order).where(Order.idempotency_key == key)).one_or_none()


def _clean_key(key):
    """The form's idempotency key if it looks like one we made, else None."""
    return key if key and IDEMPOTENCY_KEY.fullmatch(key) else None


def _render(form, view, parcels, total, status, saved=(), using=None):
    """The checkout page; ``using`` is the saved address the form was filled with, if any."""
    return render_template("checkout/checkout.html", form=form, view=view, parcels=parcels,
                           total=total, saved=saved, using=using), status


def _place(form, cart, address):
    """Place the order; a redirect to it (or to its payment), or None with the reason on the form."""
    method = form.payment_method.data
    hold = method_for(method).hold_minutes()
    expected = whole_number(form.expected_total.data)
    key = _clean_key(form.idempotency_key.data) or secrets.token_hex(16)
    try:
        with unit_of_work():
            placed = place_order(
                cart=cart, user_id=current_user.id if current_user.is_authenticated else None,
                address=address, email=form.email.data.lower(), payment_method=method,
                idempotency_key=key, expected_total_idr=-1 if expected is None else expected,
                hold_minutes=hold, lang=current_language())
            if placed.created and form.save_address.data and current_user.is_authenticated:
                _save_address(address)
    except (CheckoutError, IntegrityError) as exc:
        # The same checkout sent twice: the other submit may have placed it a moment ago.
        repeat = _to_order(key)
        if repeat is not None:
            return repeat
        if isinstance(exc, IntegrityError):
            raise
        form.form_errors.append(str(exc))
        return None
    order, token = placed.order, placed.access_token
    tokens = session.get(SESSION_KEY, {})
    tokens[order.number] = token
    session[SESSION_KEY] = tokens
    form.idempotency_key.data = key
    _keep_draft(form)  # the back button now leads to the order
    if placed.created:
        flash(_("The order confirmation, with how to pay and your private link to this order, is on its way "
                "to %(email)s.", email=order.email) if method != "cod" else
              _("The order confirmation, with your private link to this order, is on its way to %(email)s.",
                email=order.email), "success")
    if method_for(method).pay_label and order.status == "awaiting_payment":
        return redirect(url_for("checkout.pay", number=order.number, kunci=token), code=303)
    return redirect(url_for("checkout.order", number=order.number, kunci=token), code=303)


def _save_address(address):
    """Keep the address for next time, unless the address book is full: the order matters more
    (``add_address`` refuses before it adds anything)."""
    try:
        add_address(current_user, address)
    except AccountError as exc:
        flash(str(exc), "warning")


def _visible_order(number):
    """The order if this visitor may see it: its signed-in owner, or the private link's token."""
    order = db.session.scalars(select(Order).where(Order.number == number)).one_or_none()
    if order is None:
        abort(404)
    token = request.args.get("kunci") or session.get(SESSION_KEY, {}).get(number)
    owner = current_user.is_authenticated and order.user_id == current_user.id
    if not owner and not (token and secrets.compare_digest(access_token_hash(token), order.access_token_hash)):
        abort(404)
    return order, token


@bp.get("/pesanan/<number>")
def order(number):
    order, token = _visible_order(number)
    money = money_of(order)
    # Back from the gateway's page (its return links carry ``stripe=success`` / ``midtrans=selesai``).
    returned = request.args.get("stripe") == "success" or request.args.get("midtrans") == "selesai"
    return render_template("checkout/order.html", order=order, view=order_view(order), token=token,
                           method=method_for(order.payment_method), returned=returned, money=money,
                           reports=receipts_of([order.id]).get(order.id, []),
                           may_cancel=may_cancel(order, money), report_form=TransferReportForm(),
                           confirm_form=ConfirmForm())


@bp.route("/pesanan/cari", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_ORDER_LINK_IP"), methods=["POST"])
@limiter.limit(configured("RATELIMIT_ORDER_LINK_EMAIL"), methods=["POST"], key_func=posted_email_key,
               scope="order-link-email")
def find_order():
    """Lost the private link? The order number and the order's e-mail address send the link to
    that address. The answer, and how long it takes, are the same whether or not they match."""
    form = FindOrderForm()
    if form.validate_on_submit():
        started = time.monotonic()
        with unit_of_work():
            send_order_link(form.number.data, form.email.data, current_language())
        floor = current_app.config.get("ORDER_LINK_ANSWER_SECONDS", ORDER_LINK_ANSWER_SECONDS)
        time.sleep(max(0.0, floor - (time.monotonic() - started)))
        flash(_("If %(number)s is an order placed with %(email)s, its private link is on its way to that address. "
                "Check your spam folder too.", number=form.number.data, email=form.email.data), "success")
        return redirect(url_for("checkout.find_order"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("checkout/find_order.html", form=form), status


@bp.post("/pesanan/<number>/batal")
def cancel_order(number):
    """The buyer ends an order that is still unpaid; its goods go back on sale at once."""
    order, token = _visible_order(number)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form expired. Please try again."), "warning")
        return _back_to_order(order, token)
    try:
        with unit_of_work():
            cancel_unpaid_by_buyer(order.id, actor_name=BUYER_ACTOR)
    except PaymentError as exc:
        flash(str(exc), "warning")
        return _back_to_order(order, token)
    flash(_("Order %(number)s is cancelled. Nothing was paid, so there is nothing to return.",
            number=order.number), "success")
    return _back_to_order(order, token)


def _back_to_order(order, token):
    return redirect(url_for("checkout.order", number=order.number, kunci=token), code=303)


def _report_limit():
    return current_app.config.get("RATELIMIT_TRANSFER_REPORT", TRANSFER_REPORT_LIMIT)


def _report_order_key():
    return "transfer-report:" + (request.view_args or {}).get("number", "")[:40]


@bp.post("/pesanan/<number>/sudah-transfer")
@limiter.limit(_report_limit, methods=["POST"])
@limiter.limit(_report_limit, methods=["POST"], key_func=_report_order_key)
def report_transfer(number):
    """The buyer says "I have transferred", with a photo or PDF of the receipt if they have one;
    the office is told. Cleaned and stored like a paper's scan, for the office only."""
    order, token = _visible_order(number)
    form = TransferReportForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "warning")
        return _back_to_order(order, token)
    upload, scan = form.receipt.data, None
    if upload and getattr(upload, "filename", ""):
        try:
            scan = clean_scan(upload)
        except ScanError as exc:
            flash(_("The receipt was not accepted: %(problem)s", problem=exc), "warning")
            return _back_to_order(order, token)
    try:
        with unit_of_work():
            report_transfer_received(order.id, scan)
    except PaymentError as exc:
        flash(str(exc), "warning")
        return _back_to_order(order, token)
    flash(_("Thank you. The office checks the bank statement and writes to you once the payment is confirmed."),
          "success")
    return _back_to_order(order, token)


@bp.post("/pesanan/<number>/paket/<id:village_order_id>/diterima")
def confirm_parcel(number, village_order_id):
    """The buyer confirms that one of the order's shipped parcels arrived: the village has earned it."""
    order, token = _visible_order(number)
    parcel = db.session.scalars(select(VillageOrder.id).where(
        VillageOrder.id == village_order_id, VillageOrder.order_id == order.id)).one_or_none()
    if parcel is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form expired. Please try again."), "warning")
        return _back_to_order(order, token)
    try:
        with unit_of_work():
            change_parcel(parcel, Change("delivered", reason="received, confirmed by the buyer"), side=BUYER,
                          actor_name=BUYER_ACTOR)
    except OrderError as exc:
        flash(str(exc), "warning")
        return _back_to_order(order, token)
    flash(_("Thank you for confirming that the parcel arrived."), "success")
    return _back_to_order(order, token)


@bp.get("/pesanan/<number>/bayar")
def pay(number):
    """Send the buyer to the payment page of an unpaid order paid online (Stripe, Midtrans): the
    same page while it is open (``payments.methods``)."""
    order, token = _visible_order(number)
    method = method_for(order.payment_method)
    if order.status != "awaiting_payment" or not method.pay_label:
        return _back_to_order(order, token)
    lines = db.session.scalars(
        select(OrderLine).join(VillageOrder, VillageOrder.id == OrderLine.village_order_id)
        .where(VillageOrder.order_id == order.id).order_by(OrderLine.id)).all()
    try:
        with unit_of_work():
            url = method.start(order, lines, back=lambda **query: external_url(
                "checkout.order", number=number, kunci=token, **query))
    except SessionClosed:
        flash(str(method.closed_message), "warning")
        return _back_to_order(order, token)
    except PaymentGatewayError:
        flash(str(method.down_message), "warning")
        return _back_to_order(order, token)
    except IntegrityError:  # "Pay" twice at once: the other click made the page a moment ago
        return _back_to_order(order, token)
    if url is None:  # the gateway was switched off meanwhile
        return _back_to_order(order, token)
    return redirect(url, code=303)

"""The cart page and its buttons."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import csrf
from ..forms import ConfirmForm
from ..numbers import whole_number
from ..same_origin import same_origin_only
from ..unit_of_work import unit_of_work
from ..urls import safe_next
from .forms import CartLineForm
from .services import CartError, accept_changes, add_to_cart, review_cart, set_quantity
from .session import current_cart

bp = Blueprint("cart", __name__, url_prefix="/keranjang")


@bp.get("")
def view():
    """The cart, recomputed from the database on every view."""
    view = review_cart(current_cart())
    return render_template("cart/cart.html", view=view, confirm_form=ConfirmForm())


def _product_id(form):
    return whole_number(form.product_id.data, minimum=1)


@bp.post("/tambah")
@csrf.exempt
@same_origin_only
def add():
    """Put a product in the cart. The form sits on public pages that are the same for every
    visitor, so it carries no CSRF token: a post from another site is refused by its origin
    instead (``same_origin.py``)."""
    form = CartLineForm(meta={"csrf": False})
    back = safe_next(request.form.get("next"), url_for("cart.view"))
    product_id = _product_id(form)
    if not form.validate_on_submit() or product_id is None or not form.quantity.data:
        flash(_("Choose a quantity from 1 to 999."), "warning")
        return redirect(back, code=303)
    try:
        with unit_of_work():
            product = add_to_cart(current_cart(create=True), product_id, form.quantity.data)
    except CartError as exc:
        flash(str(exc), "warning")
        return redirect(back, code=303)
    flash(_("%(name)s is in your cart.", name=product.name), "success")
    return redirect(url_for("cart.view"), code=303)


@bp.post("/ubah")
def change():
    form = CartLineForm()
    product_id = _product_id(form)
    cart = current_cart()
    if not form.validate_on_submit() or product_id is None or cart is None:
        flash(_("Choose a quantity from 0 to 999."), "warning")
        return redirect(url_for("cart.view"), code=303)
    try:
        with unit_of_work():
            set_quantity(cart, product_id, form.quantity.data)
    except CartError as exc:
        flash(str(exc), "warning")
    return redirect(url_for("cart.view"), code=303)


@bp.post("/terima")
def accept():
    """The buyer accepts new prices, lower stock and removed products."""
    cart = current_cart()
    if ConfirmForm().validate_on_submit() and cart is not None:
        with unit_of_work():
            accept_changes(cart)
        flash(_("Your cart now shows today's prices and stock."), "success")
    return redirect(url_for("cart.view"), code=303)

"""The cart page and its buttons."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import csrf
from ..forms import ConfirmForm
from ..numbers import whole_number
from ..same_origin import same_origin_only
from ..unit_of_work import unit_of_work
from ..urls import safe_next
from .forms import CartLineForm, CartRemoveForm
from .services import CartError, accept_changes, add_to_cart, remove_from_cart, review_cart, set_quantity
from .session import current_cart

bp = Blueprint("cart", __name__, url_prefix="/keranjang")


@bp.get("")
def view():
    """The cart, recomputed from the database on every view."""
    view = review_cart(current_cart())
    return render_template("cart/cart.html", view=view)


def _product_id(form):
    return whole_number(form.product_id.data, minimum=1)


def _tell(change):
    """Say what a change did when it was not simply what the buyer asked for."""
    values = {"name": change.name, "count": change.quantity}
    if change.quantity == 0:
        flash(_("%(name)s is removed from your cart.", **values), "success")
    elif change.line_limit:
        flash(_("One order can take at most %(count)s of %(name)s, so your cart now holds %(count)s.",
                **values), "warning")
    elif change.capped and change.unchanged:
        flash(_("Only %(count)s of %(name)s left, and your cart already holds them all.", **values), "warning")
    elif change.capped:
        flash(_("Only %(count)s of %(name)s left, so your cart now holds %(count)s.", **values), "warning")


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
            change = add_to_cart(current_cart(create=True), product_id, form.quantity.data)
    except CartError as exc:
        flash(str(exc), "warning")
        return redirect(back, code=303)
    if change.capped:
        _tell(change)
    else:
        flash(_("%(name)s is in your cart.", name=change.name), "success")
    return redirect(url_for("cart.view"), code=303)


@bp.post("/ubah")
def change():
    """Set a line's quantity (0 removes it); more than is available sets the most there is."""
    form = CartLineForm()
    return _change_line(form, lambda cart, product_id: set_quantity(cart, product_id, form.quantity.data),
                        _("Choose a quantity from 0 to 999."))


@bp.post("/hapus")
def remove():
    """Take a line out of the cart."""
    return _change_line(CartRemoveForm(), remove_from_cart, _("That product is not in your cart."))


def _change_line(form, action, refused):
    """A form on a line of the cart: ``action(cart, product_id)`` returns the change to tell;
    ``refused`` is said when the form is not one the cart can take."""
    product_id = _product_id(form)
    cart = current_cart()
    if not form.validate_on_submit() or product_id is None or cart is None:
        flash(refused, "warning")
        return redirect(url_for("cart.view"), code=303)
    try:
        with unit_of_work():
            _tell(action(cart, product_id))
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

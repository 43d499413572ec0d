"""Placing an order: one transaction that re-checks everything and reserves stock atomically."""
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from ..addresses import address_problem
from ..cart.models import CartItem
from ..cart.services import review_cart
from ..clock import now_utc, today_wita
from ..extensions import db
from ..orders.links import access_token_hash, order_link_token
from ..orders.models import Order, OrderEvent, OrderLine, VillageOrder
from ..orders.notices import tell_buyer_order_placed
from ..orders.services import announce_to_villages
from ..products.models import CODE_ALPHABET, Product
from .shipping import quote_parcels


class CheckoutError(ValueError):
    """Something the buyer can fix (review the cart, choose another method); message for them."""


class SoldOut(CheckoutError):
    """Another buyer took the last units while this one was checking out."""

    @classmethod
    def of(cls, product):
        return cls(_("Sorry, %(name)s has just sold out or has fewer left than you asked for.",
                     name=product.name))


@dataclass
class PlacedOrder:
    order: Order
    #: The private link's token (only its hash is stored).
    access_token: str
    created: bool


def new_order_number(today):
    return f"NTT-{today:%y%m%d}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def place_order(*, cart, user_id, address, email, payment_method, idempotency_key,
                expected_total_idr, hold_minutes, lang="id"):
    """Turn the cart into an order: Order -> one VillageOrder per village -> snapshot lines,
    and the buyer's confirmation in the outbox (in ``lang``, the language they shop in).

    Re-checks the listing rule, prices and stock from the database; reserves stock with
    conditional UPDATEs (never read-then-write); the same ``idempotency_key`` returns the
    order the first call made. Two submits of one checkout at the very same moment: the second
    gets an ``IntegrityError`` from the unique key, and its caller finds the first one's order
    once its unit of work has rolled back. The caller commits.
    """
    existing = _by_key(idempotency_key)
    if existing is not None:
        return PlacedOrder(existing, order_link_token(idempotency_key), False)
    view = review_cart(cart)
    if not view.lines:
        raise CheckoutError(_("Your cart is empty."))
    short = [line for line in view.lines if line.sellable and line.item.quantity > line.product.stock]
    if short:
        raise SoldOut.of(short[0].product)
    if view.has_problems:
        raise CheckoutError(_("Something in your cart changed. Review it before paying."))
    problem = address_problem(address)
    if problem:  # the form says so at the field; this guards every other way in
        raise CheckoutError(problem)
    parcels = quote_parcels(view, address["regency_code"])
    subtotal = sum(p.subtotal_idr for p in parcels)
    shipping = sum(p.shipping_idr for p in parcels)
    if expected_total_idr != subtotal + shipping:
        raise CheckoutError(_("The total changed to %(total)s. Check it and confirm again.",
                              total=f"Rp {subtotal + shipping:,}".replace(",", ".")))
    if payment_method == "cod" and not all(p.village.cod_allowed for p in parcels):
        raise CheckoutError(_("Cash on delivery is not offered by every village in your cart."))

    # Reserve stock first: each UPDATE succeeds only while enough is left, so concurrent
    # buyers can never take the stock below zero (a CHECK constraint backs this up).
    for line in sorted((l for p in parcels for l in p.lines), key=lambda l: l.product.id):
        taken = db.session.execute(
            update(Product).where(Product.id == line.product.id, Product.stock >= line.item.quantity)
            .values(stock=Product.stock - line.item.quantity))
        if taken.rowcount != 1:  # the caller's unit of work gives back what was reserved
            raise SoldOut.of(line.product)

    token = order_link_token(idempotency_key)
    now = now_utc()
    order = Order(
        number=new_order_number(today_wita()), idempotency_key=idempotency_key, user_id=user_id,
        access_token_hash=access_token_hash(token), email=email, payment_method=payment_method,
        status="awaiting_payment", subtotal_idr=subtotal, shipping_idr=shipping,
        total_idr=subtotal + shipping,
        expires_at=now + timedelta(minutes=hold_minutes) if hold_minutes else None,
        lang=lang, **address)
    db.session.add(order)
    db.session.flush()
    for parcel in parcels:
        village_order = VillageOrder(
            order_id=order.id, village_id=parcel.village.id, village_name=parcel.village.name,
            status="awaiting_payment", weight_grams=parcel.weight_grams,
            chargeable_kg=parcel.chargeable_kg, zone=parcel.zone,
            subtotal_idr=parcel.subtotal_idr, shipping_idr=parcel.shipping_idr)
        db.session.add(village_order)
        db.session.flush()
        for line in parcel.lines:
            db.session.add(OrderLine(
                village_order_id=village_order.id, product_id=line.product.id, sku=line.product.sku,
                name=line.product.name, village_name=parcel.village.name,
                price_idr=line.product.price_idr, quantity=line.item.quantity,
                weight_grams=line.product.weight_grams))
    db.session.add(OrderEvent(order_id=order.id, from_status=None, to_status="awaiting_payment",
                              actor_name=email[:160], reason=f"placed ({payment_method})"))
    db.session.execute(CartItem.__table__.delete().where(CartItem.cart_id == cart.id))
    db.session.flush()
    tell_buyer_order_placed(order)
    if payment_method == "cod":
        announce_to_villages(order.id)  # nothing to wait for: the villages can start now
    return PlacedOrder(order, token, True)


def _by_key(key):
    return db.session.scalars(select(Order).where(Order.idempotency_key == key)).one_or_none()

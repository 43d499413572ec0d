"""Cart rules. Prices and availability always come from the database, never from the client."""
import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..listing.rule import sellable_product_ids
from ..money import format_idr
from ..products.models import Product
from ..villages.models import Village
from .models import Cart, CartItem

MAX_LINE_QUANTITY = 999


class CartError(ValueError):
    """A cart change that cannot be made; the message is for the buyer."""


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def new_guest_cart():
    """A cart for a guest; returns ``(cart, token)`` — the token goes in the buyer's cookie."""
    token = secrets.token_urlsafe(24)
    cart = Cart(token_hash=token_hash(token))
    db.session.add(cart)
    db.session.flush()
    return cart, token


def guest_cart(token):
    if not token:
        return None
    return db.session.scalars(select(Cart).where(Cart.token_hash == token_hash(token))).one_or_none()


def user_cart(user_id, create=False):
    cart = db.session.scalars(select(Cart).where(Cart.user_id == user_id)).one_or_none()
    if cart is None and create:
        cart = Cart(user_id=user_id)
        db.session.add(cart)
        db.session.flush()
    return cart


def _items(cart):
    return db.session.scalars(select(CartItem).where(CartItem.cart_id == cart.id)).all()


def _sellable_product(product_id):
    product = db.session.scalars(
        select(Product).where(Product.id == product_id, Product.id.in_(sellable_product_ids()))
    ).one_or_none()
    if product is None:
        raise CartError(_("This product is not for sale right now."))
    return product


def _check_quantity(quantity):
    if quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise CartError(_("Choose a quantity from 1 to %(max)s.", max=MAX_LINE_QUANTITY))


def most_available(product):
    """The most of ``product`` one cart line may hold now: its stock, at most ``MAX_LINE_QUANTITY``."""
    return max(0, min(product.stock, MAX_LINE_QUANTITY))


@dataclass(frozen=True)
class LineChange:
    """What a change did to a cart line, for the message the buyer reads."""

    name: str
    #: What the line holds now (0: it is gone).
    quantity: int
    #: The buyer asked for more than is available: the line holds the most there is.
    capped: bool = False
    #: The line's quantity stayed as it was (with ``capped``: it already held the most there is).
    unchanged: bool = False
    #: The per-line maximum (not the stock) was the limit.
    line_limit: bool = False


def _capped(product, wanted, before):
    """The line's new quantity for ``wanted``, capped at what is available."""
    most = most_available(product)
    if product.stock <= 0:
        raise CartError(_("%(name)s is sold out.", name=product.name))
    quantity = min(wanted, most)
    return LineChange(product.name, quantity, capped=wanted > most, unchanged=quantity == before,
                      line_limit=wanted > most and most == MAX_LINE_QUANTITY)


def add_to_cart(cart, product_id, quantity):
    """Add ``quantity`` of a sellable product. A line never holds more than is available: asked
    for more, it holds the most there is (``LineChange.capped`` says so)."""
    _check_quantity(quantity)
    product = _sellable_product(product_id)
    item = db.session.scalars(select(CartItem).where(
        CartItem.cart_id == cart.id, CartItem.product_id == product.id)).one_or_none()
    before = item.quantity if item else 0
    change = _capped(product, before + quantity, before)
    if item is None:
        db.session.add(CartItem(cart_id=cart.id, product_id=product.id, quantity=change.quantity,
                                price_seen_idr=product.price_idr))
    elif not change.unchanged:
        item.quantity = change.quantity
        item.price_seen_idr = product.price_idr
    db.session.flush()
    return change


def _item(cart, product_id):
    item = db.session.scalars(select(CartItem).where(
        CartItem.cart_id == cart.id, CartItem.product_id == product_id)).one_or_none()
    if item is None:
        raise CartError(_("That product is not in your cart."))
    return item


def remove_from_cart(cart, product_id):
    """Take a line out of the cart, whatever it holds and whether or not it is still for sale."""
    item = _item(cart, product_id)
    name = db.session.scalar(select(Product.name).where(Product.id == item.product_id))
    db.session.delete(item)
    db.session.flush()
    return LineChange(name, 0)


def set_quantity(cart, product_id, quantity):
    """Change a line's quantity; 0 removes it. Asked for more than is available, the line
    holds the most there is (``LineChange.capped`` says so)."""
    if quantity == 0:
        return remove_from_cart(cart, product_id)
    item = _item(cart, product_id)
    product = _sellable_product(product_id)
    change = _capped(product, quantity, item.quantity)
    item.quantity = change.quantity
    db.session.flush()
    return change


def merge_carts(guest, into):
    """On sign-in, move a guest cart's lines into the account's cart (capped at stock)."""
    if guest is None or guest.id == into.id:
        return
    existing = {item.product_id: item for item in _items(into)}
    stock = dict(db.session.execute(select(Product.id, Product.stock).where(
        Product.id.in_([i.product_id for i in _items(guest)]))).all())
    for item in _items(guest):
        target = existing.get(item.product_id)
        if target is None:
            db.session.add(CartItem(cart_id=into.id, product_id=item.product_id,
                                    quantity=min(item.quantity, max(stock.get(item.product_id, 0), 1)),
                                    price_seen_idr=item.price_seen_idr))
        else:
            target.quantity = max(1, min(target.quantity + item.quantity, stock.get(item.product_id, 0)))
    db.session.delete(guest)
    db.session.flush()


@dataclass
class Line:
    item: CartItem
    product: Product
    sellable: bool
    problems: list = field(default_factory=list)

    @property
    def total_idr(self):
        return self.product.price_idr * self.item.quantity

    @property
    def max_quantity(self):
        """The most the line's quantity box accepts: what is available (0 when not for sale)."""
        return most_available(self.product) if self.sellable else 0


@dataclass
class CartView:
    """The cart as it stands in the database now, grouped by village (one parcel each)."""

    lines: list
    villages: OrderedDict  # village -> [Line]

    @property
    def subtotal_idr(self):
        return sum(line.total_idr for line in self.lines if line.sellable)

    @property
    def weight_grams(self):
        return sum(line.product.weight_grams * line.item.quantity for line in self.lines if line.sellable)

    @property
    def has_problems(self):
        return any(line.problems for line in self.lines)

    @property
    def can_check_out(self):
        return bool(self.lines) and not self.has_problems

    @property
    def count(self):
        return sum(line.item.quantity for line in self.lines)


def review_cart(cart, on=None):
    """Recompute the cart from the database: flags lines that stopped being sellable,
    changed price since the buyer saw them, or ask for more than is in stock."""
    if cart is None:
        return CartView([], OrderedDict())
    items = db.session.scalars(
        select(CartItem).where(CartItem.cart_id == cart.id)
        .options(selectinload(CartItem.product).selectinload(Product.photos))
        .order_by(CartItem.id)).all()
    ids = [i.product_id for i in items]
    sellable = set(db.session.scalars(sellable_product_ids(on).where(Product.id.in_(ids)))) if ids else set()
    villages = {v.id: v for v in db.session.scalars(
        select(Village).where(Village.id.in_({i.product.village_id for i in items})))} if items else {}
    lines, grouped = [], OrderedDict()
    for item in items:
        product = item.product
        line = Line(item, product, product.id in sellable)
        if not line.sellable:
            line.problems.append(_("No longer for sale: its papers or listing changed."))
        else:
            if product.price_idr != item.price_seen_idr:
                line.problems.append(_("The price changed from %(old)s to %(new)s.",
                                       old=format_idr(item.price_seen_idr), new=format_idr(product.price_idr)))
            if product.stock <= 0:
                line.problems.append(_("Sold out."))
            elif item.quantity > product.stock:
                line.problems.append(_("Only %(stock)s left.", stock=product.stock))
        lines.append(line)
        grouped.setdefault(villages[product.village_id], []).append(line)
    return CartView(lines, grouped)


def accept_changes(cart):
    """The buyer accepts what changed: drop unavailable lines, take today's prices, cap at stock."""
    view = review_cart(cart)
    for line in view.lines:
        if not line.sellable or line.product.stock <= 0:
            db.session.delete(line.item)
            continue
        line.item.price_seen_idr = line.product.price_idr
        line.item.quantity = min(line.item.quantity, line.product.stock)
    db.session.flush()

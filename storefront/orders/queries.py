"""What the office reads about orders: what needs a person, what waits for a transfer, and
the orders it searches for."""
import re

from sqlalchemy import case, func, literal, or_, select

from ..extensions import db
from ..money import parse_price
from .models import Order, VillageOrder
from .status import NOT_SHIPPING


def held_orders():
    """Paid orders the office holds (a product lost its papers, money after the end), oldest first."""
    return db.session.scalars(select(Order).where(Order.hold_reason.is_not(None))
                              .order_by(Order.created_at)).all()


def parcels_needing_office():
    """``(parcel, order number)``: money to return by hand, and parcels not accepted in time."""
    return db.session.execute(
        select(VillageOrder, Order.number).join(Order, Order.id == VillageOrder.order_id)
        .where(or_(VillageOrder.refund_state.in_(("office", "refund_failed")),
                   VillageOrder.overdue_flagged_at.is_not(None)
                   & VillageOrder.status.in_(("paid", "awaiting_payment"))))
        .order_by(VillageOrder.id)).all()


def orders_awaiting_payment():
    return db.session.scalars(
        select(Order).where(Order.status == "awaiting_payment").order_by(Order.created_at)).all()


def recent_orders(limit=50):
    return db.session.scalars(
        select(Order).where(Order.status != "awaiting_payment")
        .order_by(Order.created_at.desc()).limit(limit)).all()


# --- the office's search -------------------------------------------------------------------------

#: The longest search the office's box takes (longer text is cut).
MAX_SEARCH_LENGTH = 100
#: A phone number is searched from this many digits on (fewer match too many orders).
MIN_PHONE_DIGITS = 4
_PHONE_SIGNS = re.compile(r"[\s().+-]")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def _parcel_counts():
    """Per order: its parcels, those that will ship, and those delivered and on their way."""
    live = VillageOrder.status.not_in(NOT_SHIPPING)
    return (select(VillageOrder.order_id.label("order_id"), func.count().label("parcels"),
                   func.sum(case((live, 1), else_=0)).label("live"),
                   func.sum(case((VillageOrder.status == "delivered", 1), else_=0)).label("delivered"),
                   func.sum(case((VillageOrder.status == "shipped", 1), else_=0)).label("shipped"))
            .group_by(VillageOrder.order_id).subquery("parcel_counts"))


def _derived_status(counts):
    """``status.order_state`` written in SQL, so a page of orders can be filtered by it in the
    database (tests/test_office_orders.py holds the two to the same answers)."""
    parcels, live, delivered, shipped = (func.coalesce(column, 0) for column in (
        counts.c.parcels, counts.c.live, counts.c.delivered, counts.c.shipped))
    held = Order.hold_reason.is_not(None) & (Order.hold_reason != "")
    return case(
        (Order.status.in_(("cancelled", "expired")), Order.status),
        ((parcels > 0) & (live == 0), literal("cancelled")),
        ((Order.status == "awaiting_payment") & (Order.payment_method != "cod"), literal("awaiting_payment")),
        ((live > 0) & (delivered == live), literal("delivered")),
        (delivered > 0, literal("partly_delivered")),
        ((live > 0) & (shipped == live), literal("shipped")),
        (shipped > 0, literal("partly_shipped")),
        (held, literal("on_hold")),
        (Order.payment_method == "cod", literal("cash_on_delivery")),
        else_=literal("paid"))


def _matches(text):
    """Conditions any of which makes an order match ``text``: part of its number, of its buyer's
    name or e-mail, the digits of its buyer's phone (``0812…`` finds ``+62812…``), or its total
    as an amount in rupiah ("85000", "85.000", "Rp 85.000")."""
    conditions = [Order.number.icontains("".join(text.split()), autoescape=True),
                  Order.name.icontains(text, autoescape=True),
                  Order.email.icontains(text, autoescape=True)]
    digits = _PHONE_SIGNS.sub("", text)
    if len(digits) >= MIN_PHONE_DIGITS and _ASCII_DIGITS.fullmatch(digits):
        conditions.append(Order.phone.contains("62" + digits[1:] if digits.startswith("0") else digits,
                                               autoescape=True))
    amount = parse_price(text)
    if amount is not None:
        conditions.append(Order.total_idr == amount)
    return conditions


def search_orders(text="", status=""):
    """A statement of the orders that match ``text`` (see ``_matches``; every order when it is
    empty) and whose derived status (``status.LABELS``) is ``status`` (any when empty), newest
    first: for the office, who pages through it."""
    stmt = select(Order)
    text = " ".join((text or "").split())[:MAX_SEARCH_LENGTH]
    if text:
        stmt = stmt.where(or_(*_matches(text)))
    if status:
        counts = _parcel_counts()
        stmt = stmt.outerjoin(counts, counts.c.order_id == Order.id).where(_derived_status(counts) == status)
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


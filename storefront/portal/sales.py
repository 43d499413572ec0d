"""Village portal: sales summary (a member's own village only).

Revenue and units by month (in WITA) and by product, from the village's paid parcels. Revenue
is the value of the goods as bought (line price × quantity, the order lines' snapshot);
shipping is not included. A parcel counts when its order is paid and the parcel was not
declined or cancelled. Everything is summed by the database (GROUP BY); months are cut in WITA.
"""
import re
from dataclasses import dataclass
from datetime import date

from flask import abort, render_template, request
from flask_babel import format_date
from flask_login import current_user
from sqlalchemy import func, select

from ..access import member_required
from ..extensions import db
from ..months import month_bounds, wita_month
from ..orders.models import Order, OrderLine, VillageOrder
from ..products.models import Product
from .blueprint import bp, own_village

#: Parcels that will not ship bring no money.
NOT_SOLD = ("declined", "cancelled")
MONTH_ARG = re.compile(r"^(\d{4})-(\d{2})$")


def _sold_lines(village_id):
    """Lines of the village's paid parcels, as a ``select`` to add columns and groups to."""
    return (
        select()
        .select_from(OrderLine)
        .join(VillageOrder, OrderLine.village_order_id == VillageOrder.id)
        .join(Order, VillageOrder.order_id == Order.id)
        .where(VillageOrder.village_id == village_id, Order.status == "paid",
               VillageOrder.status.not_in(NOT_SOLD))
    )


def _paid_moment():
    """When the money came; an order marked paid without a time (older rows) falls back to its creation."""
    return func.coalesce(Order.paid_at, Order.created_at)


@dataclass
class SalesRow:
    key: str
    label: str
    units: int
    revenue_idr: int
    parcels: int = 0
    sku: str = ""


def sales_by_month(village_id):
    """Newest month first: revenue, units and parcels of each WITA month with sales."""
    month = wita_month(_paid_moment()).label("month")
    revenue = func.sum(OrderLine.price_idr * OrderLine.quantity)
    rows = db.session.execute(
        _sold_lines(village_id)
        .add_columns(month, revenue.label("revenue"), func.sum(OrderLine.quantity).label("units"),
                     func.count(func.distinct(VillageOrder.id)).label("parcels"))
        .group_by(month).order_by(month.desc())
    ).all()
    return [SalesRow(key=row.month, label=_month_label(row.month), units=int(row.units),
                     revenue_idr=int(row.revenue), parcels=int(row.parcels)) for row in rows]


def sales_by_product(village_id, between=None):
    """Best sellers first: revenue and units of each product, all time or ``between`` two instants."""
    revenue = func.sum(OrderLine.price_idr * OrderLine.quantity)
    stmt = (
        _sold_lines(village_id)
        .outerjoin(Product, OrderLine.product_id == Product.id)
        .add_columns(OrderLine.product_id, OrderLine.sku, func.max(OrderLine.name).label("line_name"),
                     Product.name.label("product_name"), revenue.label("revenue"),
                     func.sum(OrderLine.quantity).label("units"))
        .group_by(OrderLine.product_id, OrderLine.sku, Product.name)
        .order_by(revenue.desc(), OrderLine.sku)
    )
    if between:
        stmt = stmt.where(_paid_moment() >= between[0], _paid_moment() < between[1])
    return [SalesRow(key=str(row.product_id or ""), label=row.product_name or row.line_name, sku=row.sku,
                     units=int(row.units), revenue_idr=int(row.revenue))
            for row in db.session.execute(stmt)]


def _month_label(key):
    year, month = map(int, key.split("-"))
    return format_date(date(year, month, 1), "MMMM yyyy")


@bp.get("/penjualan")
@member_required
def sales():
    """Revenue and units by month and by product; ``?bulan=YYYY-MM`` narrows products to a month."""
    month = request.args.get("bulan", "")
    between = None
    if month:
        match = MONTH_ARG.match(month)
        if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2999:
            abort(404)
        between = month_bounds(int(match.group(1)), int(match.group(2)))
    village_id = current_user.village_id
    months = sales_by_month(village_id)
    products = sales_by_product(village_id, between)
    totals = SalesRow(key="", label="", units=sum(r.units for r in months),
                      revenue_idr=sum(r.revenue_idr for r in months), parcels=sum(r.parcels for r in months))
    return render_template("portal/sales.html", village=own_village(), months=months, products=products,
                           totals=totals, month=month, month_label=_month_label(month) if month else "")

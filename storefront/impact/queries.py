"""The impact report's figures: what reached the villages, from which sales, where and when.

Every figure is an aggregate the database sums (``GROUP BY``), a fixed number of queries
whatever the number of villages, orders or months. The words the pages use mean:

- *paid to villages*: payouts the office marked paid (``status = 'paid'``), counted on their
  ``paid_on`` (a WITA date). A failed payout, or one still on its way to the bank, is not paid.
- *buyers' money*: the totals of the orders paid in the period (``paid_at``, cut in WITA).
- *the share*: paid to villages / buyers' money, both in the period. They are not the same
  sales: a village is paid after delivery, in batches, less the shop's fee and refunds.
- *a sold parcel*: a prepaid parcel whose order was paid in the period and that was not
  declined or cancelled; a cash-on-delivery parcel delivered in the period.
- *villages selling*: villages with a sold parcel in the period.
- *refunds*: the ledger's refund entries made in the period, and the parcels declined,
  cancelled or refunded after payment in the period.

Nothing here reads a buyer's name, address or e-mail: the public page is built from it too.
"""
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import format_date, gettext as _
from sqlalchemy import case, func, select

from ..extensions import db
from ..months import date_month, day_bounds, month_keys, months_before, wita_month
from ..orders.models import Order, OrderEvent, OrderLine, VillageOrder
from ..settlement.models import LedgerEntry, Payout, VillageBalance
from ..villages.models import Village
from ..villages.regions import regency_name

#: Parcels that will not ship bring no money.
NOT_SOLD = ("declined", "cancelled", "expired")
#: The period shown when none is asked for: this month and the eleven before it.
DEFAULT_MONTHS = 12
#: A longer period would draw a chart of hundreds of bars.
MAX_YEARS = 5
DATE_ARG = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PeriodError(ValueError):
    """A period that cannot be read; the message is for the user."""


@dataclass(frozen=True)
class Period:
    """From ``first`` to ``last``, both WITA dates, both included."""

    first: date
    last: date

    @property
    def instants(self):
        """The UTC instants where the period starts and where the day after it starts."""
        return day_bounds(self.first, self.last)

    @property
    def months(self):
        return month_keys(self.first, self.last)


def default_period(today):
    """This month and the eleven before it, up to today."""
    return Period(months_before(today, DEFAULT_MONTHS - 1), today)


def _read_date(text):
    if not DATE_ARG.match(text):
        raise PeriodError(_("Write dates as YYYY-MM-DD, e.g. 2026-07-01."))
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(_("Write dates as YYYY-MM-DD, e.g. 2026-07-01.")) from None
    if not 2000 <= day.year <= 2999:
        raise PeriodError(_("Choose dates between the years 2000 and 2999."))
    return day


def parse_period(first_text, last_text, today):
    """The period of the ``dari``/``sampai`` arguments. Either may be left out: the end is then
    today (or the start, if that is later), the start twelve months before the end. Raises
    PeriodError with a message for the user."""
    first_text, last_text = (first_text or "").strip(), (last_text or "").strip()
    first = _read_date(first_text) if first_text else None
    last = _read_date(last_text) if last_text else max(today, first or today)
    first = first or months_before(last, DEFAULT_MONTHS - 1)
    if first > last:
        raise PeriodError(_("The start date is after the end date."))
    if last - first > timedelta(days=366 * MAX_YEARS):
        raise PeriodError(_("A period can be at most %(years)s years long.", years=MAX_YEARS))
    return Period(first, last)


def month_label(key, pattern="MMMM yyyy"):
    """``2026-07`` -> ``Juli 2026`` / ``July 2026`` (or, with ``MMM yy``, ``Jul 26``)."""
    year, month = map(int, key.split("-"))
    return format_date(date(year, month, 1), pattern)


# --- the queries ---------------------------------------------------------------------------------

def _paid_payouts(period):
    return select().select_from(Payout).where(
        Payout.status == "paid", Payout.paid_on >= period.first, Payout.paid_on <= period.last)


def _sold_at():
    """When a parcel counts as sold: its order's payment, or delivery for cash on delivery."""
    return case((Order.payment_method == "cod", VillageOrder.delivered_at), else_=Order.paid_at)


def _sold_parcels(period):
    start, after = period.instants
    sold_at = _sold_at()
    return (select().select_from(VillageOrder).join(Order, Order.id == VillageOrder.order_id)
            .where(VillageOrder.village_id.is_not(None), VillageOrder.status.not_in(NOT_SOLD),
                   VillageOrder.refund_state.is_(None),  # a delivered parcel refunded later was not sold
                   sold_at >= start, sold_at < after))


def paid_by_regency(period):
    """regency code -> (payouts, rupiah paid)."""
    rows = db.session.execute(
        _paid_payouts(period).join(Village, Village.id == Payout.village_id)
        .add_columns(Village.regency_code, func.count(Payout.id), func.sum(Payout.amount_idr))
        .group_by(Village.regency_code)).all()
    return {code: (int(count), int(total)) for code, count, total in rows}


def paid_by_village(period):
    """village id -> (name, regency code, payouts, rupiah paid)."""
    rows = db.session.execute(
        _paid_payouts(period).join(Village, Village.id == Payout.village_id)
        .add_columns(Village.id, Village.name, Village.regency_code, func.count(Payout.id),
                     func.sum(Payout.amount_idr))
        .group_by(Village.id, Village.name, Village.regency_code)).all()
    return {row[0]: (row[1], row[2], int(row[3]), int(row[4])) for row in rows}


def paid_by_month(period):
    """``YYYY-MM`` -> rupiah paid."""
    month = date_month(Payout.paid_on)
    rows = db.session.execute(
        _paid_payouts(period).add_columns(month, func.sum(Payout.amount_idr)).group_by(month)).all()
    return {key: int(total) for key, total in rows}


def sold_by_regency(period):
    """regency code -> (villages selling, parcels, goods in rupiah)."""
    rows = db.session.execute(
        _sold_parcels(period).join(Village, Village.id == VillageOrder.village_id)
        .add_columns(Village.regency_code, func.count(func.distinct(VillageOrder.village_id)),
                     func.count(VillageOrder.id), func.sum(VillageOrder.subtotal_idr))
        .group_by(Village.regency_code)).all()
    return {code: (int(villages), int(parcels), int(goods)) for code, villages, parcels, goods in rows}


def sold_by_village(period):
    """village id -> (name, regency code, parcels, units, goods in rupiah) of villages that sold."""
    rows = db.session.execute(
        _sold_parcels(period).join(Village, Village.id == VillageOrder.village_id)
        .join(OrderLine, OrderLine.village_order_id == VillageOrder.id)
        .add_columns(Village.id, Village.name, Village.regency_code,
                     func.count(func.distinct(VillageOrder.id)), func.sum(OrderLine.quantity),
                     func.sum(OrderLine.price_idr * OrderLine.quantity))
        .group_by(Village.id, Village.name, Village.regency_code)).all()
    return {row[0]: (row[1], row[2], int(row[3]), int(row[4]), int(row[5])) for row in rows}


def sold_by_month(period):
    """``YYYY-MM`` -> (orders, parcels, units, goods in rupiah), by when each parcel sold."""
    month = wita_month(_sold_at())
    rows = db.session.execute(
        _sold_parcels(period).join(OrderLine, OrderLine.village_order_id == VillageOrder.id)
        .add_columns(month, func.count(func.distinct(Order.id)), func.count(func.distinct(VillageOrder.id)),
                     func.sum(OrderLine.quantity), func.sum(OrderLine.price_idr * OrderLine.quantity))
        .group_by(month)).all()
    return {key: tuple(int(value) for value in values) for key, *values in rows}


def sold_totals(period):
    """(orders, parcels, units, goods in rupiah) of the whole period."""
    row = db.session.execute(
        _sold_parcels(period).join(OrderLine, OrderLine.village_order_id == VillageOrder.id)
        .add_columns(func.count(func.distinct(Order.id)), func.count(func.distinct(VillageOrder.id)),
                     func.coalesce(func.sum(OrderLine.quantity), 0),
                     func.coalesce(func.sum(OrderLine.price_idr * OrderLine.quantity), 0))).one()
    return tuple(int(value) for value in row)


def buyers_money_by_month(period):
    """``YYYY-MM`` -> (orders paid, rupiah paid by buyers)."""
    start, after = period.instants
    month = wita_month(Order.paid_at)
    rows = db.session.execute(
        select(month, func.count(Order.id), func.sum(Order.total_idr))
        .where(Order.paid_at.is_not(None), Order.paid_at >= start, Order.paid_at < after)
        .group_by(month)).all()
    return {key: (int(count), int(total)) for key, count, total in rows}


def top_products(period, by="units", limit=10):
    """The best sellers of the period by ``units`` or by ``revenue`` (goods, without shipping)."""
    units = func.sum(OrderLine.quantity)
    revenue = func.sum(OrderLine.price_idr * OrderLine.quantity)
    order = (units.desc(), revenue.desc()) if by == "units" else (revenue.desc(), units.desc())
    rows = db.session.execute(
        _sold_parcels(period).join(OrderLine, OrderLine.village_order_id == VillageOrder.id)
        .add_columns(OrderLine.sku, func.max(OrderLine.name), func.max(OrderLine.village_name),
                     units.label("units"), revenue.label("revenue"))
        .group_by(OrderLine.product_id, OrderLine.sku).order_by(*order, OrderLine.sku).limit(limit)).all()
    return [ProductRow(sku=sku, name=name, village=village, units=int(u), revenue_idr=int(r))
            for sku, name, village, u, r in rows]


def parcels_given_back(period):
    """``declined``/``cancelled``/``refund`` -> (parcels, their goods and shipping in rupiah):
    moves in the period of parcels whose order had been paid."""
    start, after = period.instants
    rows = db.session.execute(
        select(OrderEvent.to_status, func.count(VillageOrder.id),
               func.sum(VillageOrder.subtotal_idr + VillageOrder.shipping_idr))
        .join(VillageOrder, VillageOrder.id == OrderEvent.village_order_id)
        .join(Order, Order.id == OrderEvent.order_id)
        .where(OrderEvent.to_status.in_(("declined", "cancelled", "refund")), Order.paid_at.is_not(None),
               OrderEvent.created_at >= start, OrderEvent.created_at < after)
        .group_by(OrderEvent.to_status)).all()
    return {status: (int(count), int(total)) for status, count, total in rows}


def refund_entries(period):
    """(entries, parcels, rupiah taken back) of the ledger's refund entries in the period."""
    start, after = period.instants
    row = db.session.execute(
        select(func.count(LedgerEntry.id), func.count(func.distinct(LedgerEntry.village_order_id)),
               func.coalesce(-func.sum(LedgerEntry.amount_idr), 0))
        .where(LedgerEntry.cause == "refund", LedgerEntry.created_at >= start,
               LedgerEntry.created_at < after)).one()
    return tuple(int(value) for value in row)


def money_on_its_way():
    """Now, not in a period: (pending: paid by buyers, not yet delivered; earned and waiting
    for a payout; payouts sent to the bank and not yet confirmed)."""
    positive = case((VillageBalance.available_idr > 0, VillageBalance.available_idr), else_=0)
    row = db.session.execute(select(
        select(func.coalesce(func.sum(VillageBalance.pending_idr), 0)).scalar_subquery(),
        select(func.coalesce(func.sum(positive), 0)).scalar_subquery(),
        select(func.coalesce(func.sum(Payout.amount_idr), 0))
        .where(Payout.status == "sent").scalar_subquery(),
    )).one()
    return tuple(int(value) for value in row)


# --- the report ----------------------------------------------------------------------------------

@dataclass
class RegencyRow:
    code: str
    name: str
    villages: int = 0
    parcels: int = 0
    goods_idr: int = 0
    payouts: int = 0
    paid_idr: int = 0


@dataclass
class VillageRow:
    id: int
    name: str
    regency: str
    parcels: int = 0
    units: int = 0
    goods_idr: int = 0
    payouts: int = 0
    paid_idr: int = 0


@dataclass
class MonthRow:
    key: str
    label: str
    paid_idr: int = 0
    orders_paid: int = 0
    buyers_idr: int = 0
    orders: int = 0
    parcels: int = 0
    units: int = 0
    goods_idr: int = 0


@dataclass
class ProductRow:
    sku: str
    name: str
    village: str
    units: int
    revenue_idr: int


@dataclass
class RefundRow:
    key: str
    label: str
    parcels: int
    amount_idr: int


@dataclass
class Report:
    period: Period
    regencies: list
    months: list
    pending_idr: int
    earned_idr: int
    sent_idr: int
    villages: list = field(default_factory=list)
    top_by_units: list = field(default_factory=list)
    top_by_revenue: list = field(default_factory=list)
    refunds: list = field(default_factory=list)
    sold: tuple = (0, 0, 0, 0)

    @property
    def paid_idr(self):
        return sum(row.paid_idr for row in self.months)

    @property
    def payouts(self):
        return sum(row.payouts for row in self.regencies)

    @property
    def buyers_idr(self):
        return sum(row.buyers_idr for row in self.months)

    @property
    def orders_paid(self):
        return sum(row.orders_paid for row in self.months)

    @property
    def villages_selling(self):
        return sum(row.villages for row in self.regencies)

    @property
    def share(self):
        """Paid to villages / buyers' money, or None when buyers paid nothing in the period."""
        return self.paid_idr / self.buyers_idr if self.buyers_idr else None


def regency_rows(period):
    """A row per regency that sold or was paid in the period, most paid first."""
    paid, sold = paid_by_regency(period), sold_by_regency(period)
    rows = []
    for code in paid.keys() | sold.keys():
        villages, parcels, goods = sold.get(code, (0, 0, 0))
        payouts, paid_idr = paid.get(code, (0, 0))
        rows.append(RegencyRow(code=code, name=regency_name(code), villages=villages, parcels=parcels,
                               goods_idr=goods, payouts=payouts, paid_idr=paid_idr))
    return sorted(rows, key=lambda row: (-row.paid_idr, -row.goods_idr, row.code))


def month_rows(period, with_sales=False):
    """A row per month of the period, oldest first (months without money too)."""
    paid, buyers = paid_by_month(period), buyers_money_by_month(period)
    sold = sold_by_month(period) if with_sales else {}
    rows = []
    for key in period.months:
        orders_paid, buyers_idr = buyers.get(key, (0, 0))
        orders, parcels, units, goods = sold.get(key, (0, 0, 0, 0))
        rows.append(MonthRow(key=key, label=month_label(key), paid_idr=paid.get(key, 0),
                             orders_paid=orders_paid, buyers_idr=buyers_idr, orders=orders, parcels=parcels,
                             units=units, goods_idr=goods))
    return rows


def public_report(period):
    """What anyone may see: totals, by regency and by month; no person, no order, no product."""
    pending, earned, sent = money_on_its_way()
    return Report(period=period, regencies=regency_rows(period), months=month_rows(period),
                  pending_idr=pending, earned_idr=earned, sent_idr=sent)


def office_report(period):
    """The office's report: the public figures, by village too, sales, best sellers, refunds."""
    report = public_report(period)
    report.months = month_rows(period, with_sales=True)
    report.sold = sold_totals(period)
    paid, sold = paid_by_village(period), sold_by_village(period)
    for village_id in paid.keys() | sold.keys():
        name, code, parcels, units, goods = sold.get(village_id) or (*paid[village_id][:2], 0, 0, 0)
        payouts, paid_idr = paid.get(village_id, (None, None, 0, 0))[2:]
        report.villages.append(VillageRow(id=village_id, name=name, regency=regency_name(code),
                                          parcels=parcels, units=units, goods_idr=goods, payouts=payouts,
                                          paid_idr=paid_idr))
    report.villages.sort(key=lambda row: (-row.paid_idr, -row.goods_idr, row.name))
    report.top_by_units = top_products(period, "units")
    report.top_by_revenue = top_products(period, "revenue")
    given_back = parcels_given_back(period)
    entries, entry_parcels, taken_back = refund_entries(period)
    labels = {"declined": _("Declined by the village after payment"),
              "cancelled": _("Cancelled after payment"), "refund": _("Refunded after delivery")}
    report.refunds = [RefundRow(key, label, *given_back.get(key, (0, 0))) for key, label in labels.items()]
    report.refunds.append(RefundRow("ledger", _("Taken back from the villages' ledgers"), entry_parcels,
                                    taken_back))
    return report

"""The office's impact report, ``/kantor/dampak``: money paid to villages by regency, village
and month, orders and units, best sellers, refunds and the share of buyers' money that reached
the villages, for a period; and the same tables as a CSV file (``queries.office_report``)."""
from flask import Response, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from ..access import office_required
from ..csv_safe import CsvWriter
from ..impact.queries import office_report
from ..impact.routes import chart_links, period_args, period_of
from .blueprint import bp


@bp.get("/dampak")
@office_required
def impact():
    """The report for ``?dari=&sampai=`` (default: the last 12 months)."""
    period, problem = period_of(request.args)
    report = office_report(period)
    top_tables = (("top-units", _("Top 10 products by items sold"), report.top_by_units),
                  ("top-revenue", _("Top 10 products by revenue"), report.top_by_revenue))
    return render_template("office/impact.html", report=report, problem=problem, top_tables=top_tables,
                           charts=chart_links(report, period),
                           csv_url=url_for("office.impact_csv", **period_args(period)))


#: The CSV's tables and columns: what each one holds (the code) and how its reader names it. The
#: file is a report for people with a spreadsheet, so names follow the reader's language; the
#: codes name them for the code and the tests. Amounts are whole rupiah, the share a percent.
TABLES = {
    "period": _l("Period"), "summary": _l("Summary"), "by_regency": _l("By regency"),
    "by_village": _l("By village"), "by_month": _l("By month"),
    "top_products_by_units": _l("Top 10 products by items sold"),
    "top_products_by_revenue": _l("Top 10 products by revenue"), "refunds": _l("Money given back in the period"),
}
COLUMNS = {
    "from": _l("From"), "to": _l("To"), "paid_to_villages_idr": _l("Paid to villages (Rp)"),
    "payouts": _l("Payouts confirmed"), "buyers_money_idr": _l("Buyers' money (Rp)"),
    "orders_paid": _l("Orders paid"), "share_percent": _l("Share that reached the villages (%)"),
    "villages_selling": _l("Villages selling"), "orders": _l("Orders"), "parcels": _l("Parcels"),
    "units": _l("Items"), "goods_idr": _l("Goods sold (Rp)"), "pending_idr": _l("Pending for the villages (Rp)"),
    "earned_unpaid_idr": _l("Earned, not paid out yet (Rp)"), "payouts_sent_idr": _l("Payouts being transferred (Rp)"),
    "regency_code": _l("Regency code"), "regency": _l("Regency"), "village": _l("Village"), "month": _l("Month"),
    "rank": _l("Rank"), "sku": _l("SKU"), "product": _l("Product"), "revenue_idr": _l("Revenue (Rp)"),
    "what": _l("What"), "amount_idr": _l("Amount (Rp)"),
}


def _table(name, columns, rows):
    """A table of the file: its name, its column names, its rows."""
    yield [str(TABLES[name])]
    yield [str(COLUMNS[column]) for column in columns]
    yield from rows


def report_rows(report):
    """The report's tables one after the other, an empty row between two."""
    period, sold = report.period, report.sold
    share = "" if report.share is None else f"{report.share * 100:.1f}"
    tables = [
        ("period", ["from", "to"], [[period.first.isoformat(), period.last.isoformat()]]),
        ("summary", ["paid_to_villages_idr", "payouts", "buyers_money_idr", "orders_paid", "share_percent",
                     "villages_selling", "orders", "parcels", "units", "goods_idr", "pending_idr",
                     "earned_unpaid_idr", "payouts_sent_idr"],
         [[report.paid_idr, report.payouts, report.buyers_idr, report.orders_paid, share,
           report.villages_selling, *sold, report.pending_idr, report.earned_idr, report.sent_idr]]),
        ("by_regency", ["regency_code", "regency", "villages_selling", "parcels", "goods_idr", "payouts",
                        "paid_to_villages_idr"],
         [[row.code, row.name, row.villages, row.parcels, row.goods_idr, row.payouts, row.paid_idr]
          for row in report.regencies]),
        ("by_village", ["village", "regency", "parcels", "units", "goods_idr", "payouts", "paid_to_villages_idr"],
         [[row.name, row.regency, row.parcels, row.units, row.goods_idr, row.payouts, row.paid_idr]
          for row in report.villages]),
        ("by_month", ["month", "paid_to_villages_idr", "orders_paid", "buyers_money_idr", "orders", "parcels",
                      "units", "goods_idr"],
         [[row.key, row.paid_idr, row.orders_paid, row.buyers_idr, row.orders, row.parcels, row.units,
           row.goods_idr] for row in report.months]),
        *((name, ["rank", "sku", "product", "village", "units", "revenue_idr"],
           [[rank, row.sku, row.name, row.village, row.units, row.revenue_idr] for rank, row in enumerate(rows, 1)])
          for name, rows in (("top_products_by_units", report.top_by_units),
                             ("top_products_by_revenue", report.top_by_revenue))),
        ("refunds", ["what", "parcels", "amount_idr"],
         [[row.label, row.parcels, row.amount_idr] for row in report.refunds]),
    ]
    for number, (name, columns, rows) in enumerate(tables):
        if number:
            yield []
        yield from _table(name, columns, rows)


@bp.get("/dampak.csv")
@office_required
def impact_csv():
    """The report's tables as one CSV file, for a spreadsheet."""
    period, _problem = period_of(request.args)
    writer = CsvWriter()
    writer.writerows(report_rows(office_report(period)))
    name = f"dampak-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(writer.take(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

"""The office's impact report, ``/kantor/dampak``: money paid to villages by regency, village
and month, orders and units, best sellers, refunds and the share of buyers' money that reached
the villages, for a period; and the same tables as a CSV file (``queries.office_report``)."""
from flask import Response, render_template, request, url_for
from flask_babel import gettext as _

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


def report_rows(report):
    """The report's tables one after the other: a row with the table's name, a row of column
    names, its rows, an empty row. Amounts in whole rupiah, the share in percent."""
    period, sold = report.period, report.sold
    share = "" if report.share is None else f"{report.share * 100:.1f}"
    yield ["period"]
    yield ["from", "to"]
    yield [period.first.isoformat(), period.last.isoformat()]
    yield []
    yield ["summary"]
    yield ["paid_to_villages_idr", "payouts", "buyers_money_idr", "orders_paid", "share_percent",
           "villages_selling", "orders", "parcels", "units", "goods_idr", "pending_idr", "earned_unpaid_idr",
           "payouts_sent_idr"]
    yield [report.paid_idr, report.payouts, report.buyers_idr, report.orders_paid, share,
           report.villages_selling, *sold, report.pending_idr, report.earned_idr, report.sent_idr]
    yield []
    yield ["by_regency"]
    yield ["regency_code", "regency", "villages_selling", "parcels", "goods_idr", "payouts",
           "paid_to_villages_idr"]
    for row in report.regencies:
        yield [row.code, row.name, row.villages, row.parcels, row.goods_idr, row.payouts, row.paid_idr]
    yield []
    yield ["by_village"]
    yield ["village", "regency", "parcels", "units", "goods_idr", "payouts", "paid_to_villages_idr"]
    for row in report.villages:
        yield [row.name, row.regency, row.parcels, row.units, row.goods_idr, row.payouts, row.paid_idr]
    yield []
    yield ["by_month"]
    yield ["month", "paid_to_villages_idr", "orders_paid", "buyers_money_idr", "orders", "parcels", "units",
           "goods_idr"]
    for row in report.months:
        yield [row.key, row.paid_idr, row.orders_paid, row.buyers_idr, row.orders, row.parcels, row.units,
               row.goods_idr]
    for name, rows in (("top_products_by_units", report.top_by_units),
                       ("top_products_by_revenue", report.top_by_revenue)):
        yield []
        yield [name]
        yield ["rank", "sku", "product", "village", "units", "revenue_idr"]
        for rank, row in enumerate(rows, 1):
            yield [rank, row.sku, row.name, row.village, row.units, row.revenue_idr]
    yield []
    yield ["refunds"]
    yield ["kind", "what", "parcels", "amount_idr"]
    for row in report.refunds:
        yield [row.key, row.label, row.parcels, row.amount_idr]


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

"""The public impact page, ``/dampak``: money paid to villages, where and when, for anyone.

Figures only (``queries.public_report``): no buyer, order or address. Each chart is an SVG of
its own URL, shown with ``<img alt>`` and followed by a table with the same numbers.
"""
from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import format_percent, gettext as _

from ..clock import today_wita
from . import queries
from .charts import WIDTH, bar_chart, chart_height

bp = Blueprint("impact", __name__)


def period_of(args):
    """The period of ``?dari=YYYY-MM-DD&sampai=YYYY-MM-DD``, and None; or, for values that
    cannot be read, the default period and a message that says so."""
    today = today_wita()
    try:
        return queries.parse_period(args.get("dari"), args.get("sampai"), today), None
    except queries.PeriodError as exc:
        message = _("%(problem)s Showing the last 12 months instead.", problem=str(exc))
        return queries.default_period(today), message


def period_args(period):
    """The query arguments that ask for ``period`` (chart and CSV links)."""
    return {"dari": period.first.isoformat(), "sampai": period.last.isoformat()}


@bp.app_template_filter("share")
def share_filter(share):
    """A ratio as a percentage in the page's language (``87,5 %``), or a dash when there is none."""
    return format_percent(share, "#,##0.0%") if share is not None else "—"


def chart_links(report, period):
    """Address, width and height of the report's two charts, for ``<img>``."""
    return {"regencies": {"url": url_for("impact.chart_regencies", **period_args(period)), "width": WIDTH,
                          "height": chart_height(len(report.regencies), horizontal=True)},
            "months": {"url": url_for("impact.chart_months", **period_args(period)), "width": WIDTH,
                       "height": chart_height(len(report.months))}}


@bp.get("/dampak")
def public():
    """Total paid to villages, villages selling, by regency and by month, with the share."""
    period, problem = period_of(request.args)
    report = queries.public_report(period)
    charts = chart_links(report, period)
    return render_template("impact/public.html", report=report, problem=problem, charts=charts)


def _svg(chart):
    response = Response(chart.svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = chart.content_security_policy
    return response


@bp.get("/dampak/bulanan.svg")
def chart_months():
    """Paid to villages by month, as a bar chart (the page's table has the numbers)."""
    period, _problem = period_of(request.args)
    paid = queries.paid_by_month(period)
    labels = [queries.month_label(key, "MMM yy") for key in period.months]
    return _svg(bar_chart(_("Paid to villages by month"), labels, [paid.get(key, 0) for key in period.months]))


@bp.get("/dampak/kabupaten.svg")
def chart_regencies():
    """Paid to villages by regency, most paid first, as a bar chart."""
    period, _problem = period_of(request.args)
    rows = queries.regency_rows(period)
    return _svg(bar_chart(_("Paid to villages by regency"), [row.name for row in rows],
                          [row.paid_idr for row in rows], horizontal=True))

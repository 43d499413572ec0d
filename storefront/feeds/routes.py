"""``/feed/<token>/orders.{atom,json,csv}``: a village's parcels for its own programs.

The token is the only key (like a calendar's secret address): an unknown, rotated or
suspended village's token answers 404, the same page whichever it is. Read-only (GET), so CSRF
does not apply. Cheap to poll: the ETag comes from one narrow query (id and change times of the
parcels the response holds), and a 304 is answered before any parcel is loaded. There is no
Last-Modified: a time in whole seconds cannot tell a change made in the same second as the last
poll, and ``If-Modified-Since`` alone would then answer 304 for a parcel that did change.
"""
import hashlib
import re
from datetime import datetime, timezone

from flask import Blueprint, Response, abort, request
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from ..clock import as_utc, to_wita
from ..extensions import db
from ..numbers import whole_number
from ..orders.models import Order, VillageOrder
from ..orders.notices import parcel_document
from ..orders.village_view import village_parcels_query
from ..urls import external_url
from ..villages.models import Village
from . import formats

bp = Blueprint("feeds", __name__, url_prefix="/feed")

#: Parcels per response; older ones are on the ``next`` page.
LIMIT = 100
#: Bumped when the shape of a feed changes, so cached copies are refetched.
FORMAT_VERSION = "1"
FORMATS = {
    "atom": ("application/atom+xml; charset=utf-8", formats.atom),
    "json": ("application/feed+json; charset=utf-8", formats.json_feed),
    "csv": ("text/csv; charset=utf-8", formats.csv_document),
}
#: ``+08:00`` typed into a query string arrives as `` 08:00``.
_SPACE_FOR_PLUS = re.compile(r"^(.*\d)\s(\d\d(?::?\d\d)?)$")


class BadParameter(ValueError):
    """A query parameter the feed cannot use; the message is shown to the caller."""


@bp.get("/<token>/orders.atom")
def orders_atom(token):
    return _feed(token, "atom")


@bp.get("/<token>/orders.json")
def orders_json(token):
    return _feed(token, "json")


@bp.get("/<token>/orders.csv")
def orders_csv(token):
    return _feed(token, "csv")


def _village(token):
    """The active village whose feed secret is ``token``, else 404 (nothing says which part failed)."""
    if not token or len(token) > 64:
        abort(404)
    village = db.session.scalars(select(Village).where(Village.feed_token == token)).one_or_none()
    if village is None or not village.active:
        abort(404)
    return village


def parse_since(value):
    """An ISO 8601 date or date-time as an aware UTC datetime; no zone means UTC."""
    value = value.strip()
    match = _SPACE_FOR_PLUS.match(value)
    if match:
        value = f"{match.group(1)}+{match.group(2)}"
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise BadParameter(
            "'since' must be an ISO 8601 date-time, e.g. 2026-11-29T08:00:00+08:00 "
            "(write + as %2B in a URL; a time without a zone is read as UTC).") from None


def parse_before(value):
    """The ``next`` page's cursor: ``<UTC date-time>,<parcel id>`` of the last parcel shown."""
    moment, _, parcel_id = value.strip().rpartition(",")
    parcel_id = whole_number(parcel_id, minimum=1)
    if parcel_id is None:
        raise BadParameter("'before' is not a valid cursor; follow the feed's next link as given.")
    try:
        return parse_since(moment), parcel_id
    except BadParameter:
        raise BadParameter("'before' is not a valid cursor; follow the feed's next link as given.") from None


def _cursor(parcel):
    return f"{as_utc(parcel.updated_at).strftime('%Y-%m-%dT%H:%M:%S.%fZ')},{parcel.id}"


def _filtered(village_id, since, before):
    stmt = village_parcels_query(village_id)
    if since is not None:
        stmt = stmt.where(VillageOrder.updated_at > since)
    if before is not None:
        moment, parcel_id = before
        stmt = stmt.where(or_(VillageOrder.updated_at < moment,
                              and_(VillageOrder.updated_at == moment, VillageOrder.id < parcel_id)))
    return stmt


def _feed(token, kind):
    village = _village(token)
    try:
        since = parse_since(request.args["since"]) if request.args.get("since") else None
        before = parse_before(request.args["before"]) if request.args.get("before") else None
    except BadParameter as exc:
        return Response(str(exc) + "\n", status=400, mimetype="text/plain")
    stmt = _filtered(village.id, since, before)

    # The validator first, from the window's ids and change times: a poll that changed nothing
    # loads no parcel.
    window = db.session.execute(
        stmt.with_only_columns(VillageOrder.id, VillageOrder.updated_at, Order.updated_at)
        .order_by(VillageOrder.updated_at.desc(), VillageOrder.id.desc()).limit(LIMIT + 1)).all()
    changed = max((as_utc(m) for row in window for m in row[1:] if m is not None),
                  default=datetime(2026, 1, 1, tzinfo=timezone.utc))
    changed = max(changed, as_utc(village.updated_at)) if village.updated_at else changed
    content_type, render = FORMATS[kind]
    response = Response(content_type=content_type)
    response.set_etag(_etag(kind, village, window))
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if kind == "csv":
        response.headers["Content-Disposition"] = f'attachment; filename="pesanan-{village.slug}.csv"'
    response.make_conditional(request)
    if response.status_code == 304:
        return response

    parcels = db.session.scalars(
        stmt.options(contains_eager(VillageOrder.order), selectinload(VillageOrder.lines))
        .order_by(VillageOrder.updated_at.desc(), VillageOrder.id.desc()).limit(LIMIT + 1)).all()
    more = len(parcels) > LIMIT
    parcels = parcels[:LIMIT]
    args = _echoed_args()
    endpoint = f"feeds.orders_{kind}"
    page = formats.FeedPage(
        village_id=village.id, village_name=village.name, updated=to_wita(changed),
        self_url=external_url(endpoint, token=token, **args),
        home_url=external_url("portal.orders"),
        next_url=(external_url(endpoint, token=token, **{**args, "before": _cursor(parcels[-1])})
                  if more else None),
        documents=[parcel_document(p, p.order, p.lines) for p in parcels])
    response.set_data(render(page))
    if page.next_url:
        response.headers["Link"] = f'<{page.next_url}>; rel="next"'
    return response


def _echoed_args():
    """The parameters the feed understands, as given: they go into its self and next links."""
    return {k: request.args[k] for k in ("since", "before") if request.args.get(k)}


def _etag(kind, village, window):
    """Strong: the parts below decide every byte of the body (the village's name, and each
    parcel and its order by id and exact change time; the links through the parameters)."""
    parts = [FORMAT_VERSION, kind, village.id, as_utc(village.updated_at),
             [(row[0], as_utc(row[1]), as_utc(row[2])) for row in window], LIMIT,
             sorted(_echoed_args().items())]
    return hashlib.sha256("|".join(map(repr, parts)).encode()).hexdigest()[:40]

"""The verified catalogue for partner marketplaces (e.g. NTT Mart): JSON and CSV, and the guide.

Read-only, so it is exempt from CSRF; it lists exactly what the shop sells. Anyone may read it,
as before partners had keys: the catalogue is public, and scripts and spreadsheets that read it
without a key keep working. A partner's key (``Authorization: Bearer mitra_...``, made by the
office at ``/kantor/mitra``) adds ``changed_since``, a limit of its own and an audit of what it
read; a key that is wrong, revoked or ended is refused (401), never read as anonymous, so a
partner notices. See docs/partners.md.
"""
from flask import Blueprint, Response, current_app, g, jsonify, render_template, request, stream_with_context
from flask_babel import gettext as _

from ..catalog import browse
from ..catalog.caching import cached_count
from ..catalog.paging import SortKey, count_rows, keyset_paginate
from ..clock import today_wita
from ..csv_safe import CsvWriter
from ..extensions import db
from ..legality.papers import papers_by_product
from ..numbers import whole_number
from ..outbox.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER
from ..partners.documents import product_document
from ..partners.keys import authenticate, bearer_key, record_read, take_request
from ..partners.services import partner_webhook_secret
from ..partners.sync import EVENT_KINDS, catalogue_changes, parse_time
from ..products.models import Product
from ..unit_of_work import unit_of_work
from ..urls import external_url

bp = Blueprint("api", __name__)
#: Where the API lives (the guide, ``/mitra``, is on this blueprint too).
API = "/api/v1"

CSV_COLUMNS = ("sku", "slug", "name", "village", "village_name", "regency", "category",
               "price_idr", "weight_grams", "stock", "non_halal", "url", "certificates")
CSV_CHUNK = 500
#: The largest ``changed_since`` cursor read (``seq`` is a 64-bit column).
CURSOR_MAX = 2 ** 62
#: The only arguments ``changed_since`` goes with: it answers for the whole catalogue.
CHANGES_ARGS = {"changed_since", "per_page"}
#: Endpoints a key may call, as the audit names them.
AUDITED = {"api.products": "products", "api.products_csv": "products.csv"}


@bp.record_once
def _register(state):
    """The outbox signs a partner's calls with the partner's secret; it asks here for it."""
    state.app.extensions["partner_webhook_secret"] = partner_webhook_secret


def _api_error(status, error, message, **headers):
    response = jsonify(error=error, message=message)
    response.status_code = status
    response.headers.update(headers)
    return response


@bp.before_request
def _partner_key():
    """Who is reading: a partner's key (checked, counted against its limit, and audited), or
    nobody (no ``Authorization`` header)."""
    g.partner_key = None
    if request.endpoint not in AUDITED:
        return None
    key = bearer_key(request.headers.get("Authorization"))
    if key is None:
        return None
    row = authenticate(key)
    if row is None:
        return _api_error(401, "invalid_key", _("This API key is not valid: it is wrong, revoked or ended. "
                                                "Ask the office for a new one."),
                          **{"WWW-Authenticate": 'Bearer realm="produkdesa", error="invalid_token"'})
    wait = take_request(row)
    if wait:
        return _api_error(429, "rate_limited",
                          _("This key made more than %(limit)d requests in a minute. Try again in "
                            "%(seconds)d seconds.", limit=row.requests_per_minute, seconds=wait),
                          **{"Retry-After": str(wait)})
    endpoint = AUDITED[request.endpoint]
    if endpoint == "products" and "changed_since" in request.args:
        endpoint = "changes"
    with unit_of_work():
        record_read(row, endpoint)
    g.partner_key = row.prefix
    return None


def _statement(today):
    f = browse.parse_filters(request.args, browse.all_categories())
    # Partners page through a stable order (by id) whatever sort a person would pick.
    return browse.catalog_statement(f, today).order_by(None), f


#: Partners page by id; ``after`` (the cursor in ``next``) skips straight to the next rows.
BY_ID = SortKey(Product.id, Product.id, False, whole_number)


def _per_page(default):
    per_page = whole_number(request.args.get("per_page"), minimum=1) or default
    return min(per_page, current_app.config["API_PAGE_SIZE_MAX"])


@bp.get(f"{API}/products")
def products():
    """One page of sellable products with their certificates; ``page`` and ``per_page``.
    With ``changed_since`` (a key's): what changed since then."""
    if "changed_since" in request.args:
        return _changes()
    today = today_wita()
    stmt, f = _statement(today)
    if f.problems:
        return jsonify(error="bad_request", problems=f.problems), 400
    per_page = _per_page(50)
    total = cached_count(("api", repr(sorted(request.args.items(multi=True)))), lambda: count_rows(stmt))
    # Where a plain ?page=N starts depends on the filters, not on the paging arguments.
    filters = repr(sorted((k, v) for k, v in request.args.items(multi=True)
                          if k not in ("page", "halaman", "after", "before", "per_page")))
    page = keyset_paginate(stmt, BY_ID, request.args, per_page, total=total,
                           row_key=lambda p: (p.id, p.id),
                           remember=lambda name, find: cached_count(("api", filters, name), find))
    papers = papers_by_product(page.items, today)
    args = {k: v for k, v in request.args.items() if k not in ("page", "after", "before")}
    return jsonify({
        "items": [product_document(p, papers[p.id]) for p in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
        "next": external_url("api.products", page=page.next_num, **args, **page.next_args) if page.has_next else None,
        "prev": external_url("api.products", page=page.prev_num, **args, **page.prev_args) if page.has_prev else None,
        "as_of": today.isoformat(),
    })


def _changes():
    """``?changed_since=<cursor or ISO 8601 time>``: listed products (their data now) and removed
    ones (id, SKU, when), oldest change first; ``cursor`` is what to send next time."""
    if g.partner_key is None:
        return _api_error(401, "key_required", _("changed_since is for partners: send your key as "
                                                 "Authorization: Bearer <key>."),
                          **{"WWW-Authenticate": 'Bearer realm="produkdesa"'})
    others = sorted(set(request.args) - CHANGES_ARGS)
    if others:
        return jsonify(error="bad_request", problems=[
            _("changed_since answers for the whole catalogue and cannot be combined with: %(names)s.",
              names=", ".join(others))]), 400
    value = request.args["changed_since"].strip()
    after_seq = whole_number(value, maximum=CURSOR_MAX)
    after_time = None if after_seq is not None else parse_time(value)
    if after_seq is None and after_time is None:
        return jsonify(error="bad_request", problems=[
            _("changed_since must be the cursor of an earlier answer (a number) or an ISO 8601 time, "
              "e.g. 2026-12-01T00:00:00+08:00 (write + as %(escaped)s in a URL).", escaped="%2B")]), 400
    per_page = _per_page(current_app.config["API_PAGE_SIZE_MAX"])
    page = catalogue_changes(after_seq=after_seq, after_time=after_time, limit=per_page)
    return jsonify({
        "items": page.items,
        "removed": page.removed,
        "cursor": page.cursor,
        "next": external_url("api.products", changed_since=page.cursor, per_page=per_page) if page.more else None,
        "as_of": today_wita().isoformat(),
    })


@bp.get(f"{API}/products.csv")
def products_csv():
    """Every sellable product, one row each; certificates as ``kind:number`` joined by ``|``."""
    today = today_wita()
    stmt, f = _statement(today)
    if f.problems:
        return jsonify(error="bad_request", problems=f.problems), 400

    def rows():
        writer = CsvWriter()
        writer.writerow(CSV_COLUMNS)
        last = 0
        while True:
            chunk = db.session.scalars(
                stmt.where(Product.id > last).order_by(Product.id).limit(CSV_CHUNK)).unique().all()
            if not chunk:
                break
            last = chunk[-1].id
            papers = papers_by_product(chunk, today)
            for product in chunk:
                item = product_document(product, papers[product.id])
                item["certificates"] = "|".join(
                    f"{c['kind']}:{c['number']}" for c in item["certificates"])
                item["non_halal"] = "true" if item["non_halal"] else "false"
                writer.writerow([item[column] for column in CSV_COLUMNS])
            yield writer.take()
        yield writer.take()

    return Response(
        stream_with_context(rows()), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="produk-ntt-{today.isoformat()}.csv"'},
    )


@bp.get("/mitra")
def partner_guide():
    """The partners' guide: keys, the API, ``changed_since``, the webhooks and their signature."""
    return render_template("partners/guide.html", event_kinds=EVENT_KINDS, api=external_url("api.products"),
                           headers={"signature": SIGNATURE_HEADER, "event_id": EVENT_ID_HEADER,
                                    "event_type": EVENT_TYPE_HEADER})

"""The verified catalogue for partner marketplaces (e.g. NTT Mart): JSON and CSV.

Read-only and public, so it is exempt from CSRF; it lists exactly what the shop sells.
"""
from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from ..catalog import browse
from ..catalog.caching import cached_count
from ..catalog.paging import SortKey, count_rows, keyset_paginate
from ..clock import today_wita
from ..csv_safe import CsvWriter
from ..extensions import db
from ..legality.papers import issuer, papers_by_product
from ..numbers import whole_number
from ..products.models import Product
from ..urls import external_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CSV_COLUMNS = ("sku", "slug", "name", "village", "village_name", "regency", "category",
               "price_idr", "weight_grams", "stock", "non_halal", "url", "certificates")
CSV_CHUNK = 500


def _item(product, papers):
    village = product.village
    return {
        "sku": product.sku,
        "slug": product.slug,
        "name": product.name,
        "village": village.slug,
        "village_name": village.name,
        "regency": village.regency_name,
        "regency_code": village.regency_code,
        "category": product.category.code,
        "description": product.description,
        "price_idr": product.price_idr,
        "weight_grams": product.weight_grams,
        "stock": product.stock,
        "in_stock": product.stock > 0,
        "non_halal": product.non_halal,
        "url": external_url("catalog.product_detail", slug=product.slug),
        "image": (external_url("media.file", filename=f"{product.photos[0].key}-l.jpg")
                  if product.photos else None),
        "certificates": [
            {
                "kind": paper.kind,
                "number": paper.number,
                "issuer": issuer(paper, village.regency_name),
                "issued_on": paper.issued_on.isoformat(),
                "expires_on": paper.expires_on.isoformat() if paper.expires_on else None,
                "status": paper.status,
            }
            for paper in papers
        ],
    }


def _statement(today):
    f = browse.parse_filters(request.args, browse.all_categories())
    # Partners page through a stable order (by id) whatever sort a person would pick.
    return browse.catalog_statement(f, today).order_by(None), f


#: Partners page by id; ``after`` (the cursor in ``next``) skips straight to the next rows.
BY_ID = SortKey(Product.id, Product.id, False, whole_number)


@bp.get("/products")
def products():
    """One page of sellable products with their certificates; ``page`` and ``per_page``."""
    today = today_wita()
    stmt, f = _statement(today)
    if f.problems:
        return jsonify(error="bad_request", problems=f.problems), 400
    per_page = whole_number(request.args.get("per_page"), minimum=1) or 50
    per_page = min(per_page, current_app.config["API_PAGE_SIZE_MAX"])
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
        "items": [_item(p, papers[p.id]) for p in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
        "next": external_url("api.products", page=page.next_num, **args, **page.next_args) if page.has_next else None,
        "prev": external_url("api.products", page=page.prev_num, **args, **page.prev_args) if page.has_prev else None,
        "as_of": today.isoformat(),
    })


@bp.get("/products.csv")
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
                item = _item(product, papers[product.id])
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

"""Village profiles: who makes the goods, where, and with which papers."""
from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..catalog import browse
from ..catalog.caching import cached_count, cached_page
from ..catalog.paging import count_rows, keyset_paginate, page_number
from ..clock import today_wita
from ..extensions import db
from ..legality.papers import issuer, village_wide_papers
from ..listing.rule import sellable_products
from ..products.models import Product
from .models import Village
from .regions import REGENCIES

bp = Blueprint("villages", __name__)


@bp.get("/desa")
@cached_page
def village_list():
    """Active villages, those with most products on sale first; filter by regency."""
    regency = request.args.get("kabupaten") or request.args.get("regency")
    if regency not in REGENCIES:
        regency = None
    page = browse.village_page(regency, page_number(request.args), 30)
    return render_template("villages/list.html", page=page, regency=regency, regencies=REGENCIES)


@bp.get("/desa/<slug>")
@cached_page
def village_detail(slug):
    """A village's profile and its sellable products; a suspended village is a 404."""
    village = db.session.scalars(
        select(Village).where(Village.slug == slug, Village.active)).one_or_none()
    if village is None:
        abort(404)
    today = today_wita()
    stmt = (sellable_products(today).where(Product.village_id == village.id)
            .options(selectinload(Product.photos)))
    name = ("village", village.id, str(today))
    products = keyset_paginate(
        stmt, browse.KEYS["newest"], request.args, current_app.config["CATALOG_PAGE_SIZE"],
        row_key=lambda p: (p.created_at, p.id),
        total=cached_count(name, lambda: count_rows(stmt)),
        remember=lambda page, find: cached_count(name + (page,), find))
    papers = village_wide_papers(village.id, today)
    issuers = {paper.id: issuer(paper, village.regency_name) for paper in papers}
    return render_template("villages/detail.html", village=village, products=products,
                           papers=papers, issuers=issuers)

"""Public shop pages: home, catalogue, product, search."""
from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy.orm import selectinload

from ..clock import today_wita
from ..extensions import db
from ..legality.papers import issuer, papers_by_product
from ..listing.rule import sellable_products
from ..products.models import Product
from ..villages.regions import REGENCIES
from . import browse
from .caching import cached_page

bp = Blueprint("catalog", __name__)


@bp.get("/")
@cached_page
def home():
    """What the programme is, featured villages and the newest products."""
    today = today_wita()
    products = db.session.scalars(
        sellable_products(today).options(selectinload(Product.photos))
        .order_by(*browse.SORTS["newest"]).limit(8)
    ).unique().all()
    villages = browse.top_villages(6, on=today)
    return render_template("catalog/home.html", products=products, villages=villages)


@bp.get("/produk")
@cached_page
def product_list():
    """The catalogue: filter by category, regency, village and halal; sort; paginate."""
    categories = browse.all_categories()
    f = browse.parse_filters(request.args, categories)
    page = browse.paginate_catalog(f, current_app.config["CATALOG_PAGE_SIZE"], request.args)
    return render_template(
        "catalog/list.html", page=page, filters=f, categories=categories,
        villages=browse.active_villages(f.regency), regencies=REGENCIES, sorts=browse.SORTS,
    )


@bp.get("/produk/<slug>")
@cached_page
def product_detail(slug):
    """A sellable product with the papers that make it so; anything else is a 404."""
    today = today_wita()
    product = db.session.scalars(
        sellable_products(today).where(Product.slug == slug).options(selectinload(Product.photos))
    ).unique().one_or_none()
    if product is None:
        abort(404)
    papers = papers_by_product([product], today)[product.id]
    more = db.session.scalars(
        sellable_products(today)
        .where(Product.village_id == product.village_id, Product.id != product.id)
        .options(selectinload(Product.photos))
        .order_by(*browse.SORTS["newest"]).limit(4)
    ).unique().all()
    issuers = {paper.id: issuer(paper, product.village.regency_name) for paper in papers}
    return render_template("catalog/product.html", product=product, papers=papers,
                           issuers=issuers, more=more)


@bp.get("/cari")
@cached_page
def search():
    """Search products (and their villages and categories) by words, most relevant first; the
    price range, category and order of the catalogue apply too."""
    categories = browse.all_categories()
    f = browse.parse_filters(request.args, categories)
    page = villages = plan = None
    if f.q:
        plan = browse.plan_search(f.q)
        page = browse.paginate_catalog(f, current_app.config["CATALOG_PAGE_SIZE"], request.args, plan=plan)
        villages = browse.search_villages(plan)
    return render_template("catalog/search.html", filters=f, page=page, villages=villages, plan=plan,
                           categories=categories)

"""``/robots.txt``, the sitemaps, the product feeds and the share cards; and the canonical and
language links every public page carries (``base.html``).

Read-only and public. Sitemaps are small and go out with an ETag of their content; the feeds
stream every sellable product and are answered 304, before any product is read, while the
catalogue's version holds (``catalog/caching.py``).
"""
from datetime import timezone

from flask import (Blueprint, Response, abort, current_app, make_response, render_template, request,
                   stream_with_context)
from flask_babel import force_locale, gettext as _
from jinja2 import pass_context
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.http import is_resource_modified

from ..catalog.caching import catalogue_version, page_etag
from ..clock import today_wita
from ..extensions import db
from ..i18n import current_language
from ..listing.rule import sellable_products
from ..pages.services import PAGES
from ..products.models import Product
from ..storage import media_store
from ..urls import external_url
from ..villages.models import Village
from . import cards, links, merchant, queries, structured

bp = Blueprint("seo", __name__)
bp.app_url_defaults(links.keep_language)

#: Paths no crawler needs: personal or secret (accounts, orders, the portal and office, the
#: village order feeds under ``/feed/``), endless (search, language switches), or for programs
#: rather than search results (the partners' API, whose products are the pages listed anyway).
#: The product feeds for Google and Meta under ``/feeds/`` stay open to their fetchers.
DISALLOW = ("/portal", "/kantor", "/keranjang", "/checkout", "/pesanan", "/akun", "/masuk", "/daftar",
            "/lupa-sandi", "/reset-sandi/", "/undangan/", "/feed/", "/dokumen/", "/bahasa/", "/cari", "/api/")
#: The last product sitemap file that can exist (ids up to a billion).
MAX_SITEMAP_FILE = 100_000
#: How long a share card may be kept: a year under its versioned address, an hour otherwise.
CARD_SECONDS, CARD_SECONDS_UNVERSIONED = 31_536_000, 3600
XML = "application/xml"


def w3c(moment):
    """A sitemap's ``lastmod``: W3C datetime in UTC, e.g. ``2026-12-03T08:22:54Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


# --- on every public page -------------------------------------------------------------------------

@bp.app_template_global()
@pass_context
def seo_links(context):
    """Canonical and ``hreflang`` links of the page being rendered; None on error pages (they get
    a ``status``) and on pages that are not public."""
    if "status" in context:
        return None
    return links.current_page_links(current_language())


@bp.app_template_global()
def product_meta(product):
    return structured.product_meta(product)


@bp.app_template_global()
def village_meta(village):
    return structured.village_meta(village)


# --- robots.txt and sitemaps ----------------------------------------------------------------------

def _text_response(body, mimetype):
    """A small public document with an ETag of its content: 304 while it is the same."""
    response = make_response(body)
    response.mimetype = mimetype
    response.add_etag()
    response.cache_control.public = True
    response.cache_control.no_cache = True
    return response.make_conditional(request)


@bp.get("/robots.txt")
def robots():
    body = render_template("seo/robots.txt", disallow=DISALLOW, sitemap=external_url("seo.sitemap_index"))
    return _text_response(body, "text/plain")


def _entry(endpoint, values, lastmod):
    """One ``<url>`` of a sitemap: the page in the first language, its lastmod, its alternates."""
    url = links.language_url(endpoint, values, current_app.config["BABEL_DEFAULT_LOCALE"])
    alternates = [(lang, links.with_language(url, lang)) for lang in current_app.config["LANGUAGES"]]
    alternates.append(("x-default", url))
    return {"loc": url, "lastmod": w3c(lastmod), "alternates": alternates}


def _urlset(entries):
    return _text_response(render_template("seo/urlset.xml", entries=entries), XML)


def _page_entries():
    catalogue = queries.catalogue_changed()
    villages = queries.villages_changed()
    revisions = queries.page_revisions()
    entries = [
        _entry("catalog.home", {}, queries.latest(catalogue, villages)),
        _entry("catalog.product_list", {}, catalogue),
        _entry("villages.village_list", {}, queries.latest(catalogue, villages)),
        _entry("impact.public", {}, None),
    ]
    entries += [_entry("pages.show", {"slug": slug}, revisions.get(slug)) for slug in PAGES]
    return entries


def _product_file_url(number):
    if number == 1:
        return external_url("seo.sitemap_products")
    return external_url("seo.sitemap_products_more", number=number)


@bp.get("/sitemap.xml")
def sitemap_index():
    """The sitemap index: the shop's pages, the villages, and the products' files."""
    pages = _page_entries()
    villages = queries.sitemap_villages()
    files = [
        # Every lastmod is UTC in one format: the greatest text is the latest time.
        (external_url("seo.sitemap_pages"), max((e["lastmod"] for e in pages if e["lastmod"]), default=None)),
        (external_url("seo.sitemap_villages"), w3c(queries.latest(*(changed for _slug, changed in villages)))),
    ]
    files += [(_product_file_url(number), w3c(changed)) for number, changed in queries.product_buckets()]
    return _text_response(render_template("seo/sitemap_index.xml", files=files), XML)


@bp.get("/sitemap-halaman.xml")
def sitemap_pages():
    """Home, the catalogue, the villages, the impact report and the shop's own pages."""
    return _urlset(_page_entries())


@bp.get("/sitemap-desa.xml")
def sitemap_villages():
    """Every active village's page."""
    return _urlset([_entry("villages.village_detail", {"slug": slug}, changed)
                    for slug, changed in queries.sitemap_villages()])


def _products_file(number):
    return _urlset([_entry("catalog.product_detail", {"slug": slug}, changed)
                    for slug, changed in queries.sitemap_products(number)])


@bp.get("/sitemap-produk.xml")
def sitemap_products():
    """The sellable products of the first id range (``queries.SITEMAP_SIZE``)."""
    return _products_file(1)


@bp.get("/sitemap-produk-<id:number>.xml")
def sitemap_products_more(number):
    """The sellable products of id range ``number`` (2 and up)."""
    if not 2 <= number <= MAX_SITEMAP_FILE:
        abort(404)
    return _products_file(number)


# --- product feeds --------------------------------------------------------------------------------

def _feed(stream, mimetype, filename):
    """A feed of every sellable product: 304 while the catalogue's version holds, else streamed."""
    config = current_app.config
    etag = page_etag(config["RELEASE"], catalogue_version().page, (config["PUBLIC_URL"], request.path))
    if not is_resource_modified(request.environ, etag=etag):
        response = Response(status=304)
    else:
        response = Response(stream_with_context(stream()), mimetype=mimetype)
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.no_cache = True
    return response


@bp.get("/feeds/google-merchant.xml")
def google_merchant():
    """Google Merchant Center: RSS 2.0, one ``<item>`` with ``g:`` fields per sellable product."""
    today = today_wita()

    with force_locale("id"):  # the products' own texts are Indonesian: the feed is too
        title = _("Village Products of NTT")
        description = _("Certified products from the villages of Nusa Tenggara Timur: coffee, palm sugar, "
                        "honey, moringa, woven ikat and more.")

    def stream():
        yield merchant.google_head(title, external_url("catalog.home"), description)
        for chunk in queries.sellable_in_chunks(today):
            yield "".join(merchant.google_item(product) for product in chunk)
        yield merchant.GOOGLE_TAIL

    return _feed(stream, "application/rss+xml", "google-merchant.xml")


@bp.get("/feeds/meta-catalogue.csv")
def meta_catalogue():
    """Meta (Facebook, Instagram, WhatsApp) catalogue: CSV, one row per sellable product."""
    today = today_wita()
    return _feed(lambda: merchant.meta_chunks(queries.sellable_in_chunks(today)), "text/csv",
                 "meta-catalogue.csv")


# --- share cards ----------------------------------------------------------------------------------

def _card(key):
    name, version = cards.card_file(key)
    response = media_store().response(name, mimetype="image/jpeg", max_age=CARD_SECONDS_UNVERSIONED)
    if request.args.get("v") == version:
        response.headers["Cache-Control"] = f"public, max-age={CARD_SECONDS}, immutable"
    else:
        response.headers["Cache-Control"] = f"public, max-age={CARD_SECONDS_UNVERSIONED}"
    return response


@bp.get("/kartu/produk/<slug>.jpg")
def product_card(slug):
    """The 1200 × 630 share card of a sellable product; anything else is a 404."""
    product = db.session.scalars(
        sellable_products(today_wita()).where(Product.slug == slug).options(selectinload(Product.photos))
    ).unique().one_or_none()
    if product is None:
        abort(404)
    return _card(product.photos[0].key if product.photos else product.village.photo)


@bp.get("/kartu/desa/<slug>.jpg")
def village_card(slug):
    """The share card of an active village."""
    village = db.session.scalars(select(Village).where(Village.slug == slug, Village.active)).one_or_none()
    if village is None:
        abort(404)
    return _card(village.photo)

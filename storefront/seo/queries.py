"""What the sitemaps and product feeds list, read through the listing rule in few queries.

Every product listed is one ``sellable_condition`` accepts today (``storefront/listing/rule.py``);
nothing here restates the rule. A page's last change (a sitemap's ``lastmod``) is the latest of
what it shows: the product row (price, stock, text; an approved change of its photos goes through
the office's review, which writes the product), its village, and the village's papers.
"""
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..clock import as_utc, today_wita
from ..extensions import db
from ..legality.models import Certificate
from ..listing.rule import sellable_condition, sellable_products
from ..pages.services import latest_revisions
from ..products.models import Product
from ..villages.models import Village

#: Products per product sitemap file, by id range (``/sitemap-produk-<n>.xml`` holds ids
#: ``(n-1)*SITEMAP_SIZE+1`` to ``n*SITEMAP_SIZE``): a product stays in the same file, and no
#: file comes near the 50,000 addresses a sitemap may hold.
SITEMAP_SIZE = 10_000
#: Products read per query while a feed is written.
FEED_CHUNK = 500


def latest(*moments):
    """The latest of ``moments`` (UTC, aware), ignoring None; None if there is none."""
    known = [as_utc(m) for m in moments if m is not None]
    return max(known) if known else None


def _papers_changed():
    """Per village, when one of its papers last changed."""
    return (select(Certificate.village_id, func.max(Certificate.updated_at).label("changed"))
            .group_by(Certificate.village_id).subquery())


def _sellable_rows(*columns, on=None):
    papers = _papers_changed()
    return (select(*columns, Product.updated_at, Village.updated_at, papers.c.changed)
            .join(Product.village).join(Product.category)
            .outerjoin(papers, papers.c.village_id == Village.id)
            .where(sellable_condition(on or today_wita())))


def product_buckets(on=None):
    """(file number, lastmod) of each product sitemap file that lists at least one product. One
    query."""
    bucket = ((Product.id - 1) // SITEMAP_SIZE + 1).label("bucket")
    papers = _papers_changed()
    stmt = (select(bucket, func.max(Product.updated_at), func.max(Village.updated_at), func.max(papers.c.changed))
            .join(Product.village).join(Product.category)
            .outerjoin(papers, papers.c.village_id == Village.id)
            .where(sellable_condition(on or today_wita()))
            .group_by(bucket).order_by(bucket))
    return [(int(number), latest(*moments)) for number, *moments in db.session.execute(stmt)]


def sitemap_products(number, on=None):
    """(slug, lastmod) of the sellable products of product sitemap file ``number``. One query."""
    first = (number - 1) * SITEMAP_SIZE + 1
    stmt = (_sellable_rows(Product.slug, on=on)
            .where(Product.id.between(first, first + SITEMAP_SIZE - 1)).order_by(Product.id))
    return [(slug, latest(*moments)) for slug, *moments in db.session.execute(stmt)]


def sitemap_villages(on=None):
    """(slug, lastmod) of every active village: its page shows its profile, its papers and its
    sellable products, so the latest change of any of them. One query."""
    papers = _papers_changed()
    sold = (select(Product.village_id, func.max(Product.updated_at).label("changed"))
            .join(Product.village).join(Product.category)
            .where(sellable_condition(on or today_wita())).group_by(Product.village_id).subquery())
    stmt = (select(Village.slug, Village.updated_at, papers.c.changed, sold.c.changed)
            .outerjoin(papers, papers.c.village_id == Village.id)
            .outerjoin(sold, sold.c.village_id == Village.id)
            .where(Village.active).order_by(Village.id))
    return [(slug, latest(*moments)) for slug, *moments in db.session.execute(stmt)]


def catalogue_changed(on=None):
    """When anything listed last changed (the home page and the catalogue). One query."""
    papers = _papers_changed()
    stmt = (select(func.max(Product.updated_at), func.max(Village.updated_at), func.max(papers.c.changed))
            .join(Product.village).join(Product.category)
            .outerjoin(papers, papers.c.village_id == Village.id)
            .where(sellable_condition(on or today_wita())))
    return latest(*db.session.execute(stmt).one())


def villages_changed():
    """When an active village last changed (the list of villages). One query."""
    return latest(db.session.scalar(select(func.max(Village.updated_at)).where(Village.active)))


def page_revisions():
    """Shop page address (``tentang``) -> when its text shown now was saved (absent: the default
    text). One query."""
    return {slug: as_utc(revision.created_at) for slug, revision in latest_revisions().items()}


def sellable_in_chunks(on=None, size=FEED_CHUNK):
    """Every sellable product, by id, with village, category and photos loaded: ``size`` at a
    time, two queries per chunk (products, their photos) whatever their number."""
    stmt = sellable_products(on or today_wita()).options(selectinload(Product.photos))
    last = 0
    while True:
        chunk = db.session.scalars(stmt.where(Product.id > last).order_by(Product.id).limit(size)).unique().all()
        if not chunk:
            return
        yield chunk
        if len(chunk) < size:
            return
        last = chunk[-1].id

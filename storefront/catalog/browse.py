"""Catalogue filters, search and sort, built on top of the listing rule (``sellable``).

Filters come from the query string; anything unknown or malformed is dropped with a
message rather than answered with an error, so an old or hand-edited link still works.
"""
from dataclasses import astuple, dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Integer, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import selectinload

from ..clock import today_wita
from ..extensions import db
from ..listing.rule import sellable_condition, sellable_products
from ..numbers import whole_number
from ..products.models import Category, Product
from ..villages.models import Village
from ..villages.regions import REGENCIES
from .caching import cached_count
from .paging import KeysetPage, SortKey, count_rows, keyset_paginate, page_number

SORTS = {
    "newest": (Product.created_at.desc(), Product.id.desc()),
    "price_asc": (Product.price_idr.asc(), Product.id.asc()),
    "price_desc": (Product.price_idr.desc(), Product.id.desc()),
    "name": (Product.name.asc(), Product.id.asc()),
}
#: The same orders as keysets for ``paging``: (column, attribute, descending, cursor parser).
KEYS = {
    "newest": SortKey(Product.created_at, Product.id, True, datetime.fromisoformat),
    "price_asc": SortKey(Product.price_idr, Product.id, False, whole_number),
    "price_desc": SortKey(Product.price_idr, Product.id, True, whole_number),
    "name": SortKey(Product.name, Product.id, False, str),
}
_KEY_ATTRIBUTES = {"newest": "created_at", "price_asc": "price_idr", "price_desc": "price_idr",
                   "name": "name"}
_SORT_ALIASES = {"price": "price_asc", "-price": "price_desc", "new": "newest", "terbaru": "newest",
                 "termurah": "price_asc", "termahal": "price_desc"}
_HALAL_VALUES = {
    "halal": "halal", "1": "halal", "true": "halal", "ya": "halal", "yes": "halal",
    "non-halal": "non_halal", "non_halal": "non_halal", "0": "non_halal", "false": "non_halal",
    "tidak": "non_halal", "no": "non_halal",
}
MAX_QUERY_LENGTH = 100
MAX_TERMS = 8


@dataclass
class Filters:
    category: str | None = None
    regency: str | None = None
    village: str | None = None
    halal: str | None = None  # "halal" or "non_halal"
    sort: str = "newest"
    page: int = 1
    q: str = ""
    problems: list = field(default_factory=list)

    def args(self, **changes):
        """Query-string arguments for a link that keeps these filters."""
        values = {"kategori": self.category, "kabupaten": self.regency, "desa": self.village,
                  "halal": self.halal and self.halal.replace("_", "-"),
                  "urut": None if self.sort == "newest" else self.sort, "q": self.q or None,
                  "page": self.page if self.page > 1 else None}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


def _first(args, *names):
    for name in names:
        value = args.get(name)
        if value not in (None, ""):
            return value.strip()
    return None


def parse_filters(args, categories):
    """Read filters from a query string; accept Indonesian and English parameter names."""
    f = Filters()
    codes = {c.code for c in categories}
    category = _first(args, "kategori", "category")
    if category:
        if category in codes:
            f.category = category
        else:
            f.problems.append(_("Unknown category “%(value)s” was ignored.", value=category[:40]))
    regency = _first(args, "kabupaten", "regency")
    if regency:
        if regency in REGENCIES:
            f.regency = regency
        else:
            f.problems.append(_("Unknown regency “%(value)s” was ignored.", value=regency[:40]))
    village = _first(args, "desa", "village")
    if village:
        f.village = village[:80]
    halal = _first(args, "halal")
    if halal:
        f.halal = _HALAL_VALUES.get(halal.lower())
        if f.halal is None:
            f.problems.append(_("Unknown halal filter “%(value)s” was ignored.", value=halal[:40]))
    sort = _first(args, "urut", "sort")
    if sort:
        sort = _SORT_ALIASES.get(sort, sort)
        if sort in SORTS:
            f.sort = sort
        else:
            f.problems.append(_("Unknown sort order “%(value)s” was ignored.", value=sort[:40]))
    f.page = page_number(args)
    f.q = " ".join((_first(args, "q") or "").split())[:MAX_QUERY_LENGTH]
    return f


def _like(term):
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column, term):
    """``column`` holds ``term``, ignoring case (ILIKE on PostgreSQL, LIKE on SQLite)."""
    return column.ilike(_like(term), escape="\\")


def search_terms(q):
    return q.split()[:MAX_TERMS]


#: PostgreSQL only (migration ``8e03b8d86d63``): trigram GIN indexes that answer the search's
#: ILIKEs from an index instead of a pass over the table. index name -> (table, column).
TRIGRAM_INDEXES = {
    "ix_products_name_trgm": ("products", "name"),
    "ix_products_description_trgm": ("products", "description"),
    "ix_products_sku_trgm": ("products", "sku"),
    "ix_villages_name_trgm": ("villages", "name"),
    "ix_villages_group_name_trgm": ("villages", "group_name"),
    "ix_villages_district_trgm": ("villages", "district"),
    "ix_villages_story_trgm": ("villages", "story"),
}
#: Past this many villages holding one word, the word's village clause stays a subquery rather
#: than a list of ids (a word that short matches nearly every product anyway).
MAX_LISTED_VILLAGES = 500
#: Where a search word may appear.
_PRODUCT_COLUMNS = (Product.name, Product.description, Product.sku)
_VILLAGE_COLUMNS = (Village.name, Village.group_name, Village.district)
_CATEGORY_COLUMNS = (Category.name_id, Category.name_en)


def _holders(terms):
    """For each word, the ids of the villages (name, group name, district) and categories
    (either name) that hold it: one small query, answered from the trigram indexes."""
    parts = []
    for i, term in enumerate(terms):
        parts.append(select(literal(i, Integer).label("term"), literal("village").label("kind"),
                            Village.id.label("id"))
                     .where(or_(*(_contains(c, term) for c in _VILLAGE_COLUMNS))))
        parts.append(select(literal(i, Integer), literal("category"), Category.id)
                     .where(or_(*(_contains(c, term) for c in _CATEGORY_COLUMNS))))
    found = [({"village": [], "category": []}) for _ in terms]
    for term, kind, row_id in db.session.execute(union_all(*parts)):
        found[term][kind].append(row_id)
    return found


def search_condition(q):
    """Every word must appear in the product (name, description, SKU), its village (name, group
    name, district) or its category (either name); case does not matter.

    Written over ``Product``'s own columns only: the villages and categories that hold a word are
    looked up first (``_holders``, one query) and become ``village_id IN (...)`` and
    ``category_id IN (...)``. So the database filters products before it checks the listing rule,
    and can tell a rare word (answered from the trigram indexes) from a common one (answered by
    walking the sort order until the page is full).
    """
    terms = search_terms(q)
    clauses = []
    for term, holders in zip(terms, _holders(terms)):
        villages = holders["village"]
        if len(villages) > MAX_LISTED_VILLAGES:
            villages = select(Village.id).where(or_(*(_contains(c, term) for c in _VILLAGE_COLUMNS)))
        clauses.append(or_(*(_contains(column, term) for column in _PRODUCT_COLUMNS),
                           Product.village_id.in_(villages),
                           Product.category_id.in_(holders["category"])))
    return and_(*clauses)


def catalog_statement(f, on=None):
    """The sellable products matching ``f``, sorted, with what a product card shows.

    With a regency or a village the products are found from their villages first (a few
    thousand at most) and each one's papers are looked up on its own; without, PostgreSQL
    checks the papers of the whole shop at once (``sellable.listing_clauses``). For
    ``?kategori=kopi&kabupaten=53.09`` at national scale that is 345 products: hashing every
    covered product of the shop for them took 184 ms (bench/RESULTS.md)."""
    narrow = bool(f.regency or f.village)
    stmt = sellable_products(on, per_product=narrow).options(selectinload(Product.photos))
    if f.category:
        # As a condition on the product's own column, not on the joined category row: then the
        # category stays a key lookup per product, where PostgreSQL checks the food papers product
        # by product as it walks the sort order. Filtering the joined row made it hash every
        # product's papers first (220 ms for /produk?kategori=kopi at national scale, now 8 ms).
        stmt = stmt.where(Product.category_id.in_(select(Category.id).where(Category.code == f.category)))
    if f.regency:
        stmt = stmt.where(Village.regency_code == f.regency)
    if f.village:
        stmt = stmt.where(Village.slug == f.village)
    if f.halal == "halal":
        stmt = stmt.where(Category.is_food, Product.non_halal.is_(False))
    elif f.halal == "non_halal":
        stmt = stmt.where(Product.non_halal.is_(True))
    if f.q:
        stmt = stmt.where(search_condition(f.q))
    return stmt.order_by(*SORTS[f.sort])


def paginate_catalog(f, per_page, args, on=None):
    """One page of the catalogue for filters ``f``: keyset links; the total, and where a plain
    ``?page=N`` starts, found once per catalogue version."""
    stmt = catalog_statement(f, on).order_by(None)
    signature = repr(astuple(f)[:5] + (f.q, str(on)))
    if f.category or f.village or f.halal or f.q:
        total = cached_count(("catalogue", signature), lambda: count_rows(stmt))
    else:
        # The whole catalogue or one regency's: the sum of the villages' counts, which the home
        # page and the village list need too (one pass of the rule per version, not two).
        total = cached_count(("catalogue", signature), lambda: sum(
            n for _, regency, n in village_ranking(on) if f.regency in (None, regency)))
    attribute = _KEY_ATTRIBUTES[f.sort]
    return keyset_paginate(stmt, KEYS[f.sort], args, per_page, total=total,
                           row_key=lambda p: (getattr(p, attribute), p.id),
                           remember=lambda name, find: cached_count(("catalogue", signature, name), find))


def all_categories():
    return db.session.scalars(select(Category).order_by(Category.position, Category.code)).all()


#: Above this many villages the catalogue's village filter lists one regency's villages only.
VILLAGE_CHOICES_MAX = 100


def active_villages(regency=None):
    """Villages for the filter's list, as ``(slug, name)`` rows: all of them in a small shop,
    else those of ``regency``. Read in name order from ``ix_villages_name``, so finding out that
    there are too many costs 101 short rows, not a sort of every village."""
    stmt = select(Village.slug, Village.name).where(Village.active).order_by(Village.name)
    if regency:
        stmt = stmt.where(Village.regency_code == regency)
    villages = db.session.execute(stmt.limit(VILLAGE_CHOICES_MAX + 1)).all()
    return villages if len(villages) <= VILLAGE_CHOICES_MAX else []


def villages_with_counts(regency=None, on=None, search=None, columns=(Village,)):
    """Active villages with how many sellable products each has, as (village, count) rows, most
    first, then by name (or rows of ``columns`` and the count).

    With a regency or search words, only the products of the villages shown are counted, and
    the villages are found once (the search's words from the trigram indexes on PostgreSQL).
    """
    conditions = [Village.active]
    if regency:
        conditions.append(Village.regency_code == regency)
    if search:
        held_in = _VILLAGE_COLUMNS + (Village.story,)
        conditions += [or_(*(_contains(c, t) for c in held_in)) for t in search_terms(search)]
    counts = (select(Product.village_id, func.count().label("n"))
              .join(Product.village).join(Product.category)
              .where(sellable_condition(on)))
    if len(conditions) > 1:
        # Find the villages shown once, and count only their products, not the whole shop's.
        shown = select(Village.id).where(*conditions).cte("shown")
        counts = counts.where(Product.village_id.in_(select(shown.c.id)))
        conditions = [Village.id.in_(select(shown.c.id))]
    counts = counts.group_by(Product.village_id).subquery()
    n = func.coalesce(counts.c.n, 0)
    return (
        select(*columns, n)
        .select_from(Village)
        .outerjoin(counts, counts.c.village_id == Village.id)
        .where(*conditions)
        .order_by(n.desc(), Village.name, Village.id)  # the id: villages may share a name
    )


def search_villages(q, on=None, limit=6):
    """The villages holding every word of ``q`` (name, group name, district or story), most
    products on sale first, as (village, count) rows for the search page's village box.

    Which villages and in what order is counted once per catalogue version (their products are
    checked against the listing rule); after that a request only loads the villages shown.
    """
    on = on or today_wita()
    counted = []

    def rank():
        counted.extend(db.session.execute(villages_with_counts(on=on, search=q).limit(limit)).all())
        return [(village.id, n) for village, n in counted]

    ranking = cached_count(("search villages", q, str(on), limit), rank)
    return counted or _load_ranked(ranking)


def village_ranking(on=None):
    """Every active village as ``(id, regency code, products on sale)``, most products first,
    then by name: the order of the home page's villages and of the village list.

    Counted once per catalogue version: it is one pass of the listing rule over the whole
    catalogue (at national scale, 100,000 products), which no single page should pay for.
    """
    on = on or today_wita()  # one entry whether a page names today or leaves it to the rule

    def rank():
        stmt = villages_with_counts(on=on, columns=(Village.id, Village.regency_code))
        return [tuple(row) for row in db.session.execute(stmt)]

    return cached_count(("village ranking", str(on)), rank)


def _load_ranked(ranking):
    """``(village, count)`` for ``(village id, count)`` pairs, in their order; one query."""
    if not ranking:
        return []
    villages = {v.id: v for v in db.session.scalars(
        select(Village).where(Village.id.in_([village_id for village_id, _ in ranking])))}
    return [(villages[village_id], n) for village_id, n in ranking if village_id in villages]


def top_villages(limit, on=None):
    """The ``limit`` villages with most products on sale, as (village, count) rows."""
    return _load_ranked([(village_id, n) for village_id, _, n in village_ranking(on)[:limit]])


def village_page(regency, page, per_page, on=None):
    """One page of the village list (all of NTT or one regency) in ranking order."""
    rows = [(village_id, n) for village_id, village_regency, n in village_ranking(on)
            if regency in (None, village_regency)]
    items = _load_ranked(rows[(page - 1) * per_page:page * per_page])
    return KeysetPage(items, page, per_page, len(rows), {}, {})

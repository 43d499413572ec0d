"""Catalogue filters, search and sort, built on top of the listing rule (``sellable``).

Filters come from the query string; anything unknown or malformed is dropped with a
message rather than answered with an error, so an old or hand-edited link still works.
The words of a search are planned in ``search.py`` (what each word finds, and the points that
order the results by relevance).
"""
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..clock import today_wita
from ..extensions import db
from ..listing.rule import sellable_condition, sellable_products
from ..money import parse_price
from ..numbers import whole_number
from ..products.models import Category, Product
from ..villages.models import Village
from ..villages.regions import REGENCIES
from .caching import cached_count
from .paging import (KeysetPage, SortKey, count_rows, decode_cursor, encode_cursor, keyset_paginate,
                     page_number)
from .search import (MAX_QUERY_LENGTH, VILLAGE_COLUMNS, SearchPlan, contains, plan_search, rank,
                     search_condition, search_terms)

SORTS = {
    "newest": (Product.created_at.desc(), Product.id.desc()),
    "price_asc": (Product.price_idr.asc(), Product.id.asc()),
    "price_desc": (Product.price_idr.desc(), Product.id.desc()),
    "name": (Product.name.asc(), Product.id.asc()),
}
#: Only with search words: most points first, then in stock, then newer (``search.rank``).
RELEVANCE = "relevance"
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
                 "termurah": "price_asc", "termahal": "price_desc", "relevan": RELEVANCE,
                 "relevansi": RELEVANCE}
_HALAL_VALUES = {
    "halal": "halal", "1": "halal", "true": "halal", "ya": "halal", "yes": "halal",
    "non-halal": "non_halal", "non_halal": "non_halal", "0": "non_halal", "false": "non_halal",
    "tidak": "non_halal", "no": "non_halal",
}
#: Query-string names of the price range (Indonesian first, as the shop's own links write them).
PRICE_MIN_NAMES = ("harga_min", "min_price")
PRICE_MAX_NAMES = ("harga_maks", "max_price")


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
    #: Whole rupiah, both ends included.
    price_min: int | None = None
    price_max: int | None = None
    #: The price boxes as typed, shown again when they could not be read.
    price_text: tuple = ("", "")

    @property
    def default_sort(self):
        return RELEVANCE if self.q else "newest"

    @property
    def narrowed(self):
        """Whether anything narrows or reorders the catalogue (then "clear filters" is offered)."""
        return bool(self.category or self.regency or self.village or self.halal or self.q
                    or self.price_min is not None or self.price_max is not None
                    or self.sort != self.default_sort)

    def signature(self, on=None):
        """What the products listed depend on (not the page): a key for counts kept in the cache."""
        return repr((self.category, self.regency, self.village, self.halal, self.sort, self.q,
                     self.price_min, self.price_max, str(on)))

    def args(self, **changes):
        """Query-string arguments for a link that keeps these filters."""
        values = {"kategori": self.category, "kabupaten": self.regency, "desa": self.village,
                  "halal": self.halal and self.halal.replace("_", "-"),
                  "harga_min": self.price_min, "harga_maks": self.price_max,
                  "urut": None if self.sort == self.default_sort else self.sort, "q": self.q or None,
                  "page": self.page if self.page > 1 else None}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


def _first(args, *names):
    for name in names:
        value = args.get(name)
        if value not in (None, ""):
            return value.strip()
    return None


def _parse_prices(args, f):
    typed = [(_first(args, *PRICE_MIN_NAMES) or "")[:40], (_first(args, *PRICE_MAX_NAMES) or "")[:40]]
    prices = [parse_price(text) if text else None for text in typed]
    if typed[0] and prices[0] is None:
        f.problems.append(_("The lowest price “%(value)s” is not an amount in rupiah (for example "
                            "50000, 50.000 or 50rb) and was ignored.", value=typed[0]))
    if typed[1] and prices[1] is None:
        f.problems.append(_("The highest price “%(value)s” is not an amount in rupiah (for example "
                            "50000, 50.000 or 50rb) and was ignored.", value=typed[1]))
    if None not in prices and prices[0] > prices[1]:
        prices.reverse()
        f.problems.append(_("The lowest price was above the highest, so the two were swapped."))
    f.price_min, f.price_max = prices
    f.price_text = tuple(text if price is None else str(price) for text, price in zip(typed, prices))


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
    _parse_prices(args, f)
    f.page = page_number(args)
    f.q = " ".join((_first(args, "q") or "").split())[:MAX_QUERY_LENGTH]
    f.sort = f.default_sort
    sort = _first(args, "urut", "sort")
    if sort:
        sort = _SORT_ALIASES.get(sort, sort)
        if sort in SORTS or (sort == RELEVANCE and f.q):
            f.sort = sort
        elif sort != RELEVANCE:  # "relevance" without words: a link from an emptied search box
            f.problems.append(_("Unknown sort order “%(value)s” was ignored.", value=sort[:40]))
    return f


#: PostgreSQL only (migration ``8e03b8d86d63``): trigram GIN indexes that answer the search's
#: ILIKEs from an index instead of a pass over the table, and find the names near a typo
#: (``search.py``). index name -> (table, column).
TRIGRAM_INDEXES = {
    "ix_products_name_trgm": ("products", "name"),
    "ix_products_description_trgm": ("products", "description"),
    "ix_products_sku_trgm": ("products", "sku"),
    "ix_villages_name_trgm": ("villages", "name"),
    "ix_villages_group_name_trgm": ("villages", "group_name"),
    "ix_villages_district_trgm": ("villages", "district"),
    "ix_villages_story_trgm": ("villages", "story"),
}


def catalog_statement(f, on=None, plan=None):
    """The sellable products matching ``f``, sorted, with what a product card shows.

    With a regency or a village the products are found from their villages first (a few
    thousand at most) and each one's papers are looked up on its own; without, PostgreSQL
    checks the papers of the whole shop at once (``sellable.listing_clauses``). For
    ``?kategori=kopi&kabupaten=53.09`` at national scale that is 345 products: hashing every
    covered product of the shop for them took 184 ms (bench/RESULTS.md).

    ``plan``: the ``search.SearchPlan`` of ``f.q`` when the caller has it already."""
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
    if f.price_min is not None:
        stmt = stmt.where(Product.price_idr >= f.price_min)
    if f.price_max is not None:
        stmt = stmt.where(Product.price_idr <= f.price_max)
    if f.q:
        plan = plan or plan_search(f.q)
        stmt = stmt.where(search_condition(plan))
    return stmt.order_by(*sort_key(f, plan).order_by())


def sort_key(f, plan=None):
    """The keyset of ``f``'s order; relevance needs the search's ``plan``."""
    if f.sort == RELEVANCE:
        return SortKey(rank(plan or plan_search(f.q)), Product.id, True, whole_number)
    return KEYS[f.sort]


def paginate_catalog(f, per_page, args, on=None, plan=None):
    """One page of the catalogue for filters ``f``: keyset links; the total, and where a plain
    ``?page=N`` starts, found once per catalogue version."""
    if f.q:
        plan = plan or plan_search(f.q)
    stmt = catalog_statement(f, on, plan).order_by(None)
    signature = f.signature(on)
    if f.sort == RELEVANCE:
        return _ranked_page(stmt, sort_key(f, plan), args, per_page, signature, on)
    if f.category or f.village or f.halal or f.q or f.price_min is not None or f.price_max is not None:
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


#: How many results of a search are ranked at once and kept per catalogue version (100 pages).
MAX_RANKED = 2400


def _ranked_page(stmt, key, args, per_page, signature, on):
    """A page of search results by relevance.

    Ranking needs every match's points, not just the first rows of an index: at national scale
    a word like "kopi" matches 9,000 products. So the ranking (ids and points of the first
    ``MAX_RANKED`` results, and the total) is one query, kept once per catalogue version like a
    count, and a page loads its products by id (checked against the listing rule again). Pages
    past the kept ranking are read by keyset on the points, as the other orders are."""
    def rank():
        rows = db.session.execute(
            stmt.with_only_columns(Product.id, key.column, func.count().over(), maintain_column_froms=True)
            .order_by(*key.order_by()).limit(MAX_RANKED)).all()
        return rows[0][2] if rows else 0, [(points, product_id) for product_id, points, _ in rows]

    total, ranking = cached_count(("ranking", signature), rank)
    page = page_number(args)
    after = decode_cursor(args.get("after"), key)
    before = decode_cursor(args.get("before"), key) if after is None else None
    # The ranking is in descending (points, id): bisect on the negated pairs, which ascend.
    order = [(-points, -product_id) for points, product_id in ranking]
    if after is not None:
        start = end = bisect_right(order, (-after[0], -after[1]))
    elif before is not None:
        end = bisect_left(order, (-before[0], -before[1]))
        start = max(0, end - per_page)
    else:
        start = end = (page - 1) * per_page
    if max(start + per_page, end + 1) > len(ranking) and len(ranking) < total:
        return keyset_paginate(stmt, key, args, per_page, total=total, select_key=True)
    shown = ranking[start:start + per_page]
    loaded = {p.id: p for p in db.session.scalars(
        sellable_products(on).where(Product.id.in_([product_id for _, product_id in shown]))
        .options(selectinload(Product.photos))).unique()}
    items = [loaded[product_id] for _, product_id in shown if product_id in loaded]
    next_args = {"after": encode_cursor(*shown[-1])} if shown else {}
    prev_args = {"before": encode_cursor(*shown[0])} if shown else {}
    return KeysetPage(items, page, per_page, total, next_args, prev_args)


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


def _village_words(search):
    """The words of a search for the village box, one tuple per typed word: a ``SearchPlan``'s
    (synonyms, corrections) or the plain words of a string."""
    if isinstance(search, SearchPlan):
        return [term.words for term in search.terms]
    return [(word,) for word in search_terms(search)]


def villages_with_counts(regency=None, on=None, search=None, columns=(Village,)):
    """Active villages with how many sellable products each has, as (village, count) rows, most
    first, then by name (or rows of ``columns`` and the count).

    ``search``: words (a string or a ``search.SearchPlan``), each of which the village must hold
    in its name, group name, district or story. With a regency or search words, only the
    products of the villages shown are counted, and the villages are found once (the search's
    words from the trigram indexes on PostgreSQL).
    """
    conditions = [Village.active]
    if regency:
        conditions.append(Village.regency_code == regency)
    if search:
        held_in = VILLAGE_COLUMNS + (Village.story,)
        conditions += [or_(*(contains(c, w) for w in words for c in held_in))
                       for words in _village_words(search)]
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


def search_villages(search, on=None, limit=6):
    """The villages holding every word of ``search`` (a string, or the ``search.SearchPlan`` of
    the page's words: then synonyms and corrections count too) in their name, group name,
    district or story, most products on sale first, as (village, count) rows for the search
    page's village box.

    Which villages and in what order is counted once per catalogue version (their products are
    checked against the listing rule); after that a request only loads the villages shown.
    """
    on = on or today_wita()
    counted = []
    words = _village_words(search)
    if not words:
        return []

    def rank():
        counted.extend(db.session.execute(villages_with_counts(on=on, search=search).limit(limit)).all())
        return [(village.id, n) for village, n in counted]

    ranking = cached_count(("search villages", repr(words), str(on), limit), rank)
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

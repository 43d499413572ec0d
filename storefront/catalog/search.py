"""Search: which products hold the words typed, and in what order of relevance.

A search is planned once (``plan_search``) and the plan feeds both the filter and the order:

- **Which products.** Every word must be found, ignoring case, in the product (name,
  description, SKU), its village (name, group name, district) or its category (either name).
  A word is found as part of a longer one, so a beginning ("mor", "tenu") finds the whole word.
  An English word of the shop's goods also finds its Indonesian one ("moringa" -> "kelor",
  ``SYNONYMS``), from its first three letters on. A word found nowhere is taken for a typo and
  replaced by the nearest words of the shop's names ("kopii" -> "kopi", ``nearest_words``); the
  page says so.
- **In what order.** Each word earns a product points by where it is found, the best place
  counting: a word of the product's name beginning with it, then anywhere in the name or the
  category, then the village, then the description or SKU (``POINTS``). Products with most
  points come first; among equals, those in stock, then newer ones (``rank``). The points are
  whole numbers computed by the database, so the order is the same on SQLite and PostgreSQL and
  pages are cut by keyset.

Where the database helps: on PostgreSQL the trigram GIN indexes (migration ``8e03b8d86d63``)
answer the ``ILIKE`` of every word and find the names a typo is near (pg_trgm's ``<%``, word
similarity); on SQLite the names are read once per catalogue version and kept
(``cached_count``). The listing rule is never restated here: the plan only adds conditions to
``sellable_products``.
"""
import re
from typing import NamedTuple

from sqlalchemy import Integer, and_, case, func, literal, or_, select, union, union_all

from ..extensions import db
from ..products.models import Category, Product
from ..villages.models import Village
from .caching import cached_count

MAX_QUERY_LENGTH = 100
MAX_TERMS = 8
#: Past this many villages holding one word, the word's village clause stays a subquery rather
#: than a list of ids (a word that short matches nearly every product anyway).
MAX_LISTED_VILLAGES = 500
#: Where a search word may appear.
PRODUCT_COLUMNS = (Product.name, Product.description, Product.sku)
VILLAGE_COLUMNS = (Village.name, Village.group_name, Village.district)
CATEGORY_COLUMNS = (Category.name_id, Category.name_en)

#: Points a word earns a product by where it is found (the best place counts; a product's
#: relevance is the sum over the words). Name and category first, then village, then the rest.
POINTS = {"name_word": 10, "name": 8, "category": 8, "village": 4, "elsewhere": 1}

#: English words for the shop's goods -> the Indonesian words its products are named with.
#: A buyer who types the English word, or its first three letters or more, finds them too.
SYNONYMS = {
    "coffee": ("kopi",), "tea": ("teh",), "honey": ("madu",), "sugar": ("gula",),
    "palm": ("lontar", "aren"), "moringa": ("kelor",), "cinnamon": ("kayu manis",),
    "vanilla": ("vanili",), "candlenut": ("kemiri",), "cashew": ("mete",), "coconut": ("kelapa",),
    "oil": ("minyak",), "salt": ("garam",), "seaweed": ("rumput laut",), "fish": ("ikan",),
    "anchovy": ("teri",), "sorghum": ("sorgum",), "corn": ("jagung",), "maize": ("jagung",),
    "rice": ("beras",), "flour": ("tepung",), "ginger": ("jahe",), "orange": ("jeruk",),
    "jam": ("selai",), "pork": ("babi",), "beef": ("sapi",), "smoked": ("asap",),
    "woven": ("tenun",), "weaving": ("tenun",), "sarong": ("sarung",), "scarf": ("selendang",),
    "shawl": ("selendang",), "blanket": ("selimut",), "cloth": ("kain",), "bag": ("tas",),
    "hat": ("topi",), "basket": ("anyaman",), "carving": ("ukiran",), "chips": ("keripik",),
    "walnut": ("kenari",), "floss": ("abon",),
}
#: A synonym is found from this many letters of its English word on.
SYNONYM_PREFIX = 3
#: The most words one typed word stands for (itself, synonyms or corrections).
MAX_ALTERNATIVES = 4
#: Typos are corrected in words of this many letters or more ...
CORRECT_FROM = 4
#: ... by at most one edit (a letter added, missing, changed, or two swapped), two from this length.
TWO_EDITS_FROM = 8
#: PostgreSQL: the most names per column read as candidates for the correction of one word,
#: and how like the word a stretch of a name must be to be one (pg_trgm's word similarity).
CANDIDATE_ROWS = 40
WORD_SIMILARITY = 0.4

_WORD = re.compile(r"[^\W_]+")


class Term(NamedTuple):
    """One word of a search, planned."""

    #: The word as typed.
    typed: str
    #: The words it finds: itself and its synonyms, or the nearest words of the shop's names.
    words: tuple
    #: Ids of the villages holding one of ``words``; None: too many to list (a subquery then).
    villages: tuple | None
    #: Ids of the categories holding one of ``words``.
    categories: tuple
    #: True when the typed word is found nowhere and ``words`` are its corrections.
    corrected: bool = False


class SearchPlan(NamedTuple):
    terms: tuple = ()

    @property
    def corrected(self):
        """Whether any word was taken for a typo and replaced."""
        return any(term.corrected for term in self.terms)

    @property
    def query(self):
        """The search as it is answered: each corrected word replaced by its nearest word."""
        return " ".join(term.words[0] if term.corrected else term.typed for term in self.terms)


def search_terms(q):
    return q.split()[:MAX_TERMS]


def like_pattern(term):
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column, term):
    """``column`` holds ``term``, ignoring case (ILIKE on PostgreSQL, LIKE on SQLite)."""
    return column.ilike(like_pattern(term), escape="\\")


def _starts_a_word(column, term):
    """A word of ``column`` begins with ``term`` (at the start or after a space)."""
    escaped = like_pattern(term)[1:]
    return or_(column.ilike(escaped, escape="\\"), column.ilike("% " + escaped, escape="\\"))


def synonyms_of(word):
    """The Indonesian words an English word (or its first letters) stands for, in ``SYNONYMS``'s order."""
    word = word.lower()
    if len(word) < SYNONYM_PREFIX:
        return ()
    found = []
    for english, words in SYNONYMS.items():
        if english.startswith(word):
            found += [w for w in words if w not in found and w != word]
    return tuple(found)


def _alternatives(word):
    return ((word,) + synonyms_of(word))[:MAX_ALTERNATIVES]


# --- Planning -------------------------------------------------------------------------------

def plan_search(q):
    """The ``SearchPlan`` of ``q``: for each word, what it finds and where it is held.

    One query (the villages and categories holding each word, and whether any product does),
    two more when a word is found nowhere (its nearest words, then where they are held). Kept
    once per catalogue version: a page of a search asked before costs none of them.
    """
    words = tuple(search_terms(q))
    if not words:
        return SearchPlan()
    return SearchPlan(*cached_count(("search plan", words), lambda: _plan(words)))


def _plan(words):
    alternatives = [_alternatives(word) for word in words]
    held = _holders(alternatives)
    missing = [i for i, (villages, categories, in_products) in enumerate(held)
               if not (villages or categories or in_products)]
    corrections = nearest_words([words[i] for i in missing]) if missing else {}
    corrected = {}
    for i in missing:
        nearest = corrections.get(words[i].lower())
        if nearest:
            expanded = []
            for word in nearest:
                expanded += [w for w in _alternatives(word) if w not in expanded]
            corrected[i] = tuple(expanded[:MAX_ALTERNATIVES])
    if corrected:
        again = _holders(list(corrected.values()))
        for (i, found), holders in zip(corrected.items(), again):
            alternatives[i] = found
            held[i] = holders
    terms = []
    for i, word in enumerate(words):
        villages, categories, _ = held[i]
        listed = tuple(sorted(villages)) if len(villages) <= MAX_LISTED_VILLAGES else None
        terms.append(Term(word, alternatives[i], listed, tuple(sorted(categories)), i in corrected))
    return (tuple(terms),)


def _holders(alternatives):
    """For each term (a tuple of words), ``(village ids, category ids, held by a product)``: one
    query, answered from the trigram indexes on PostgreSQL."""
    parts = []
    for i, words in enumerate(alternatives):
        for word in words:
            parts.append(select(literal(i, Integer).label("term"), literal("village").label("kind"),
                                Village.id.label("id"))
                         .where(or_(*(contains(c, word) for c in VILLAGE_COLUMNS))))
            parts.append(select(literal(i, Integer), literal("category"), Category.id)
                         .where(or_(*(contains(c, word) for c in CATEGORY_COLUMNS))))
        # One test per column and word, the short columns first: the database stops at the first
        # that holds (a pass over the names, not over every description, for a word of a name).
        in_products = [select(Product.id).where(contains(column, word)).exists()
                       for column in (Product.name, Product.sku, Product.description) for word in words]
        parts.append(select(literal(i, Integer), literal("product"), literal(0, Integer))
                     .where(or_(*in_products)))
    found = [(set(), set(), False) for _ in alternatives]
    for term, kind, row_id in db.session.execute(union_all(*parts)):
        villages, categories, in_products = found[term]
        if kind == "village":
            villages.add(row_id)
        elif kind == "category":
            categories.add(row_id)
        else:
            found[term] = (villages, categories, True)
    return found


# --- Typos ----------------------------------------------------------------------------------

def nearest_words(typed_words):
    """Map each typed word (lower case) of ``CORRECT_FROM`` letters or more to the words of the
    shop's names (products, villages, categories) and of ``SYNONYMS`` nearest to it, at most one
    edit away (two from ``TWO_EDITS_FROM`` letters); words with no such neighbour are left out."""
    typed_words = [w.lower() for w in typed_words if len(w) >= CORRECT_FROM and _WORD.fullmatch(w)]
    if not typed_words:
        return {}
    if db.session.get_bind().dialect.name == "postgresql":
        vocabulary = _similar_names(typed_words)
    else:
        vocabulary = set(cached_count(("search vocabulary",), _all_name_words))
    vocabulary |= set(SYNONYMS)
    found = {}
    for typed in typed_words:
        nearest = _nearest(typed, vocabulary)
        if nearest:
            found[typed] = nearest
    return found


#: Every text a correction may come from: names of products, villages and categories.
NAME_COLUMNS = (Product.name, Village.name, Village.group_name, Village.district,
                Category.name_id, Category.name_en)


def _words(texts):
    words = set()
    for text in texts:
        words.update(w for w in _WORD.findall((text or "").lower()) if len(w) >= CORRECT_FROM - 1)
    return words


def _all_name_words():
    """SQLite: the words of every name in the shop (a small shop's few thousand), sorted."""
    return sorted(_words(db.session.scalars(union(*(select(column) for column in NAME_COLUMNS)))))


def _similar_names(typed_words):
    """PostgreSQL: words of the names holding a stretch like each typed word (pg_trgm's ``<%``,
    word similarity, from the trigram indexes), the most similar names first."""
    # pg_trgm's default (0.6) misses one letter too many in a short word ("madhu": 0.5 to "madu");
    # the distance decides in the end, so a looser threshold only brings more candidates. For
    # this transaction only (the request's), as nothing else asks ``<%``.
    db.session.execute(select(func.set_config("pg_trgm.word_similarity_threshold",
                                              str(WORD_SIMILARITY), True)))
    parts = []
    for typed in typed_words:
        for column in NAME_COLUMNS:
            near = (select(column).where(literal(typed).op("<%")(column))
                    .order_by(func.word_similarity(typed, column).desc()).limit(CANDIDATE_ROWS))
            parts.append(select(near.subquery().c[0]))
    return _words(db.session.scalars(union_all(*parts)))


def _nearest(typed, vocabulary):
    """The words of ``vocabulary`` at the smallest edit distance from ``typed`` within its limit."""
    best = 2 if len(typed) >= TWO_EDITS_FROM else 1
    found = []
    for word in vocabulary:
        if abs(len(word) - len(typed)) > best or word == typed:
            continue
        distance = edit_distance(typed, word, best + 1)
        if distance < best:
            best, found = distance, []
        if distance <= best:
            found.append(word)
    return tuple(sorted(found)[:MAX_ALTERNATIVES])


def edit_distance(a, b, bound):
    """Letters added, removed or changed, or neighbours swapped, to turn ``a`` into ``b``
    (optimal string alignment); any value of ``bound`` or more once it cannot be less."""
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) >= bound:
            return bound
        previous2, previous = previous, current
    return previous[-1]


# --- SQL --------------------------------------------------------------------------------------

def _village_ids(term, word=None):
    """The villages holding the term's words, as a list or (too many to list) a subquery."""
    if term.villages is not None:
        return list(term.villages)
    words = term.words if word is None else (word,)
    return select(Village.id).where(or_(*(contains(c, w) for w in words for c in VILLAGE_COLUMNS)))


def search_condition(plan):
    """Every word of the plan is found in the product, its village or its category.

    Written over ``Product``'s own columns only: the villages and categories that hold a word
    were looked up with the plan and become ``village_id IN (...)`` and ``category_id IN (...)``.
    So the database filters products before it checks the listing rule, and can tell a rare
    word (answered from the trigram indexes) from a common one.
    """
    clauses = []
    for term in plan.terms:
        clauses.append(or_(*(contains(column, word) for word in term.words for column in PRODUCT_COLUMNS),
                           Product.village_id.in_(_village_ids(term)),
                           Product.category_id.in_(list(term.categories))))
    return and_(*clauses)


def rank(plan):
    """The order of search results: the points (``relevance``) doubled, plus one for a product
    in stock, so that among products with as many points those a buyer can order come first.

    A ranking kept per catalogue version is not redone when only stock changes (an order): a
    product that sells out keeps its place until the catalogue next changes, at most an hour."""
    return relevance(plan) * 2 + case((Product.stock > 0, 1), else_=0)


def relevance(plan):
    """The points of a product for the plan's words (``POINTS``): an integer SQL expression over
    ``Product``'s columns, for products that ``search_condition`` keeps."""
    total = literal(0, Integer)
    for term in plan.terms:
        in_name = or_(*(contains(Product.name, word) for word in term.words))
        name_word = or_(*(_starts_a_word(Product.name, word) for word in term.words))
        total = total + case(
            (in_name, case((name_word, POINTS["name_word"]), else_=POINTS["name"])),
            (Product.category_id.in_(list(term.categories)), POINTS["category"]),
            (Product.village_id.in_(_village_ids(term)), POINTS["village"]),
            else_=POINTS["elsewhere"],
        )
    return total

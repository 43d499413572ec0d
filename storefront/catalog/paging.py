"""Keyset pagination: the next page starts after the last row shown, not after N skipped rows.

The pager's own links carry a cursor (``after`` or ``before``: the sort value and id of the edge
row) as well as the page number, so walking a long catalogue costs the same on page 400 as on
page 2. A plain ``?page=N`` link (typed, bookmarked, from a search engine) needs the row where
page N starts: it is found with an offset over the sort key alone, and can be remembered once
per catalogue version (``remember``), after which the page costs what a cursor costs.

Both come from the URL, so both are read here and bounded (``page_number``, ``decode_cursor``):
an odd page number means page 1 and an odd cursor is ignored, never a value the database
refuses (``storefront/numbers.py``).
"""
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_

from ..extensions import db
from ..numbers import whole_number

#: Past this a page number means page 1 (no list of ours is this long; the OFFSET stays small).
MAX_PAGE = 99_999


@dataclass(frozen=True)
class SortKey:
    """A sort as a keyset: one column then the id, both in the same direction."""

    column: object
    id_column: object
    descending: bool
    parse: object  # text of the cursor -> column value

    def order_by(self, reverse=False):
        desc = self.descending != reverse
        return (self.column.desc(), self.id_column.desc()) if desc else (self.column.asc(), self.id_column.asc())

    def beyond(self, value, row_id, reverse=False):
        """Rows after (or, reversed, before) the cursor in this order."""
        desc = self.descending != reverse
        left, right = tuple_(self.column, self.id_column), tuple_(value, row_id)
        return left < right if desc else left > right


def encode_cursor(value, row_id):
    value = value.isoformat() if isinstance(value, datetime) else value
    return f"{value}~{row_id}"


def page_number(args):
    """The page number of ``?page=`` (or ``?halaman=``) from 1 to ``MAX_PAGE``; anything else
    (missing, not a number, past ``MAX_PAGE``) means the first page."""
    for name in ("page", "halaman"):
        if args.get(name) not in (None, ""):
            return whole_number(args.get(name), minimum=1, maximum=MAX_PAGE) or 1
    return 1


def decode_cursor(text, key):
    """``(value, id)`` or None for a cursor that does not parse or is out of its column's range
    (then the page number is used). ``key.parse`` raises ValueError or returns None for a value
    it cannot use."""
    if not text or "~" not in text or len(text) > 300:
        return None
    value, _, row_id = text.rpartition("~")
    row_id = whole_number(row_id)
    if row_id is None:
        return None
    try:
        value = key.parse(value)
    except (ValueError, TypeError, OverflowError):
        return None
    return None if value is None else (value, row_id)


class KeysetPage:
    """What the pager macro reads (``page``, ``pages``, ``total``, ``has_next`` ...) plus the
    cursors of its links (``next_args``, ``prev_args``)."""

    def __init__(self, items, page, per_page, total, next_args, prev_args):
        self.items = items
        self.page = page
        self.per_page = per_page
        self.total = total
        self.pages = max(1, math.ceil(total / per_page)) if total else 0
        self.has_prev = page > 1
        self.has_next = page < self.pages and len(items) == per_page
        self.prev_num = page - 1 if self.has_prev else None
        self.next_num = page + 1 if self.has_next else None
        self.next_args = next_args if self.has_next else {}
        self.prev_args = prev_args if self.has_prev and page > 2 else {}

    def __iter__(self):
        return iter(self.items)


def keyset_paginate(stmt, key, args, per_page, row_key=None, total=None, unique=True,
                    remember=None, select_key=False):
    """One page of ``stmt`` (already filtered, not ordered) by keyset ``key``.

    ``args`` is the query string: ``page`` (number shown), ``after``/``before`` (cursors).
    ``row_key(item)`` gives ``(sort value, id)`` of an item. ``total`` may be given (e.g. from a
    cache); otherwise it is counted. ``remember(name, compute)``, e.g. ``cached_count`` under a
    name that says which statement this is, keeps where each ``?page=N`` starts; without it a
    page number is answered with an offset. ``select_key``: the sort value is an expression, not
    an attribute of the item (a search's points); the page selects it beside each item.
    """
    page = page_number(args)
    after = decode_cursor(args.get("after"), key)
    before = decode_cursor(args.get("before"), key) if after is None else None
    if total is None:
        total = count_rows(stmt)
    skip = (page - 1) * per_page
    if after is None and before is None and skip and remember is not None:
        # Page N starts after the last row of page N - 1: the same rows the offset would give.
        after = remember(("page start", skip), lambda: page_start(stmt, key, skip))
    if select_key:
        stmt = stmt.add_columns(key.column)
    if after == NO_ROWS:
        rows = []
    elif after is not None:
        query = stmt.where(key.beyond(*after)).order_by(*key.order_by()).limit(per_page)
        rows = _fetch(query, unique, select_key)
    elif before is not None:
        query = stmt.where(key.beyond(*before, reverse=True)).order_by(*key.order_by(reverse=True)).limit(per_page)
        rows = list(reversed(_fetch(query, unique, select_key)))
    else:
        rows = _fetch(stmt.order_by(*key.order_by()).limit(per_page).offset(skip), unique, select_key)
    items = [item for item, _ in rows] if select_key else rows
    edge = (lambda row: (row[1], row[0].id)) if select_key else row_key
    next_args = prev_args = {}
    if rows:
        next_args = {"after": encode_cursor(*edge(rows[-1]))}
        prev_args = {"before": encode_cursor(*edge(rows[0]))}
    return KeysetPage(items, page, per_page, total, next_args, prev_args)


#: ``page_start`` of a page past the last row (not None, which a cache would take for "unknown").
NO_ROWS = ()


def page_start(stmt, key, skip):
    """``(sort value, id)`` of the row ``skip`` rows into ``stmt`` in ``key``'s order, the last row
    before the page that starts there; ``NO_ROWS`` when there are not that many rows."""
    edge = (stmt.with_only_columns(key.column, key.id_column, maintain_column_froms=True)
            .order_by(*key.order_by()).offset(skip - 1).limit(1))
    row = db.session.execute(edge).first()
    return tuple(row) if row is not None else NO_ROWS


def _fetch(query, unique, rows=False):
    result = db.session.execute(query) if rows else db.session.scalars(query)
    return [tuple(row) if rows else row for row in (result.unique().all() if unique else result.all())]


def count_rows(stmt):
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))

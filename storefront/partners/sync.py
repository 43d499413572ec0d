"""Telling partners what changed in the catalogue: the snapshot, its webhooks, ``changed_since``.

``sync_catalogue(now)`` compares what the listing rule sells today (``listing/rule.py``; never a
rule of its own) with the snapshot (``CatalogueEntry``) and, for each difference, moves the
snapshot's row to the next ``seq`` and queues a ``product.listed``, ``product.changed`` or
``product.delisted`` call to every partner whose webhook is on, in the same transaction.

Nothing is written when a product stops being sellable at midnight WITA because a paper expired:
the rule reads the date. So the outbox worker runs ``announce_catalogue_changes`` every minute
(``storefront/jobs.py``): it costs two small reads while nothing changed, and a full comparison
when the catalogue's version (``CatalogueState.version``, moved by triggers on every change of
products, photos, villages, categories and papers) or the WITA date differs from the last run's;
when only stock can have changed (its ``listing_version`` held: orders, restocks) it compares
just the listed products whose stock is not the snapshot's.
The catalogue version the pages use needs no write for the date either: it is that counter *and*
today's WITA date (``catalog/caching.py``), so every ETag and stored page moves at midnight.

The comparison reads without locks, then takes the one state row with a conditional UPDATE (the
``seq`` it started from): syncs run one at a time, a second one that started from the same
``seq`` gives way, and ``seq`` numbers are committed in order, so a reader that saw ``seq`` N has
seen every change up to N.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, selectinload

from .. import clock
from ..extensions import db
from ..legality.papers import papers_by_product
from ..listing.rule import sellable_product_ids, sellable_products
from ..outbox.queue import enqueue_webhook, new_event_id
from ..products.models import CatalogueState, Product
from .documents import content_hash, product_document
from .models import CatalogueEntry, CatalogueSyncState, Partner

LISTED, CHANGED, DELISTED = "product.listed", "product.changed", "product.delisted"
EVENT_KINDS = (LISTED, CHANGED, DELISTED)
#: What a partner is told of a product that left the catalogue, whatever the reason.
NOT_AVAILABLE = "not_available"
#: Products read at a time.
CHUNK = 100
_SPACE_FOR_PLUS = re.compile(r" (\d{2}:?\d{2})$")


@dataclass
class SyncResult:
    """What one run did: product ids per event kind; ``skipped`` when nothing could have changed
    (or another run was at it)."""

    listed: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    delisted: list = field(default_factory=list)
    skipped: bool = False

    @property
    def count(self):
        return len(self.listed) + len(self.changed) + len(self.delisted)


@dataclass
class _Change:
    kind: str
    product_id: int
    sku: str
    digest: str
    document: dict | None
    stock: int = 0
    #: Whether the snapshot has a row for the product already.
    known: bool = True


def iso(moment):
    """A stored time as partners read it: ISO 8601 in UTC."""
    return clock.as_utc(moment).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _wita_date(now):
    return clock.as_utc(now).astimezone(clock.WITA).date()


def _catalogue_versions():
    """``(version, listing_version)`` of the catalogue now."""
    row = db.session.execute(select(CatalogueState.version, CatalogueState.listing_version)
                             .where(CatalogueState.id == 1)).first()
    return (row.version, row.listing_version) if row is not None else (0, 0)


def _state():
    return db.session.execute(select(CatalogueSyncState.seq, CatalogueSyncState.synced_version,
                                     CatalogueSyncState.synced_listing_version, CatalogueSyncState.synced_on)
                              .where(CatalogueSyncState.id == 1)).first()


def _chunks(ids, today):
    """The products of ``ids`` with what their documents need, a chunk at a time, a village's
    together: each chunk's papers then come from few villages (``papers_by_product`` compares
    each product with every paper of the chunk's villages)."""
    for start in range(0, len(ids), CHUNK):
        chunk = db.session.scalars(
            select(Product).where(Product.id.in_(ids[start:start + CHUNK]))
            .options(joinedload(Product.village), joinedload(Product.category), selectinload(Product.photos))
            .order_by(Product.village_id, Product.id)).unique().all()
        yield chunk, papers_by_product(chunk, today)


def _compare(ids, today, keep_documents):
    """The listings and changes among the (sellable) products ``ids``: their documents against
    the snapshot's hashes."""
    changes = []
    for chunk, papers in _chunks(ids, today):
        rows = {row.product_id: row for row in db.session.execute(
            select(CatalogueEntry.product_id, CatalogueEntry.listed, CatalogueEntry.content_hash)
            .where(CatalogueEntry.product_id.in_([p.id for p in chunk])))}
        for product in chunk:
            document = product_document(product, papers[product.id])
            digest = content_hash(document)
            row = rows.get(product.id)
            if row is not None and row.listed and row.content_hash == digest:
                continue
            changes.append(_Change(CHANGED if row is not None and row.listed else LISTED, product.id, product.sku,
                                   digest, document if keep_documents else None, product.stock, row is not None))
    return changes


def _diff(today, keep_documents):
    """Every difference between the sellable products and the snapshot.

    The rule runs once, for the ids (at national scale each run of it checks the papers of the
    whole shop); the products are then read by id. A product that stops being sellable while
    this runs is caught by the next run: its change moved the catalogue's version."""
    ids = db.session.scalars(sellable_product_ids(today).order_by(Product.village_id, Product.id)).all()
    changes = _compare(ids, today, keep_documents)
    sellable = set(ids)
    gone = db.session.execute(select(CatalogueEntry.product_id, CatalogueEntry.sku, CatalogueEntry.content_hash)
                              .where(CatalogueEntry.listed.is_(True)).order_by(CatalogueEntry.product_id)).all()
    changes += [_Change(DELISTED, row.product_id, row.sku, row.content_hash, None)
                for row in gone if row.product_id not in sellable]
    return changes


def _stock_diff(today, keep_documents):
    """The differences when only stock can have changed (the listing version held: an order, a
    restock): the listed products whose stock is not the snapshot's. One indexed join instead
    of the whole comparison."""
    ids = db.session.scalars(
        select(Product.id).join(CatalogueEntry, CatalogueEntry.product_id == Product.id)
        .where(CatalogueEntry.listed.is_(True), Product.stock != CatalogueEntry.stock)
        .order_by(Product.village_id, Product.id)).all()
    return _compare(ids, today, keep_documents)


def _take(seq, now):
    """Take the state row if it still stands at ``seq`` (None: no row yet). False if another run
    moved it meanwhile: that run announced what this one found."""
    if seq is None:
        dialect_insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        db.session.execute(dialect_insert(CatalogueSyncState).values(id=1, seq=0).on_conflict_do_nothing(
            index_elements=["id"]))
        seq = 0
    taken = db.session.execute(
        update(CatalogueSyncState).where(CatalogueSyncState.id == 1, CatalogueSyncState.seq == seq)
        .values(synced_at=now).execution_options(synchronize_session=False)).rowcount
    return taken == 1


def webhook_partners():
    """``(partner id, address)`` of every partner whose webhook is on."""
    return db.session.execute(select(Partner.id, Partner.webhook_url).where(
        Partner.webhook_active.is_(True), Partner.webhook_url.is_not(None)).order_by(Partner.id)).all()


def event_data(change, seq, now):
    """The ``data`` of a webhook call (and of ``changed_since``): the product's document for a
    listing or a change; for a delisting only its id, SKU and when, never why."""
    if change.kind == DELISTED:
        return removed_entry(change.product_id, change.sku, seq, now)
    return {**change.document, "status": "listed", "changed_at": iso(now), "cursor": str(seq)}


def removed_entry(product_id, sku, seq, removed_at):
    return {"id": product_id, "sku": sku, "status": NOT_AVAILABLE, "removed_at": iso(removed_at),
            "cursor": str(seq)}


def announce(partners, kind, data, now):
    """Queue one event for every partner in ``partners``: the same event id for each."""
    event_id = new_event_id()
    body = {"id": event_id, "type": kind, "created": int(now.timestamp()), "data": data}
    for partner_id, url in partners:
        enqueue_webhook(url, body, kind=kind, event_id=event_id, partner_id=partner_id)
    return event_id


def sync_catalogue(now=None, force=False):
    """Bring the snapshot up to the catalogue as sellable at ``now`` (WITA date) and queue the
    partners' webhook calls for every difference; the caller commits. ``force`` compares even
    when neither the catalogue's version nor the date moved (a check by hand)."""
    now = clock.as_utc(now or clock.now_utc())
    today = _wita_date(now)
    state = _state()
    version, listing_version = _catalogue_versions()
    same_day = state is not None and state.synced_on == today
    if not force and same_day and state.synced_version == version:
        return SyncResult(skipped=True)
    partners = webhook_partners()
    if not force and same_day and state.synced_listing_version == listing_version:
        changes = _stock_diff(today, keep_documents=bool(partners))
    else:
        changes = _diff(today, keep_documents=bool(partners))
    if not _take(state.seq if state is not None else None, now):
        return SyncResult(skipped=True)
    seq = state.seq if state is not None else 0
    result = SyncResult()
    added, moved = [], []
    for change in changes:
        seq += 1
        # A delisted row's stock is never compared again (only listed rows are): 0.
        row = dict(product_id=change.product_id, sku=change.sku, listed=change.kind != DELISTED,
                   content_hash=change.digest, stock=change.stock if change.kind != DELISTED else 0,
                   seq=seq, changed_at=now)
        (moved if change.known else added).append(row)
        if partners:
            announce(partners, change.kind, event_data(change, seq, now), now)
        {LISTED: result.listed, CHANGED: result.changed, DELISTED: result.delisted}[change.kind].append(
            change.product_id)
    # In bulk: a first sync or a new price list writes thousands of rows (executemany).
    if added:
        db.session.execute(insert(CatalogueEntry), added)
    if moved:
        db.session.execute(update(CatalogueEntry), moved)  # by primary key
    db.session.execute(update(CatalogueSyncState).where(CatalogueSyncState.id == 1)
                       .values(seq=seq, synced_version=version, synced_listing_version=listing_version,
                               synced_on=today, synced_at=now)
                       .execution_options(synchronize_session=False))
    db.session.flush()
    return result


def announce_catalogue_changes():
    """Housekeeping, every minute: ``sync_catalogue`` at the clock's time (tests move the clock)."""
    return sync_catalogue(clock.now_utc())


# --- reading the changes (``changed_since``) ---------------------------------------------------------

@dataclass
class ChangesPage:
    items: list
    removed: list
    cursor: str
    more: bool


def current_seq():
    """The last ``seq`` committed: every change up to it can be read."""
    return db.session.scalar(select(CatalogueSyncState.seq).where(CatalogueSyncState.id == 1)) or 0


def catalogue_changes(*, after_seq=None, after_time=None, limit=100, now=None):
    """The changes after a cursor (``after_seq``) or a time (``after_time``), oldest first, at most
    ``limit``: listed products with their document *as sellable now* (the same rule as every
    page), and the others as removed. A product the snapshot lists but that the rule no longer
    sells (the minute's sync has not run yet) is given as removed; the sync then announces it
    again, later, which a partner treats as a repeat."""
    now = clock.as_utc(now or clock.now_utc())
    today = _wita_date(now)
    ceiling = current_seq()  # read first: rows above it may still be in a sync's transaction
    stmt = select(CatalogueEntry).where(CatalogueEntry.seq <= ceiling)
    if after_seq is not None:
        stmt = stmt.where(CatalogueEntry.seq > after_seq)
    if after_time is not None:
        stmt = stmt.where(CatalogueEntry.changed_at > after_time)
    rows = db.session.scalars(stmt.order_by(CatalogueEntry.seq).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    listed_ids = [row.product_id for row in rows if row.listed]
    documents = {}
    if listed_ids:
        products = db.session.scalars(sellable_products(today).options(selectinload(Product.photos))
                                      .where(Product.id.in_(listed_ids))).unique().all()
        papers = papers_by_product(products, today)
        documents = {p.id: product_document(p, papers[p.id]) for p in products}
    items, removed = [], []
    for row in rows:
        if row.listed and row.product_id in documents:
            items.append({**documents[row.product_id], "status": "listed", "changed_at": iso(row.changed_at),
                          "cursor": str(row.seq)})
        else:
            removed.append(removed_entry(row.product_id, row.sku, row.seq, row.changed_at if not row.listed else now))
    if rows:
        cursor = rows[-1].seq
    elif after_seq is not None:
        cursor = max(min(after_seq, ceiling), 0)
    else:
        cursor = ceiling
    return ChangesPage(items, removed, str(cursor), more)


def parse_time(value):
    """An ISO 8601 date-time as an aware UTC datetime (no zone: UTC), or None."""
    value = _SPACE_FOR_PLUS.sub(r"+\1", value.strip())  # an unescaped + in a URL arrives as a space
    try:
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)

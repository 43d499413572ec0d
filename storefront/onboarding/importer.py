"""Catalogue import: how the provincial office onboards villages, products and papers.

One document, one transaction: every row is validated, and if any row is rejected nothing
is written. Villages are matched by slug, products by SKU, certificates by number.
"""
import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..clock import now_utc
from ..contact import ContactError, normalise_email, normalise_phone
from ..extensions import db
from ..legality.formats import NumberFormatError, normalise_number, pirt_expiry_year
from ..legality.models import KINDS, STATUSES, VILLAGE_WIDE_KINDS, Certificate, CertificateEvent
from ..legality.services import REASON_REQUIRED, LegalityError, TransitionError, change_certificate_status
from ..planner import refresh_statistics
from ..products.models import Category, Product
from ..unit_of_work import after_commit, unit_of_work
from ..villages.models import GROUP_TYPES, Village
from ..villages.regions import resolve_regency

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: The audit reason of an imported paper's creation or verification when the row gives none.
IMPORT_REASON = "catalogue import"
#: Papers whose dates and products an import may not change (they keep what they were judged
#: on), with what to do instead.
CLOSED_STATUSES = {
    "rejected": "its village corrects it and sends it again",
    "revoked": "a renewed paper comes in under its own number",
}

_GROUP_TYPE_ALIASES = {
    "bumdes": "bumdes", "badan usaha milik desa": "bumdes",
    "koperasi": "koperasi", "cooperative": "koperasi", "kud": "koperasi",
    "kelompok_wanita": "kelompok_wanita", "kelompok wanita": "kelompok_wanita",
    "women's group": "kelompok_wanita", "womens group": "kelompok_wanita",
    "kelompok perempuan": "kelompok_wanita", "kwt": "kelompok_wanita",
    "kelompok_tani": "kelompok_tani", "kelompok tani": "kelompok_tani",
    "farmers' group": "kelompok_tani", "farmers group": "kelompok_tani",
    "ukm": "ukm", "umkm": "ukm", "small business": "ukm",
}


class RowError(ValueError):
    """One row cannot be imported; the message says why."""


@dataclass
class ImportReport:
    """What an import did (or, on a dry run or a rejection, would have done)."""

    created: dict = field(default_factory=lambda: {"villages": [], "products": [], "certificates": []})
    updated: dict = field(default_factory=lambda: {"villages": [], "products": [], "certificates": []})
    unchanged: dict = field(default_factory=lambda: {"villages": [], "products": [], "certificates": []})
    rejected: list = field(default_factory=list)  # (section, key, reason)
    warnings: list = field(default_factory=list)  # (section, key, message)
    dry_run: bool = False
    committed: bool = False

    @property
    def ok(self):
        return not self.rejected

    def reject(self, section, key, reason):
        self.rejected.append((section, key, reason))

    def lines(self):
        """A report a person reads in a terminal."""
        if self.committed:
            head = "Import committed."
        elif self.dry_run and self.ok:
            head = "Dry run: nothing written. The import would do this:"
        elif self.dry_run:
            head = "Dry run: nothing written. The import would be refused:"
        else:
            head = "Import refused: nothing was written. Fix the rejected rows and run it again."
        out = [head]
        for section in ("villages", "products", "certificates"):
            out.append(
                f"  {section}: {len(self.created[section])} created, "
                f"{len(self.updated[section])} updated, {len(self.unchanged[section])} unchanged"
            )
        for section, key, message in self.warnings:
            out.append(f"  warning  {section} {key}: {message}")
        if self.rejected:
            out.append(f"  rejected: {len(self.rejected)}")
            for section, key, reason in self.rejected:
                out.append(f"  rejected {section} {key}: {reason}")
        return out


def import_catalog(document, *, dry_run=False, actor_name):
    """Create or update villages, products and certificates from ``document``.

    ``actor_name`` is recorded as the verifier of papers imported as verified and in the
    audit trail. The import acts as the office: an existing paper's status moves only along
    the legality transition table (``legality.services.change_certificate_status``), and a
    rejected or revoked paper's dates and products stay as they are. Commits only when every
    row is valid and ``dry_run`` is false.
    """
    report = ImportReport(dry_run=dry_run)
    if not isinstance(document, dict):
        report.reject("document", "-", "the top level must be a JSON object")
        return report
    sections = {}
    for section in ("villages", "products", "certificates"):
        rows = document.get(section, [])
        if not isinstance(rows, list):
            report.reject(section, "-", f'"{section}" must be a list')
            rows = []
        sections[section] = rows

    with db.session.no_autoflush:
        villages = _import_villages(sections["villages"], report)
        products = _import_products(sections["products"], villages, report)
        _import_certificates(sections["certificates"], villages, products, report, actor_name)
    db.session.flush()
    after_commit(refresh_statistics, "villages", "products", "certificates", "certificate_products")
    return report


def _key(row, name):
    value = row.get(name) if isinstance(row, dict) else None
    return str(value) if value not in (None, "") else "?"


def _run_rows(rows, section, key_name, report, handler):
    seen = set()
    for index, row in enumerate(rows, start=1):
        key = _key(row, key_name)
        label = key if key != "?" else f"#{index}"
        try:
            if not isinstance(row, dict):
                raise RowError("each row must be a JSON object")
            if key != "?" and key.casefold() in seen:
                raise RowError(f"duplicate {key_name} {key!r} in this file")
            seen.add(key.casefold())
            handler(row, label)
        except RowError as exc:
            report.reject(section, label, str(exc))


def _text(row, name, *, required=False, max_len=None, default=""):
    value = row.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RowError(f'"{name}" must be text')
    value = value.strip()
    if required and not value:
        raise RowError(f'"{name}" is required')
    if max_len and len(value) > max_len:
        raise RowError(f'"{name}" is longer than {max_len} characters')
    return value or default


def _int(row, name, *, minimum, default=None):
    value = row.get(name, default)
    if value is None:
        raise RowError(f'"{name}" is required')
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise RowError(f'"{name}" must be a whole number, got {value!r}')
    if isinstance(value, str):
        if not re.fullmatch(r"\d+", value.strip()):
            raise RowError(f'"{name}" must be a whole number, got {value!r}')
        value = int(value)
    if value < minimum:
        raise RowError(f'"{name}" must be at least {minimum}, got {value}')
    if value > 2_000_000_000:
        raise RowError(f'"{name}" is too large ({value})')
    return value


def _bool(row, name, default):
    value = row.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RowError(f'"{name}" must be true or false, got {value!r}')
    return value


def _date(row, name, *, required):
    value = row.get(name)
    if value in (None, ""):
        if required:
            raise RowError(f'"{name}" is required (YYYY-MM-DD)')
        return None
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise RowError(f'"{name}" must be a date as YYYY-MM-DD, got {value!r}')
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise RowError(f'"{name}" is not a real date: {value!r}') from exc


def _slug(row, name="slug", max_len=80):
    value = _text(row, name, required=True, max_len=max_len)
    if not SLUG.match(value):
        raise RowError(f'"{name}" must be lower-case letters, digits and hyphens, got {value!r}')
    return value


def _apply(obj, values, row, created, renamed=None):
    """Set attributes; return True when anything changed.

    On an update, a field the row leaves out keeps its stored value: defaults are for new
    rows only, so re-importing a partial file never reactivates a suspended village or resets
    a verified paper to pending. ``renamed`` maps attribute names to row keys where they differ.
    """
    renamed = renamed or {}
    changed = False
    for attr, value in values.items():
        if not created and renamed.get(attr, attr) not in row:
            continue
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    return changed


def _record(report, section, key, created, changed):
    if created:
        report.created[section].append(key)
    elif changed:
        report.updated[section].append(key)
    else:
        report.unchanged[section].append(key)


def _import_villages(rows, report):
    existing = {v.slug: v for v in db.session.scalars(select(Village))}

    def handle(row, label):
        slug = _slug(row)
        regency = resolve_regency(row.get("regency"))
        if not regency:
            raise RowError(f"unknown regency {row.get('regency')!r} (use one of NTT's 22, e.g. \"Ngada\" or \"53.09\")")
        group_raw = _text(row, "group_type", default="ukm")
        group_type = _GROUP_TYPE_ALIASES.get(group_raw.casefold())
        if not group_type:
            raise RowError(f"unknown group_type {group_raw!r} (one of {', '.join(GROUP_TYPES)})")
        phone = row.get("phone")
        email = row.get("email")
        try:
            phone = normalise_phone(phone) if phone not in (None, "") else None
            email = normalise_email(email) if email not in (None, "") else None
        except ContactError as exc:
            raise RowError(str(exc)) from exc
        name = _text(row, "name", required=True, max_len=120)
        values = {
            "name": name,
            "regency_code": regency,
            "district": _text(row, "district", max_len=120),
            "group_name": _text(row, "group_name", max_len=160, default=name),
            "group_type": group_type,
            "story": _text(row, "story", max_len=5000),
            "phone": phone,
            "email": email,
            "active": _bool(row, "active", True),
        }
        village = existing.get(slug)
        created = village is None
        if created:
            village = Village(slug=slug)
            db.session.add(village)
            existing[slug] = village
        changed = _apply(village, values, row, created, {"regency_code": "regency"})
        _record(report, "villages", slug, created, changed)

    _run_rows(rows, "villages", "slug", report, handle)
    db.session.flush()
    return existing


def _import_products(rows, villages, report):
    # SKUs match whatever their case: "kopi-01" updates "KOPI-01" rather than adding a twin.
    existing = {p.sku.casefold(): p for p in db.session.scalars(select(Product))}
    by_slug = {p.slug: p for p in existing.values()}
    slug_moves = []
    categories = {c.code: c for c in db.session.scalars(select(Category))}
    village_by_id = {v.id: v for v in villages.values()}

    def handle(row, label):
        sku = _text(row, "sku", required=True, max_len=40)
        if not SKU.match(sku):
            raise RowError(f'"sku" may hold letters, digits, ".", "_" and "-" only, got {sku!r}')
        slug = _slug(row, max_len=120)
        village = villages.get(_text(row, "village", required=True))
        if village is None:
            raise RowError(f"unknown village {row.get('village')!r}")
        category = categories.get(_text(row, "category", required=True))
        if category is None:
            raise RowError(
                f"unknown category {row.get('category')!r} (one of {', '.join(sorted(categories))})")
        product = existing.get(sku.casefold())
        owner = by_slug.get(slug)
        if owner is not None and owner is not product:
            raise RowError(f"slug {slug!r} is already used by product {owner.sku}")
        if product is not None and product.village_id != village.id:
            holder = village_by_id.get(product.village_id)
            raise RowError(
                f"SKU {sku} belongs to village {holder.slug if holder else product.village_id}; "
                "a product cannot move to another village")
        values = {
            "slug": slug,
            "name": _text(row, "name", required=True, max_len=160),
            "category_id": category.id,
            "description": _text(row, "description", max_len=10000),
            "price_idr": _int(row, "price_idr", minimum=1),
            "weight_grams": _int(row, "weight_grams", minimum=1),
            "stock": _int(row, "stock", minimum=0, default=0),
            "published": _bool(row, "published", True),
            "non_halal": _bool(row, "non_halal", False),
        }
        if not category.is_food and values["non_halal"]:
            report.warnings.append(("products", sku, "non_halal only matters for food"))
        created = product is None
        if created:
            product = Product(sku=sku, village_id=village.id)
            db.session.add(product)
            existing[sku.casefold()] = product
        elif product.slug in by_slug and product.slug != slug:
            del by_slug[product.slug]
        by_slug[slug] = product
        moved = not created and product.slug != slug
        if moved:
            # Park the old slug first: another row of this file may take it over, and
            # updates reach the database in id order, not file order.
            product.slug = f"~moving-{product.id}"
            slug_moves.append((product, slug))
            del values["slug"]
        changed = _apply(product, values, row, created, {"category_id": "category"}) or moved
        if product.review_status != "approved":  # the import is the office's own act (listing review)
            product.review_status = "approved"
            changed = True
        _record(report, "products", sku, created, changed)

    _run_rows(rows, "products", "sku", report, handle)
    db.session.flush()
    for product, slug in slug_moves:
        product.slug = slug
    db.session.flush()
    return existing


def _import_certificates(rows, villages, products, report, actor_name):
    existing = {
        c.number: c
        for c in db.session.scalars(select(Certificate).options(selectinload(Certificate.products)))
    }
    seen_numbers = set()
    village_by_id = {v.id: v for v in villages.values()}

    def handle(row, label):
        kind = _text(row, "kind", required=True)
        if kind not in KINDS:
            raise RowError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
        try:
            number = normalise_number(kind, row.get("number"))
        except NumberFormatError as exc:
            raise RowError(f"bad number format: {exc}") from exc
        if number in seen_numbers:
            raise RowError(f"duplicate number {number!r} in this file")
        seen_numbers.add(number)
        village = villages.get(_text(row, "village", required=True))
        if village is None:
            raise RowError(f"unknown village {row.get('village')!r}")
        issued_on = _date(row, "issued_on", required=True)
        expires_on = _date(row, "expires_on", required=False)
        if expires_on and expires_on < issued_on:
            raise RowError("expires_on is before issued_on")
        status = _text(row, "status", default="pending")
        if status not in STATUSES:
            raise RowError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
        skus = row.get("products") or []
        if not isinstance(skus, list) or not all(isinstance(s, str) for s in skus):
            raise RowError('"products" must be a list of SKUs')
        covered = []
        for sku in dict.fromkeys(skus):
            product = products.get(sku.casefold())
            if product is None:
                raise RowError(f"unknown product SKU {sku!r}")
            covered.append(product)
        if kind in VILLAGE_WIDE_KINDS and covered:
            report.warnings.append(
                ("certificates", number, f"a {kind} covers the whole group; its product list is ignored"))
            covered = []
        for product in covered:
            if product.village_id != village.id:
                report.warnings.append((
                    "certificates", number,
                    f"lists {product.sku} of another village; it will not count for that product"))
        if kind == "pirt" and expires_on and pirt_expiry_year(number) != expires_on.year:
            report.warnings.append((
                "certificates", number,
                f"the number ends in the expiry year {pirt_expiry_year(number)}, "
                f"but expires_on is in {expires_on.year}"))

        reason = _text(row, "reason", max_len=2000)

        cert = existing.get(number)
        if cert is not None and cert.kind != kind:
            raise RowError(f"number {number!r} is already registered as a {cert.kind}")
        if cert is not None and cert.village_id != village.id:
            holder = village_by_id.get(cert.village_id)
            raise RowError(
                f"number {number!r} is held by village {holder.slug if holder else cert.village_id}")
        if cert is None:
            # A new paper: created in its row's status, as today, with one creation entry.
            cert = Certificate(kind=kind, number=number, village_id=village.id, products=covered,
                               issued_on=issued_on, expires_on=expires_on, status=status)
            db.session.add(cert)
            existing[number] = cert
            if status == "verified":
                cert.verified_by_name = actor_name
                cert.verified_at = now_utc()
            db.session.flush()
            db.session.add(CertificateEvent(
                certificate_id=cert.id, from_status=None, to_status=status,
                actor_name=actor_name, reason=reason or IMPORT_REASON))
            _record(report, "certificates", number, True, True)
            return

        # An existing paper: its status moves only along the office's transition table (the
        # legality service applies it and writes the audit row), and a rejected or revoked
        # paper keeps the dates and products it was judged on.
        from_status = cert.status
        to_status = status if "status" in row else from_status
        fields = {"issued_on": issued_on, "expires_on": expires_on}
        edits = [name for name, value in fields.items() if name in row and getattr(cert, name) != value]
        if "products" in row and {p.id for p in cert.products} != {p.id for p in covered}:
            edits.append("products")
        # New dates first: verifying checks the expiry the paper will have. A refusal below
        # rejects the row, and a rejected row means the whole import is rolled back.
        changed = _apply(cert, fields, row, False)
        if to_status != from_status:
            _move(cert, to_status, reason, actor_name)
            changed = True
        closed = next((s for s in (from_status, to_status) if s in CLOSED_STATUSES), None)
        if closed and edits:
            raise RowError(
                f"a {closed} paper keeps the data it was judged on: an import cannot change its "
                f"{', '.join(edits)} ({CLOSED_STATUSES[closed]})")
        if "products" in edits:
            cert.products = covered
            changed = True
        _record(report, "certificates", number, False, changed)

    _run_rows(rows, "certificates", "number", report, handle)
    db.session.flush()


def _move(cert, to_status, reason, actor_name):
    """Move an existing paper through the legality service: the office's transition table,
    its expiry and reason rules, and the same audit row as the office screens write."""
    from_status = cert.status
    if to_status not in REASON_REQUIRED:
        reason = reason or IMPORT_REASON
    try:
        with force_locale("en"):  # the report is in English, like every other rejection
            change_certificate_status(cert, to_status, None, reason, side="office",
                                      actor_name=actor_name)
    except TransitionError as exc:
        raise RowError(f"{exc} (it is {from_status} in the shop; an import follows the office's "
                       "transition rules)") from exc
    except LegalityError as exc:
        raise RowError(f'{exc} (add a "reason" to the row: the village sees it)') from exc


class _Discard(Exception):
    def __init__(self, report):
        super().__init__("import discarded")
        self.report = report


def run_import(document, *, dry_run=False, actor_name):
    """``import_catalog`` as one unit of work (the ``flask catalog import`` command): all of it
    committed when every row is valid and this is not a dry run, none of it otherwise."""
    try:
        with unit_of_work():
            report = import_catalog(document, dry_run=dry_run, actor_name=actor_name)
            if dry_run or not report.ok:
                raise _Discard(report)
    except _Discard as discarded:
        return discarded.report
    report.committed = True
    return report

"""Legality verbs: submit a paper, resubmit a corrected one, verify, reject, revoke.

Each function changes one paper, writes its audit row and flushes; the caller commits once.
"""
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from ..clock import now_utc, today_wita
from ..extensions import db
from ..products.models import Product
from .formats import NumberFormatError, normalise_number
from .models import KINDS, VILLAGE_WIDE_KINDS, Certificate, CertificateEvent, CertificateScan
from .notices import tell_village_paper_decided
from .scans import store_scan

#: (from, to) -> who may make the move. Anything not listed is refused.
TRANSITIONS = {
    ("pending", "verified"): "office",
    ("pending", "rejected"): "office",
    ("verified", "revoked"): "office",
    ("rejected", "pending"): "village",  # a corrected paper, resubmitted
}
REASON_REQUIRED = {"rejected", "revoked"}
#: Kinds that must name at least one product.
PRODUCT_KINDS = ("pirt", "bpom_md", "halal")


class LegalityError(ValueError):
    """A request about a paper that cannot be carried out; the message is for the user."""


class TransitionError(LegalityError):
    """The paper's status cannot move that way (e.g. verifying a revoked paper)."""


@dataclass
class PaperData:
    """What a village types about a paper."""

    kind: str
    number: str
    issued_on: date
    expires_on: date | None
    product_ids: list


def clean_number(kind, raw):
    """The printed form when the number matches its kind's format, else the text as typed.

    Villages are never turned away on format alone: the office sees a flag and decides (and the
    village is asked to confirm such a number first, ``PaperCheck.odd_number``).
    """
    try:
        return normalise_number(kind, raw)
    except NumberFormatError:
        return " ".join(str(raw or "").split()).upper()


def number_looks_right(certificate):
    return _matches_format(certificate.kind, certificate.number)


def _matches_format(kind, number):
    try:
        return normalise_number(kind, number) == number
    except NumberFormatError:
        return False


def _record(certificate, from_status, to_status, actor, reason, actor_name=None):
    if actor is not None:
        actor_name = actor.audit_name
    db.session.add(CertificateEvent(
        certificate_id=certificate.id, from_status=from_status, to_status=to_status,
        actor_id=actor.id if actor else None, actor_name=(actor_name or "system")[:160],
        reason=reason or ""))


@dataclass
class PaperCheck:
    """Everything wrong with what a village typed, found in one pass (``check_paper``)."""

    #: The number as it will be stored (printed form, or as typed when its format is unusual).
    number: str | None
    products: list
    #: Field name (``kind``, ``number``, ``issued_on``, ``expires_on``, ``products``) -> messages.
    problems: dict = field(default_factory=dict)
    #: The number does not match its kind's usual format: not an error, the village confirms it.
    odd_number: bool = False

    def refuse(self, name, message):
        self.problems.setdefault(name, []).append(message)


class PaperRefused(LegalityError):
    """What a village typed about a paper cannot be saved; ``problems`` lists every reason by field."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__(" ".join(m for messages in problems.values() for m in messages))


def check_paper(data, village_id, certificate=None):
    """Check a paper as typed and report every problem at once, each under its field.

    ``data`` may hold None where the form could not read a value (a missing date): the checks
    that need it are skipped, the others still run. ``certificate`` is the paper being corrected.
    """
    check = PaperCheck(number=None, products=[])
    today = today_wita()
    kind = data.kind if data.kind in KINDS else None
    if data.kind is not None and kind is None:
        check.refuse("kind", _("Choose the kind of paper."))
    if certificate is not None and kind is not None and kind != certificate.kind:
        check.refuse("kind", _("A corrected paper keeps its kind; submit a new paper for another kind."))

    if data.number is not None:
        number = clean_number(kind, data.number) if kind else " ".join(str(data.number).split()).upper()
        if not number or len(number) > 60:
            check.refuse("number", _("Enter the number exactly as printed on the paper."))
        elif not any(ch.isdigit() for ch in number):
            check.refuse("number", _("A paper's number has digits: enter it exactly as printed on the paper."))
        else:
            check.number = number
            check.odd_number = kind is not None and not _matches_format(kind, number)
            clash = db.session.scalars(
                select(Certificate).where(func.upper(Certificate.number) == number.upper())).first()
            if clash is not None and clash is not certificate:
                check.refuse("number", _("A paper with number %(number)s is already registered.", number=number))

    if data.issued_on is not None and data.issued_on > today:
        check.refuse("issued_on", _("The issue date cannot be in the future."))
    if data.expires_on is not None:
        if data.issued_on is not None and data.expires_on < data.issued_on:
            check.refuse("expires_on", _("The expiry date cannot be before the issue date."))
        elif data.expires_on < today:
            check.refuse("expires_on", _("This paper has already expired; submit the renewed paper instead."))

    if kind in VILLAGE_WIDE_KINDS:
        return check
    product_ids = sorted(set(data.product_ids or []))
    if kind in PRODUCT_KINDS and not product_ids:
        check.refuse("products", _("Choose the products this paper covers."))
    if not product_ids:
        return check
    products = db.session.scalars(
        select(Product).where(Product.id.in_(product_ids), Product.village_id == village_id)
        .options(selectinload(Product.category)).order_by(Product.name)
    ).all()
    if len(products) != len(product_ids):
        check.refuse("products", _("A paper can only cover your own village's products."))
    if kind in PRODUCT_KINDS:
        not_food = [p.name for p in products if not p.category.is_food]
        if not_food:
            check.refuse("products", _(
                "This kind of paper is for food and drink; these products are not food: %(products)s.",
                products=", ".join(not_food)))
    if kind == "halal":
        non_halal = [p.name for p in products if p.non_halal]
        if non_halal:
            check.refuse("products", _(
                "A halal certificate cannot cover a product declared non-halal: %(products)s.",
                products=", ".join(non_halal)))
    check.products = list(products)
    return check


def _check_paper(data, village_id, certificate=None):
    check = check_paper(data, village_id, certificate)
    if check.problems:
        raise PaperRefused(check.problems)
    return check.number, check.products


def submit_certificate(*, village_id, actor, data, scan):
    """A village submits a paper with its scan; it waits in the office's queue as pending."""
    number, products = _check_paper(data, village_id)
    certificate = Certificate(
        kind=data.kind, number=number, village_id=village_id, issued_on=data.issued_on,
        expires_on=data.expires_on, status="pending", products=products)
    db.session.add(certificate)
    db.session.flush()
    _add_scan(certificate, scan, actor)
    _record(certificate, None, "pending", actor, _("submitted by the village"))
    db.session.flush()
    return certificate


def resubmit_certificate(certificate, *, actor, data, scan=None):
    """A rejected paper comes back corrected (and, if given, with a new scan) as pending."""
    if certificate.status != "rejected":
        raise TransitionError(_("Only a rejected paper can be corrected and sent again."))
    number, products = _check_paper(data, certificate.village_id, certificate)
    certificate.number = number
    certificate.issued_on = data.issued_on
    certificate.expires_on = data.expires_on
    certificate.products = products
    if scan is not None:
        _add_scan(certificate, scan, actor)
    change_certificate_status(certificate, "pending", actor, _("corrected and sent again by the village"),
                              side="village")
    return certificate


def _add_scan(certificate, scan, actor):
    key = store_scan(scan)
    db.session.add(CertificateScan(
        certificate_id=certificate.id, key=key, content_type=scan.content_type,
        size_bytes=len(scan.data), original_name=scan.original_name,
        uploaded_by_id=actor.id if actor else None))


def change_certificate_status(certificate, to_status, actor, reason="", side="office", *,
                              actor_name=None):
    """Apply one allowed transition by ``side`` ("office" or "village"), with its audit row.

    ``actor`` is the account that makes the move. The catalogue import is the office acting
    without an account: it passes ``actor=None`` and signs with ``actor_name``, which becomes
    both the audit row's actor and, on verification, the verifier shown to buyers.
    """
    if actor is None and not actor_name:
        raise ValueError("a status change needs an actor or an actor_name")
    from_status = certificate.status
    allowed = TRANSITIONS.get((from_status, to_status))
    if allowed is None or allowed != side:
        raise TransitionError(_("A %(from)s paper cannot be marked %(to)s.",
                                **{"from": status_label(from_status), "to": status_label(to_status)}))
    if to_status == "verified" and certificate.expires_on and certificate.expires_on < today_wita():
        raise TransitionError(_("This paper expired on %(date)s; ask the village for the renewed paper.",
                                date=certificate.expires_on.isoformat()))
    reason = (reason or "").strip()
    if to_status in REASON_REQUIRED and not reason:
        raise LegalityError(_("Give the reason, so the village knows what to fix."))
    # Conditional, so of two decisions at once (two office tabs) one is made, and told, once.
    moved = db.session.execute(update(Certificate).where(
        Certificate.id == certificate.id, Certificate.status == from_status).values(status=to_status))
    if moved.rowcount != 1:
        raise TransitionError(_("Someone else changed this paper a moment ago. Look at it again."))
    certificate.status = to_status
    if to_status == "verified":
        if actor is not None:
            certificate.verified_by_id = actor.id
            certificate.verified_by_name = f"{actor.name}, {current_app.config['OFFICE_NAME']}"[:160]
        else:
            certificate.verified_by_id = None
            certificate.verified_by_name = actor_name[:160]
        certificate.verified_at = now_utc()
    elif from_status == "verified":
        certificate.verified_by_id = None
        certificate.verified_by_name = None
        certificate.verified_at = None
    _record(certificate, from_status, to_status, actor, reason, actor_name)
    db.session.flush()
    return certificate


def verify_certificate(certificate, actor):
    """The office verifies a pending paper; the village is told."""
    change_certificate_status(certificate, "verified", actor)
    tell_village_paper_decided(certificate)
    return certificate


def reject_certificate(certificate, actor, reason):
    """The office rejects a pending paper; the village is told why."""
    change_certificate_status(certificate, "rejected", actor, reason)
    tell_village_paper_decided(certificate, reason.strip())
    return certificate


def revoke_certificate(certificate, actor, reason):
    """The office revokes a verified paper; the village is told why."""
    change_certificate_status(certificate, "revoked", actor, reason)
    tell_village_paper_decided(certificate, reason.strip())
    return certificate


def status_label(status):
    return {
        "pending": _("pending"), "verified": _("verified"),
        "rejected": _("rejected"), "revoked": _("revoked"),
    }.get(status, status)

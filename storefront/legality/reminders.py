"""Daily notices: papers about to expire (to their village) and products that became hidden
(to the office). Run by ``flask legality remind`` from a daily timer.

Expiry itself needs no job: the listing rule compares dates on every request.
"""
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ..accounts.models import User
from ..catalog.models import Product
from ..catalog.sellable import explain_listing, sellable_product_ids
from ..clock import now_utc
from ..extensions import db
from ..mail import send_mail
from ..villages.models import Village
from .models import Certificate, ExpiryReminder, ListingState
from .papers import KIND_INFO

#: Days before expiry at which a village is reminded, once each.
THRESHOLDS = (60, 30, 7)

CLAUSE_TEXT = {
    "published": "tidak ditayangkan oleh desa",
    "approved": "daftar produk belum atau tidak disetujui kantor",
    "village_active": "desa ditangguhkan",
    "nib": "NIB desa tidak terverifikasi atau kedaluwarsa",
    "food_permit": "izin pangan (P-IRT/BPOM MD) tidak ada, belum terverifikasi atau kedaluwarsa",
    "halal": "sertifikat halal tidak ada, belum terverifikasi atau kedaluwarsa",
}


def _due_threshold(days_left, sent):
    """The most urgent threshold reached and not yet sent, else None."""
    reached = [t for t in THRESHOLDS if days_left <= t]
    if not reached:
        return None
    most_urgent = min(reached)
    return None if most_urgent in sent else most_urgent


def send_expiry_reminders(today):
    """E-mail each village about its verified papers expiring within 60, 30 and 7 days.

    Each threshold is sent once per paper and expiry date; a paper first seen 20 days
    before expiry gets the 30-day notice only. Commits after each village's e-mail, so a
    failure halfway never sends the same notice twice. Returns lines for the operator.
    """
    horizon = today + timedelta(days=max(THRESHOLDS))
    rows = db.session.execute(
        select(Certificate, Village)
        .join(Village, Village.id == Certificate.village_id)
        .where(Certificate.status == "verified", Certificate.expires_on.is_not(None),
               Certificate.expires_on >= today, Certificate.expires_on <= horizon, Village.active)
        .order_by(Village.id, Certificate.expires_on)
    ).all()
    sent = defaultdict(set)
    if rows:
        for reminder in db.session.scalars(select(ExpiryReminder).where(
                ExpiryReminder.certificate_id.in_([c.id for c, _ in rows]))):
            sent[(reminder.certificate_id, reminder.expires_on)].add(reminder.days_before)

    due_by_village = defaultdict(list)
    villages = {}
    for certificate, village in rows:
        days_left = (certificate.expires_on - today).days
        threshold = _due_threshold(days_left, sent[(certificate.id, certificate.expires_on)])
        if threshold is not None:
            due_by_village[village.id].append((certificate, days_left, threshold))
            villages[village.id] = village

    lines = []
    for village_id, due in due_by_village.items():
        village = villages[village_id]
        if not village.email:
            lines.append(f"no e-mail address for village {village.slug}: {len(due)} reminder(s) not sent")
            continue
        send_mail([village.email], _expiry_subject(due), _expiry_body(village, due))
        for certificate, _days, threshold in due:
            # Mark the passed, larger thresholds too, so no stale 60-day notice follows a 30-day one.
            for t in THRESHOLDS:
                if t >= threshold and t not in sent[(certificate.id, certificate.expires_on)]:
                    db.session.add(ExpiryReminder(certificate_id=certificate.id, days_before=t,
                                                  expires_on=certificate.expires_on))
        db.session.commit()
        lines.append(f"reminded {village.slug} ({village.email}) about {len(due)} paper(s)")
    return lines


def _expiry_subject(due):
    soonest = min(days for _c, days, _t in due)
    return f"Pengingat: dokumen legalitas kedaluwarsa dalam {soonest} hari"


def _expiry_body(village, due):
    lines = [f"Yth. {village.group_name} ({village.name}),", "",
             "Dokumen legalitas berikut akan segera kedaluwarsa. Setelah tanggal itu, produk yang",
             "memerlukannya otomatis tidak tampil di toko sampai dokumen baru diverifikasi.", ""]
    for certificate, days_left, _t in due:
        label = KIND_INFO[certificate.kind][0]
        lines.append(f"- {label}: {certificate.number} — berlaku sampai "
                     f"{certificate.expires_on:%d-%m-%Y} ({days_left} hari lagi)")
    lines += ["", "Ajukan dokumen yang diperpanjang melalui portal desa.", "",
              "Salam,", current_app.config["OFFICE_NAME"]]
    return "\n".join(lines)


def office_addresses():
    configured = [a.strip() for a in current_app.config["OFFICE_EMAIL"].split(",") if a.strip()]
    if configured:
        return configured
    return list(db.session.scalars(select(User.email).where(
        User.role.in_(("verifier", "admin")), User.active).order_by(User.id)))


def notify_hidden_products(today):
    """Tell the office, once, about each product that was sellable and no longer is.

    The first run only records the current state. Returns lines for the operator.
    """
    sellable = set(db.session.scalars(sellable_product_ids(today)))
    states = {s.product_id: s for s in db.session.scalars(select(ListingState))}
    newly_hidden = [pid for pid, state in states.items() if state.sellable and pid not in sellable]
    all_ids = db.session.scalars(select(Product.id)).all()
    moment = now_utc()
    for pid in all_ids:
        now_sellable = pid in sellable
        state = states.get(pid)
        if state is None:
            db.session.add(ListingState(product_id=pid, sellable=now_sellable, changed_at=moment))
        elif state.sellable != now_sellable:
            state.sellable = now_sellable
            state.changed_at = moment
    lines = []
    if newly_hidden:
        reasons = explain_listing(newly_hidden, today)
        products = db.session.execute(
            select(Product, Village).join(Village, Village.id == Product.village_id)
            .where(Product.id.in_(newly_hidden)).order_by(Village.name, Product.name)
        ).all()
        body = ["Produk berikut tidak lagi tampil di toko sejak pemeriksaan terakhir:", ""]
        for product, village in products:
            why = "; ".join(CLAUSE_TEXT[c] for c in reasons.get(product.id, [])) or "-"
            body.append(f"- {product.name} ({product.sku}), {village.name}: {why}")
        body += ["", f"Tanggal pemeriksaan: {today:%d-%m-%Y} (WITA)."]
        recipients = office_addresses()
        send_mail(recipients, f"{len(products)} produk tidak lagi tampil di toko", "\n".join(body))
        lines.append(f"told the office ({', '.join(recipients) or 'no address'}) about "
                     f"{len(products)} newly hidden product(s)")
    db.session.commit()
    return lines

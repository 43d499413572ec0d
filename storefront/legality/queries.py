"""What the office reads about papers: the queue of pending ones, one paper in full, and the
papers about to expire."""
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..villages.models import Village
from .models import Certificate


def pending_papers(*, regency=None, kind=None, village_slug=None):
    """``(paper, village)`` of every pending paper, oldest first, filtered as given."""
    stmt = (select(Certificate, Village).join(Village, Village.id == Certificate.village_id)
            .where(Certificate.status == "pending").options(selectinload(Certificate.products))
            .order_by(Certificate.updated_at.asc(), Certificate.id.asc()))
    if regency:
        stmt = stmt.where(Village.regency_code == regency)
    if kind:
        stmt = stmt.where(Certificate.kind == kind)
    if village_slug:
        stmt = stmt.where(Village.slug == village_slug)
    return db.session.execute(stmt).all()


def paper_with_history(certificate_id):
    """A paper with its products, audit rows and scans, or None."""
    return db.session.scalars(
        select(Certificate).where(Certificate.id == certificate_id)
        .options(selectinload(Certificate.products), selectinload(Certificate.events),
                 selectinload(Certificate.scans))).one_or_none()


def papers_expiring(today, days=60):
    """Village -> ``[(paper, days left)]`` of verified papers expiring within ``days``."""
    rows = db.session.execute(
        select(Certificate, Village).join(Village, Village.id == Certificate.village_id)
        .where(Certificate.status == "verified", Certificate.expires_on.is_not(None),
               Certificate.expires_on >= today, Certificate.expires_on <= today + timedelta(days=days))
        .order_by(Village.name, Certificate.expires_on)).all()
    by_village = defaultdict(list)
    for certificate, village in rows:
        by_village[village].append((certificate, (certificate.expires_on - today).days))
    return by_village

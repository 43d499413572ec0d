"""Village verbs for the provincial office."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from .models import Village


class VillageError(ValueError):
    """The office's request about a village cannot be carried out."""


def create_village(*, slug, name, regency_code, district, group_name, group_type, story,
                   phone, email):
    """Register a village; it is active at once and sells nothing until its papers are verified."""
    if db.session.scalar(select(func.count()).where(Village.slug == slug)):
        raise VillageError(_("The web address “%(slug)s” is taken by another village.", slug=slug))
    village = Village(slug=slug, name=name, regency_code=regency_code, district=district,
                      group_name=group_name, group_type=group_type, story=story, phone=phone,
                      email=email, active=True)
    db.session.add(village)
    db.session.flush()
    return village


def set_village_active(village, active):
    """Suspend a village (everything it sells disappears at once) or reinstate it."""
    village.active = active
    db.session.flush()
    return village


def villages_for_office():
    """Every village, active ones first, by name."""
    return db.session.scalars(select(Village).order_by(Village.active.desc(), Village.name)).all()


def villages_by_name():
    return db.session.scalars(select(Village).order_by(Village.name)).all()

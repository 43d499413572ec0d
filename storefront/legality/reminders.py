"""Daily notices of papers about to expire, to their village. Run by ``flask legality remind``
from a daily timer, with ``listing.notices`` (products that became hidden, to the office).

Expiry itself needs no job: the listing rule compares dates on every request.
"""
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..mailing import render_mail
from ..outbox.queue import enqueue_mail
from ..urls import external_url
from ..villages.models import Village
from .models import Certificate, ExpiryReminder

#: Days before expiry at which a village is reminded, once each.
THRESHOLDS = (60, 30, 7)


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
    before expiry gets the 30-day notice only. Each mail is queued in the outbox with the
    rows that record it, so a run that fails halfway sends nothing twice. The caller commits.
    Returns lines for the operator.
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
        mail = render_mail("village_papers_expiring", "id", village=village,
                           due=[(certificate, days) for certificate, days, _t in due],
                           soonest=min(days for _c, days, _t in due),
                           link=external_url("portal.papers"), office=current_app.config["OFFICE_NAME"])
        enqueue_mail(village.email, mail, kind="papers.expiring", village_id=village.id)
        for certificate, _days, threshold in due:
            # Mark the passed, larger thresholds too, so no stale 60-day notice follows a 30-day one.
            for t in THRESHOLDS:
                if t >= threshold and t not in sent[(certificate.id, certificate.expires_on)]:
                    db.session.add(ExpiryReminder(certificate_id=certificate.id, days_before=t,
                                                  expires_on=certificate.expires_on))
        lines.append(f"reminded {village.slug} ({village.email}) about {len(due)} paper(s)")
    db.session.flush()
    return lines

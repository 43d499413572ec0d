"""What makes a paper count, as SQL: verified and not expired on a given date."""
from sqlalchemy import and_, or_

from .models import Certificate


def certificate_current(on):
    """A paper counts on date ``on`` (WITA) when verified and its expiry is empty or not before it."""
    return and_(
        Certificate.status == "verified",
        or_(Certificate.expires_on.is_(None), Certificate.expires_on >= on),
    )

"""Feed verbs: the village's secret feed address."""
import secrets

from ..extensions import db
from ..villages.models import Village


def rotate_feed_token(village_id):
    """Give the village a new secret for its feed addresses; the old addresses stop working at once.

    Also creates the first one. Flushes, does not commit. Returns the new token.
    """
    village = db.session.get(Village, village_id)
    village.feed_token = secrets.token_urlsafe(32)
    db.session.flush()
    return village.feed_token

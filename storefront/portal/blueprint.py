"""The village portal, ``/portal``: a member's own village only. One blueprint; a module of
pages per subject (orders, products, papers, sales, feeds, webhook)."""
from flask import Blueprint, redirect, url_for
from flask_login import current_user

from ..access import member_required
from ..extensions import db
from ..villages.models import Village

bp = Blueprint("portal", __name__, url_prefix="/portal")


def own_village():
    """The signed-in member's village."""
    return db.session.get(Village, current_user.village_id)


@bp.get("/")
@member_required
def home():
    return redirect(url_for("portal.orders"))

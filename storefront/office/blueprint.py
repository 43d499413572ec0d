"""The provincial office's area, ``/kantor``: verifiers and admins. One blueprint, split into a
module per subject: papers, villages, listings, orders, users."""
from flask import Blueprint, redirect, url_for

from ..access import office_required

bp = Blueprint("office", __name__, url_prefix="/kantor")


@bp.get("/")
@office_required
def home():
    return redirect(url_for("office.queue"))

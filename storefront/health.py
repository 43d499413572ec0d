"""Liveness for load balancers and uptime checks, with the outbox's backlog.

``200 {"status": "ok", "database": "ok", "outbox": {"waiting": N, "oldest_waiting_seconds": S,
"delayed": false}}`` while the database answers; ``503`` when it does not. When the oldest waiting
outbox message is older than ``OUTBOX_ALERT_SECONDS`` the status is ``degraded`` and ``delayed``
true, still with 200: a stopped outbox worker or a village's receiver that keeps failing is for
an operator to fix, and must not take every web server out of the load balancer.
"""
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .observability.business import outbox_backlog

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """One indexed query, which also proves that the database answers."""
    try:
        backlog = outbox_backlog(db.session)
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    age = int(backlog.oldest_seconds())
    delayed = age > current_app.config["OUTBOX_ALERT_SECONDS"]
    return jsonify(status="degraded" if delayed else "ok", database="ok",
                   outbox={"waiting": backlog.waiting, "oldest_waiting_seconds": age, "delayed": delayed})

"""Liveness and readiness probes for load balancers and orchestrators."""
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from portal.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 while the process serves requests; touches no database."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Answer 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        current_app.logger.warning("readiness check: database unreachable", exc_info=True)
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    finally:
        db.session.rollback()
    return jsonify(status="ok", database="ok")

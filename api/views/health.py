"""Liveness and readiness, for a load balancer. Public: they reveal nothing but up or down."""

from __future__ import annotations

import logging

from api.services import ledger, policy_table
from api.errors import Unavailable
from api.schemas.ledger import HealthOut
from api.views import Blueprint

blp = Blueprint("health", __name__, description="Liveness and readiness probes.")
log = logging.getLogger("api")


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthOut)
def healthz():
    """Liveness: the process answers. It touches nothing else, so a slow database does not restart it."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, HealthOut)
def readyz():
    """Readiness: the database answers and the policy table is loaded; 503 (problem+json) otherwise."""
    try:
        store = ledger().store
        with store.read() as db:
            db.value("SELECT last_id FROM head WHERE id = 1")
    except Exception as exc:  # any failure means "send traffic elsewhere"
        log.warning("not ready: %s", exc)
        raise Unavailable("the database does not answer") from None
    return {"status": "ok", "database": store.dialect, "policies": len(policy_table())}

"""GET /health: is the database reachable, is the queue?"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.extensions import db
from api.schemas.health import HealthSchema

blp = Blueprint("health", __name__, description="Liveness and dependencies")


def _database() -> str:
    try:
        db.session.execute(sa.text("select 1"))
        return "ok"
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return "unavailable"


def _queue() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "in-process"
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except RedisError:
        return "unavailable"


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """Status of the service and the components it needs."""
        database, queue = _database(), _queue()
        status = "ok" if database == "ok" and queue != "unavailable" else "degraded"
        return {"status": status, "database": database, "queue": queue}

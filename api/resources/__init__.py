"""One blueprint per resource, all under /api/v1."""

from __future__ import annotations

from flask_smorest import Api

PREFIX = "/api/v1"


def register(api: Api) -> None:
    from api.resources import (
        auth,
        complaints,
        directory,
        exports,
        health,
        incidents,
        processes,
        stats,
        tasks,
        timeline,
    )  # fmt: skip

    for module in (auth, health, directory, complaints, tasks, timeline, stats, exports, processes, incidents):
        api.register_blueprint(module.blp, url_prefix=PREFIX)

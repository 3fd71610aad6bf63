"""One blueprint per resource, all under /api/v1."""

from __future__ import annotations

from flask_smorest import Api

PREFIX = "/api/v1"


def register(api: Api) -> None:
    from api.resources import (
        auth,
        citizens,
        complaints,
        directory,
        exports,
        health,
        messages,
        processes,
        stats,
        tasks,
        timeline,
    )

    modules = (auth, health, directory, citizens, complaints, messages, tasks, timeline, stats, exports, processes)
    for module in modules:
        api.register_blueprint(module.blp, url_prefix=PREFIX)

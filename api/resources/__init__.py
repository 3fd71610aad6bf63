"""One blueprint per resource, all under /api/v1."""

from __future__ import annotations

from flask_smorest import Api

PREFIX = "/api/v1"


def register(api: Api) -> None:
    from api.resources import auth, complaints, directory, exports, health, places, processes, stats, tasks, timeline

    for module in (auth, health, directory, places, complaints, tasks, timeline, stats, exports, processes):
        api.register_blueprint(module.blp, url_prefix=PREFIX)

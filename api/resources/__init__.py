"""One blueprint per resource, all under /api/v1; Open311 GeoReport v2 on its own at /open311/v2."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

PREFIX = "/api/v1"


def register(api: Api) -> None:
    from api.resources import (
        auth,
        channels,
        citizens,
        complaints,
        directory,
        exports,
        health,
        incidents,
        messages,
        places,
        processes,
        stats,
        tasks,
        timeline,
    )  # fmt: skip

    modules = (
        auth, health, directory, places, citizens, complaints, messages, tasks, timeline, stats, exports, processes,
        channels, incidents,
    )  # fmt: skip
    for module in modules:
        api.register_blueprint(module.blp, url_prefix=PREFIX)


def register_standards(app: Flask) -> None:
    """Blueprints that speak another standard's wire format, outside the JSON API and its document."""
    from api.resources import open311

    app.register_blueprint(open311.blp)

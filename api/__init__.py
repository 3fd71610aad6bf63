"""Aduan's Flask application: `create_app(config)` builds the API around the engine."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from api import config as app_config
from api.extensions import db, migrate


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application, configured by defaults < environment < `config`."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(app_config.build(app.instance_path, config))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.urandom(32).hex()
    app.extensions["aduan.settings"] = app_config.engine_settings(app.config)
    db.init_app(app)
    migrate.init_app(app, db)
    from api import cli

    cli.register(app)
    return app

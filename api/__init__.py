"""Aduan's Flask application: `create_app(config)` builds the API around the engine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from api import headers, observability, rest, web
from api.extensions import db, limiter, migrate
from engine import config as app_config
from engine.directory import signin
from engine.processes import sandbox


def _secret_key(instance_path: str) -> str:
    """The embedded default keeps a generated key in the instance folder, so tokens survive restarts."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application, configured by defaults < environment < `config`."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(app_config.build(app.instance_path, config))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    app.extensions["aduan.settings"] = app_config.engine_settings(app.config)
    sandbox.configure(**app_config.sandbox_limits(app.config))  # process-wide: one app per process
    concurrency, wait = int(app.config["PASSWORD_CHECK_CONCURRENCY"]), float(app.config["PASSWORD_CHECK_WAIT_SECONDS"])
    signin.configure(concurrency, wait, app.instance_path)
    db.init_app(app)
    migrate.init_app(app, db)
    limiter.init_app(app)
    rest.init_app(app)
    observability.init_app(app)  # request ids, JSON logs, /metrics
    headers.init_app(app)  # CSP, nosniff, no framing, HSTS when configured: on every response
    web.init_app(app)  # the pages at /, with their session login and CSRF protection
    from api import cli
    from api.resources import register, register_standards

    register(rest.api)
    register_standards(app)
    cli.register(app)
    from workers import host, queue

    with app.app_context():  # jobs share the app's connection pool
        app.extensions["aduan.host"] = host.Host(app.config, app.extensions["aduan.settings"], bind=db.engine)
    host.install(app.extensions["aduan.host"])
    queue.install()  # outbox rows go to their jobs right after the command's commit
    return app


def host_of(app: Flask) -> Any:
    """The workers' host of `app` (configuration, settings, its connection pool)."""
    return app.extensions["aduan.host"]

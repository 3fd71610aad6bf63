"""The `web` blueprint: server-rendered pages at `/` for citizens, staff, auditors and process owners."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

HERE = Path(__file__).resolve().parent
bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")

"""Security headers on every response: the API's JSON, the pages, attachments, errors and /metrics.

Pages get a Content-Security-Policy that allows scripts only from this origin (the templates carry no
inline script and no `on…=` handler; data for scripts travels in `<script type="application/json">`
blocks, which are not executed); everything else (JSON, files) gets a policy that allows nothing at all
and sandboxes it, so an uploaded file opened in a browser cannot run. No response may be framed.
`Strict-Transport-Security` is sent when `HSTS_SECONDS` is configured (a deployment served over HTTPS).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, Response, current_app

NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def tile_origin(tile_url: str | None) -> str:
    """The origin of the map tile server (`MAP_TILE_URL`, an XYZ template): images the maps may load.
    A `{s}` subdomain placeholder becomes a wildcard; an unreadable template allows nothing more."""
    if not tile_url:
        return ""
    parts = urlsplit(tile_url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


@lru_cache(maxsize=8)
def page_policy(tile_url: str | None) -> str:
    """The pages' policy: scripts, styles and fetches from this origin; images also from the tile server."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # bpmn-js, Chart.js and Leaflet set style attributes
            f"img-src 'self' data: blob: {tile_origin(tile_url)}".rstrip(),
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    page = response.mimetype == "text/html"
    policy = page_policy(current_app.config.get("MAP_TILE_URL")) if page else NOTHING_POLICY
    headers.setdefault("Content-Security-Policy", policy)
    hsts = current_app.config.get("HSTS_SECONDS")
    if hsts:
        headers.setdefault("Strict-Transport-Security", f"max-age={int(hsts)}; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)

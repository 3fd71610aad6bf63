"""Security headers on every response: the API's JSON, the pages, attachments, errors and /metrics.

Pages get a Content-Security-Policy that allows scripts only from this origin (the templates carry no
inline script and no `on…=` handler; data for scripts travels in `<script type="application/json">`
blocks, which are not executed); everything else (JSON, files) gets a policy that allows nothing at all
and sandboxes it, so an uploaded file opened in a browser cannot run. No response may be framed.
`Strict-Transport-Security` is sent when `HSTS_SECONDS` is configured (a deployment served over HTTPS).
"""

from __future__ import annotations

from flask import Flask, Response, current_app

PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # bpmn-js and Chart.js set style attributes on what they draw
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    page = response.mimetype == "text/html"
    headers.setdefault("Content-Security-Policy", PAGE_POLICY if page else NOTHING_POLICY)
    hsts = current_app.config.get("HSTS_SECONDS")
    if hsts:
        headers.setdefault("Strict-Transport-Security", f"max-age={int(hsts)}; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)

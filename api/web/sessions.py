"""The page session's cookie: Flask's signed cookie, with the Secure flag on for HTTPS unless configured.

`SESSION_COOKIE_SECURE` true or false (environment or config) decides; left unset, the flag follows the
request, so a deployment behind HTTPS (a proxy's `X-Forwarded-Proto: https` counts: it can only make the
cookie stricter) never sends the cookie over plain HTTP, while `aduan serve` on http://127.0.0.1 still works.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        configured = app.config.get("SESSION_COOKIE_SECURE")
        if configured is not None:
            return bool(configured)
        return request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"

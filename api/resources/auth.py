"""POST /auth/token: exchange a username and password for a bearer token."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from api.auth import issue_token
from api.extensions import budget, db, limiter
from api.schemas.auth import CredentialsSchema, TokenSchema
from engine.signin import sign_in

blp = Blueprint("auth", __name__, description="Sign in")


@blp.route("/auth/token")
class Token(MethodView):
    decorators = [limiter.limit(budget("LOGIN_RATE_LIMIT"))]  # noqa: RUF012  (against guessing)

    @blp.arguments(CredentialsSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, description="Wrong username or password")
    @blp.alt_response(429, description="Too many failed sign-ins for this account (or too many at once)")
    def post(self, credentials: dict[str, str]) -> dict[str, Any]:
        """Sign in: a bearer token for the Authorization header."""
        user = sign_in(db.session(), credentials["username"], credentials["password"])
        if user is None:
            raise Unauthorized("wrong username or password", www_authenticate=WWWAuthenticate("bearer"))
        token, lifetime = issue_token(user)
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}

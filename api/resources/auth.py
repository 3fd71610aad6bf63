"""POST /auth/token: a bearer token for a user's password, or for an agency system's client credentials."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from api.auth import issue_client_token, issue_token
from api.extensions import budget, db, limiter
from api.schemas.auth import CLIENT_GRANT, CredentialsSchema, TokenSchema
from engine.channels import clients
from engine.directory.signin import sign_in

blp = Blueprint("auth", __name__, description="Sign in")
# the form-encoded OAuth2 request is read too; the generated document shows the JSON form
blp.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
    **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
    "json_or_form": "application/json",
}


@blp.route("/auth/token")
class Token(MethodView):
    decorators = [limiter.limit(budget("LOGIN_RATE_LIMIT"))]  # noqa: RUF012  (against guessing)

    @blp.arguments(CredentialsSchema, location="json_or_form")
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, description="Wrong username or password, or unknown client credentials")
    @blp.alt_response(429, description="Too many failed sign-ins for this account (or too many at once)")
    def post(self, credentials: dict[str, str]) -> dict[str, Any]:
        """Sign in: a bearer token for the Authorization header.

        Staff send `{username, password}`. An integrated agency system sends `grant_type=client_credentials`
        with the `client_id` and `client_secret` of `aduan clients create`: its token acts as an officer of
        its agency's subtree.
        """
        if credentials["grant_type"] == CLIENT_GRANT:
            client = clients.authenticate(db.session(), credentials["client_id"], credentials["client_secret"])
            if client is None:
                raise Unauthorized("unknown client or wrong secret", www_authenticate=WWWAuthenticate("bearer"))
            token, lifetime = issue_client_token(client)
        else:
            user = sign_in(db.session(), credentials["username"], credentials["password"])
            if user is None:
                raise Unauthorized("wrong username or password", www_authenticate=WWWAuthenticate("bearer"))
            token, lifetime = issue_token(user)
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}

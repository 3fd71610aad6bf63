"""Schemas of the sign-in exchange: a user's password, or an agency system's OAuth2 client credentials."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

PASSWORD_GRANT, CLIENT_GRANT = "password", "client_credentials"


class CredentialsSchema(ma.Schema):
    """`{username, password}` (JSON), or `grant_type=client_credentials&client_id=…&client_secret=…`
    (form-encoded, as RFC 6749 §4.4 sends it, or JSON)."""

    grant_type = ma.fields.String(load_default=PASSWORD_GRANT, validate=validate.OneOf([PASSWORD_GRANT, CLIENT_GRANT]))
    username = ma.fields.String(validate=validate.Length(1, 64))
    password = ma.fields.String(load_only=True, validate=validate.Length(1, 200))
    client_id = ma.fields.String(validate=validate.Length(1, 40))
    client_secret = ma.fields.String(load_only=True, validate=validate.Length(1, 200))

    @ma.validates_schema
    def fields_of_the_grant(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Each grant names its own two fields; a missing one is named in the 422."""
        needed = ("client_id", "client_secret") if data.get("grant_type") == CLIENT_GRANT else ("username", "password")
        missing = {name: ["Missing data for required field."] for name in needed if name not in data}
        if missing:
            raise ma.ValidationError(missing)


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True)

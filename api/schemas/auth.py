"""Schemas of the sign-in exchange."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate


class CredentialsSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=validate.Length(1, 64))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(1, 200))


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True)

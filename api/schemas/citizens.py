"""Citizen account schemas: registration, the e-mail confirmation, claiming a guest complaint."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate


class RegistrationSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=validate.Length(2, 64))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(8, 200))
    email = ma.fields.Email(required=True, validate=validate.Length(3, 200))
    name = ma.fields.String(load_default="", validate=validate.Length(0, 200))
    phone = ma.fields.String(validate=validate.Length(4, 40))


class AccountSchema(ma.Schema):
    username = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    active = ma.fields.Boolean(required=True, metadata={"description": "false until the e-mail is confirmed"})


class ConfirmationSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(1, 1000))


class ClaimSchema(ma.Schema):
    tracking_id = ma.fields.String(required=True, validate=validate.Length(1, 40))
    token = ma.fields.String(required=True, validate=validate.Length(1, 200), metadata={"description": "secret code"})

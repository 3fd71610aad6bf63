from __future__ import annotations

import marshmallow as ma


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)
    database = ma.fields.String(required=True)
    queue = ma.fields.String(required=True)

"""Places schemas: areas, hot spots, similar complaints, support and duplicates, the public figures."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from api.schemas.stats import StatsQuerySchema, StatsSchema
from engine.places import Clustering

TRACKING_ID = validate.Regexp(r"^ADU-[0-9A-Z]{4}-[0-9A-Z]{4}$", error="a tracking id such as ADU-7K3F-9QXM")


def latitude(**kwargs: Any) -> ma.fields.Float:
    return ma.fields.Float(validate=validate.Range(-90, 90), metadata={"description": "WGS84 degrees"}, **kwargs)


def longitude(**kwargs: Any) -> ma.fields.Float:
    return ma.fields.Float(validate=validate.Range(-180, 180), metadata={"description": "WGS84 degrees"}, **kwargs)


class AreaCreateSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(1, 64))
    name = ma.fields.String(required=True, validate=validate.Length(1, 200))
    kind = ma.fields.String(load_default="kecamatan", validate=validate.OneOf(("kecamatan", "kelurahan")))
    parent = ma.fields.String(validate=validate.Length(1, 64))
    latitude = latitude(required=True)
    longitude = longitude(required=True)
    polygon = ma.fields.List(
        ma.fields.List(ma.fields.Float(), validate=validate.Length(2, 2)),
        validate=validate.Length(3, 500),
        metadata={"description": "one ring of [latitude, longitude] vertices"},
    )


class AreaSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    parent = ma.fields.String(allow_none=True, attribute="parent_code")
    latitude = ma.fields.Float(required=True)
    longitude = ma.fields.Float(required=True)
    polygon = ma.fields.List(ma.fields.List(ma.fields.Float()), allow_none=True)


class HotspotQuerySchema(StatsQuerySchema):
    """`from`/`to` default to the 30 days ending today; `by`: `grid` (≈550 m cells) or `area`."""

    category = ma.fields.String(validate=validate.Length(1, 64))
    by = ma.fields.String(load_default=Clustering.GRID.value, validate=validate.OneOf([c.value for c in Clustering]))


class ClusterSchema(ma.Schema):
    area = ma.fields.String(allow_none=True)
    latitude = ma.fields.Float(required=True)
    longitude = ma.fields.Float(required=True)
    category = ma.fields.String(allow_none=True)
    count = ma.fields.Integer(required=True, metadata={"description": "cases submitted in the period"})
    open = ma.fields.Integer(required=True, metadata={"description": "of those, neither closed nor archived"})
    overdue = ma.fields.Integer(required=True, metadata={"description": "of those, with a task past its deadline"})
    previous_count = ma.fields.Integer(required=True, metadata={"description": "in the period just before"})


class HotspotsSchema(ma.Schema):
    clusters = ma.fields.List(ma.fields.Nested(ClusterSchema), required=True)


class SimilarQuerySchema(ma.Schema):
    title = ma.fields.String(validate=validate.Length(max=200))
    body = ma.fields.String(validate=validate.Length(max=10_000))
    category = ma.fields.String(validate=validate.Length(1, 64))
    latitude = latitude()
    longitude = longitude()


class SimilarSchema(ma.Schema):
    tracking_id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    distance_m = ma.fields.Float(metadata={"description": "metres, when both have a point"})
    supporters = ma.fields.Integer(required=True)


class SupportSchema(ma.Schema):
    """A supporter's contact: an e-mail or a phone, unless signed in as a reporter."""

    name = ma.fields.String(validate=validate.Length(1, 200))
    email = ma.fields.Email(validate=validate.Length(max=200))
    phone = ma.fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="a phone number"))


class SupportedSchema(ma.Schema):
    tracking_id = ma.fields.String(required=True)
    supporters = ma.fields.Integer(required=True)


class DuplicateSchema(ma.Schema):
    of = ma.fields.String(required=True, validate=TRACKING_ID, metadata={"description": "the primary complaint"})


class PublicStatsSchema(StatsSchema):
    hotspots = ma.fields.List(ma.fields.Nested(ClusterSchema), required=True)
    definitions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    computed_at = ma.fields.DateTime()

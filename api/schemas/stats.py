"""KPI schemas: the `/stats` query (agency subtree, local submission dates) and the figures it answers."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate


class StatsQuerySchema(ma.Schema):
    """`from` and `to` are local dates (inclusive) of submission; `agency` narrows to that agency's subtree."""

    agency = ma.fields.String(validate=validate.Length(1, 200))
    from_ = ma.fields.Date(data_key="from")
    to = ma.fields.Date()

    @ma.validates_schema
    def period_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "from_" in data and "to" in data and data["from_"] > data["to"]:
            raise ma.ValidationError("must not be before 'from'", field_name="to")


def _rate(description: str) -> ma.fields.Float:
    return ma.fields.Float(allow_none=True, metadata={"description": description + " (0..1; null: nothing to count)"})


class DurationSchema(ma.Schema):
    mean = ma.fields.Float(allow_none=True, metadata={"description": "working days"})
    median = ma.fields.Float(allow_none=True, metadata={"description": "working days"})


class SatisfactionSchema(ma.Schema):
    mean = ma.fields.Float(allow_none=True, metadata={"description": "mean rating, 1..5"})
    count = ma.fields.Integer(metadata={"description": "cases rated"})


class CountsSchema(ma.Schema):
    """Every numerator and denominator behind the rates, so each figure can be checked by hand."""

    total = ma.fields.Integer()
    dispositioned = ma.fields.Integer(metadata={"description": "cases dispositioned at least once"})
    completed = ma.fields.Integer(metadata={"description": "of those, closed"})
    followed_up = ma.fields.Integer(metadata={"description": "cases with a first follow-up"})
    on_time = ma.fields.Integer(metadata={"description": "first follow-up by its deadline"})
    followup_decided = ma.fields.Integer(metadata={"description": "followed up, or not and past the deadline"})
    verified = ma.fields.Integer(metadata={"description": "cases with a verification time"})
    dispositions = ma.fields.Integer(metadata={"description": "dispositions, re-routed ones included"})
    rerouted = ma.fields.Integer(metadata={"description": "dispositions sent back as not the agency's authority"})
    backlog = ma.fields.Integer(metadata={"description": "cases neither closed nor archived"})
    overdue = ma.fields.Integer(metadata={"description": "open cases with a task past its deadline"})
    escalated = ma.fields.Integer()
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class FiguresSchema(ma.Schema):
    followup_speed = ma.fields.Nested(DurationSchema, metadata={"description": "disposition → first follow-up"})
    completion_rate = _rate("closed ÷ dispositioned")
    on_time_followup_rate = _rate("first follow-ups by their deadline ÷ those decided")
    verification_time = ma.fields.Nested(DurationSchema, metadata={"description": "desk time to first disposition"})
    rerouting_rate = _rate("'not our authority' ÷ dispositions")
    satisfaction = ma.fields.Nested(SatisfactionSchema)
    counts = ma.fields.Nested(CountsSchema)


class AgencyFiguresSchema(FiguresSchema):
    agency = ma.fields.String(allow_none=True)


class CategoryFiguresSchema(FiguresSchema):
    category = ma.fields.String(allow_none=True)


class KindFiguresSchema(FiguresSchema):
    kind = ma.fields.String(allow_none=True)


class ChannelFiguresSchema(FiguresSchema):
    channel = ma.fields.String(allow_none=True, metadata={"description": "web, sms, email, kotak_saran, loket, …"})


class MonthFiguresSchema(FiguresSchema):
    month = ma.fields.String(allow_none=True, metadata={"description": "local month of submission, YYYY-MM"})


class AreaFiguresSchema(FiguresSchema):
    area = ma.fields.String(allow_none=True, metadata={"description": "area code (kecamatan); null: no area"})


class RankingSchema(ma.Schema):
    rank = ma.fields.Integer()
    agency = ma.fields.String()
    score = ma.fields.Float(metadata={"description": "mean of on_time_followup_rate and completion_rate"})
    on_time_followup_rate = ma.fields.Float(allow_none=True)
    completion_rate = ma.fields.Float(allow_none=True)
    followup_speed_median = ma.fields.Float(allow_none=True)
    cases = ma.fields.Integer()


class StatsSchema(FiguresSchema):
    by_agency = ma.fields.List(ma.fields.Nested(AgencyFiguresSchema))
    by_category = ma.fields.List(ma.fields.Nested(CategoryFiguresSchema))
    by_kind = ma.fields.List(ma.fields.Nested(KindFiguresSchema))
    by_channel = ma.fields.List(ma.fields.Nested(ChannelFiguresSchema))
    by_month = ma.fields.List(ma.fields.Nested(MonthFiguresSchema))
    by_area = ma.fields.List(ma.fields.Nested(AreaFiguresSchema))
    ranking = ma.fields.List(ma.fields.Nested(RankingSchema))

"""Places: areas, hot spots, similar complaints, support, duplicates, and the city's public figures."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor, require, staff
from api.extensions import db
from api.resources.complaints import settings, visible
from api.schemas.complaints import ComplaintSchema
from api.schemas.places import (
    AreaCreateSchema,
    AreaSchema,
    DuplicateSchema,
    HotspotQuerySchema,
    HotspotsSchema,
    PublicStatsSchema,
    SimilarQuerySchema,
    SimilarSchema,
    SupportedSchema,
    SupportSchema,
)
from api.schemas.stats import StatsQuerySchema
from api.views import complaint
from engine import places
from engine.cases import lifecycle
from engine.cases.case import Case
from engine.cases.visibility import is_public
from engine.db import utcnow
from engine.directory.agencies import Agency
from engine.errors import InvalidData, NotFound
from engine.stats import figures as stats

blp = Blueprint("places", __name__, description="Places, hot spots, duplicates and public figures")


@blp.route("/areas")
class Areas(MethodView):
    @blp.response(200, AreaSchema(many=True))
    def get(self) -> list[places.Area]:
        """Areas (kecamatan, kelurahan) a complaint may name; anyone may read them."""
        return places.list_areas(db.session())

    @require("admin")
    @blp.arguments(AreaCreateSchema)
    @blp.response(201, AreaSchema)
    def post(self, body: dict[str, Any]) -> places.Area:
        """Add an area: a centre point and, optionally, one polygon ring of [latitude, longitude]."""
        area = places.create_area(db.session(), **body)
        db.session.commit()
        return area


def _check_agency(agency: str | None) -> None:
    if agency is not None and db.session.get(Agency, agency) is None:
        raise InvalidData("invalid agency", {"agency": [f"no agency {agency!r}"]})


@blp.route("/stats/hotspots")
class Hotspots(MethodView):
    @require()
    @blp.arguments(HotspotQuerySchema, location="query")
    @blp.response(200, HotspotsSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Clusters of the caller's cases (by grid cell or by area), with the previous period's count."""
        _check_agency(query.get("agency"))
        session = db.session()
        condition = stats.where(session, staff(), stats.Query(query.get("agency")))
        if "category" in query:
            condition = condition & (Case.category == query["category"])
        period = places.Period.around(query.get("from_"), query.get("to"))
        clustering = places.Clustering(query["by"])
        return {"clusters": places.hotspots(session, condition, period, utcnow(), clustering)}


@blp.route("/complaints/similar")
class Similar(MethodView):
    @blp.arguments(SimilarQuerySchema, location="query")
    @blp.response(200, SimilarSchema(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Open public complaints like the one being typed: same category, nearby, similar words."""
        point = places.check_point(query.get("latitude"), query.get("longitude"))
        text = f"{query.get('title', '')} {query.get('body', '')}"
        return places.similar(db.session(), places.Probe(text, query.get("category"), point))


@blp.route("/complaints/<tracking:tracking_id>/support")
class Support(MethodView):
    @blp.arguments(SupportSchema)
    @blp.response(201, SupportedSchema)
    def post(self, contact: dict[str, Any], tracking_id: str) -> dict[str, Any]:
        """Support a public complaint ("already reported: support it") and be told of its follow-ups."""
        case, _ = visible(tracking_id)
        if not is_public(case):  # only what the public sees may be supported (never a confidential case)
            raise NotFound(f"no complaint {tracking_id!r}")
        places.support(db.session(), case, contact, current_actor())
        db.session.commit()
        count = places.supporters(db.session(), [case.id]).get(case.id, 0)
        return {"tracking_id": case.tracking_id, "supporters": count}


@blp.route("/complaints/<tracking:tracking_id>/duplicate")
class Duplicate(MethodView):
    @require("verifier")
    @blp.arguments(DuplicateSchema)
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(409, description="The complaint waits for no verification")
    def post(self, body: dict[str, Any], tracking_id: str) -> dict[str, Any]:
        """Close the complaint as a duplicate of `of` (both in the verifier's scope); its reporter follows `of`."""
        case, audience = visible(tracking_id)
        try:
            primary, _ = visible(body["of"])
        except NotFound as exc:
            raise InvalidData("invalid duplicate", {"of": ["no such complaint in your scope"]}) from exc
        outcome = lifecycle.mark_duplicate(db.session(), staff(), case, primary, settings())
        return complaint(db.session(), outcome.case, audience)


class TtlCache:
    """The last answers per key, each recomputed at most every `ttl` seconds (per process, bounded)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.items: dict[Any, tuple[float, Any]] = {}
        self.lock = threading.Lock()

    def get(self, key: Any, ttl: float, compute: Any) -> Any:
        now = time.monotonic()
        with self.lock:
            hit = self.items.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = compute()
        with self.lock:
            if len(self.items) >= self.size:
                self.items.pop(next(iter(self.items)))
            self.items[key] = (now, value)
        return value


PUBLIC_FIGURES = TtlCache()
DEFINITIONS = {
    "followup_speed": "working days from disposition to the agency's first follow-up (mean, median)",
    "completion_rate": "closed ÷ dispositioned",
    "on_time_followup_rate": "first follow-ups within their deadline (5 working days) ÷ those decided",
    "verification_time": "working days from submission to the first disposition",
    "ranking": "agencies by the mean of on-time and completion rates; ties by the faster median follow-up",
    "hotspots": "cases by area (kecamatan) and category in the period, against the period just before",
    "scope": "every complaint that is not confidential (rahasia); no reporter data",
}


@blp.route("/public/stats")
class PublicStats(MethodView):
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.response(200, PublicStatsSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The city's figures without sign-in: `/stats` over non-confidential complaints, and hot spots by area.

        Recomputed at most every `PUBLIC_STATS_TTL` seconds (default 300) per process.
        """
        _check_agency(query.get("agency"))
        key = (query.get("agency"), query.get("from_"), query.get("to"))
        ttl = float(current_app.config.get("PUBLIC_STATS_TTL", 300))
        return PUBLIC_FIGURES.get(key, ttl, lambda: public_figures(query))  # type: ignore[no-any-return]


def public_figures(query: dict[str, Any]) -> dict[str, Any]:
    session, now = db.session(), utcnow()
    asked = stats.Query(query.get("agency"), query.get("from_"), query.get("to"))
    figures = stats.stats(session, stats.public_where(asked), now, stats.rollup_scope(None, asked))
    period = places.Period.around(query.get("from_"), query.get("to"))
    located = stats.public_where(stats.Query(query.get("agency")))
    figures["hotspots"] = places.hotspots(session, located, period, now, places.Clustering.AREA)
    return {**figures, "definitions": DEFINITIONS, "computed_at": now}

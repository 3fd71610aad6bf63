"""Hot-spot timing for `aduan bench stats`: the `/stats/hotspots` query shapes on the synthetic cases.

The bench cases get a point spread over Kota Batam's extent (0.3 by 0.3 degrees, so ~3,600 grid cells of
0.005°) and one of 12 bench areas (`benchkota.kec-NN`, centres on a line across the city); `location` is
called by the synthetic-case generator, `shapes` adds the timed queries to the bench's table.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bench import city
from engine import places
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.stats import figures as stats

AREAS = [f"benchkota.kec-{n:02d}" for n in range(1, 13)]
SOUTH_WEST = (0.98, 103.88)
EXTENT = 0.30  # degrees


def location(rng: random.Random) -> dict[str, Any]:
    """A point in the bench city and its area (the area's strip of longitude)."""
    latitude = round(SOUTH_WEST[0] + rng.random() * EXTENT, 5)
    longitude = round(SOUTH_WEST[1] + rng.random() * EXTENT, 5)
    strip = min(int((longitude - SOUTH_WEST[1]) / EXTENT * len(AREAS)), len(AREAS) - 1)
    return {"latitude": latitude, "longitude": longitude, "area": AREAS[strip]}


def ensure_areas(session: Session) -> None:
    """The 12 bench areas (centre points only)."""
    for n, code in enumerate(AREAS):
        if session.get(places.Area, code) is None:
            longitude = SOUTH_WEST[1] + (n + 0.5) * EXTENT / len(AREAS)
            places.create_area(session, code, code, SOUTH_WEST[0] + EXTENT / 2, round(longitude, 5))
    session.commit()


def shapes(session: Session, now: datetime) -> dict[str, Callable[[], Any]]:
    """The `/stats/hotspots` shapes, each as the endpoint runs it (auditor scope; one officer's scope and the
    public figures' `confidential` filter too, which only PostgreSQL's covering stats index holds)."""
    everything = stats.where(session, Actor("bench", "auditor"), stats.Query())
    officer = stats.where(session, Actor("bench.officer", "officer", city.agencies("benchkota")[1][2]), stats.Query())
    public = stats.public_where(stats.Query())
    month = places.Period(date(2026, 6, 1), date(2026, 6, 30))
    quarter = places.Period(date(2026, 4, 1), date(2026, 6, 30))
    year = places.Period(date(2026, 7, 3), date(2026, 12, 31))  # half a year, against the half before
    grid, area = places.Clustering.GRID, places.Clustering.AREA
    one_category = everything & (Case.category == "kebersihan")

    def run(condition: Any, period: places.Period, clustering: places.Clustering) -> Callable[[], Any]:
        return lambda: places.hotspots(session, condition, period, now, clustering)

    return {
        "hot spots, grid, 30 days": run(everything, month, grid),
        "hot spots, by area, 30 days": run(everything, month, area),
        "hot spots, grid, one category, a quarter": run(one_category, quarter, grid),
        "hot spots, grid, half a year vs the half before": run(everything, year, grid),
        "hot spots, grid, an officer's dinas, 30 days": run(officer, month, grid),
        "hot spots, by area, public, 30 days": run(public, month, area),
    }

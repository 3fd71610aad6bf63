"""Administrative areas (kecamatan, kelurahan) and the point → area rule.

An area is admin-managed data: a code, a name, a centre point and optionally a simple polygon (one ring of
`[latitude, longitude]` vertices). A complaint's area is the one the reporter chose, else the first area
whose polygon contains its point, else the area with the nearest centre within `NEAREST_CENTRE_M` (for
areas known only by their centre). Points are WGS84 degrees rounded to 5 decimals (about 1.1 m).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.errors import InvalidData

CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
KINDS = ("kecamatan", "kelurahan")
DIGITS = 5  # 1e-5 degree ≈ 1.1 m at the equator: the precision a phone's GPS gives
EARTH_RADIUS_M = 6_371_008.8
NEAREST_CENTRE_M = 8_000.0


class Area(Base):
    """A kecamatan or kelurahan; `polygon` is one ring of [latitude, longitude] pairs, or None."""

    __tablename__ = "area"

    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(32), default="kecamatan")
    parent_code: Mapped[str | None] = mapped_column(sa.String(64))
    latitude: Mapped[float] = mapped_column(sa.Float)
    longitude: Mapped[float] = mapped_column(sa.Float)
    polygon: Mapped[list[list[float]] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def check_point(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    """The point rounded to ~1 m, None when neither is given; InvalidData naming the field otherwise."""
    if latitude is None and longitude is None:
        return None
    errors: dict[str, list[str]] = {}
    for name, value, limit in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if value is None:
            errors[name] = ["give both latitude and longitude, or neither"]
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors[name] = ["a number of degrees (WGS84)"]
        elif not -limit <= value <= limit:
            errors[name] = [f"between -{limit} and {limit} degrees"]
    if errors:
        raise InvalidData("invalid location", errors)
    return round(float(latitude), DIGITS), round(float(longitude), DIGITS)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance in metres between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def contains(polygon: Sequence[Sequence[float]], point: tuple[float, float]) -> bool:
    """Even-odd ray casting: is `point` inside the ring (vertices [latitude, longitude])?"""
    lat, lon = point
    inside = False
    for (lat1, lon1), (lat2, lon2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if (lat1 > lat) != (lat2 > lat) and lon < lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1):
            inside = not inside
    return inside


def area_for(session: Session, point: tuple[float, float]) -> str | None:
    """The code of the area holding `point` (polygon first, then nearest centre within range), or None."""
    areas = list(session.scalars(sa.select(Area).order_by(Area.code)))
    for area in areas:
        if area.polygon and contains(area.polygon, point):
            return area.code
    centred = [(distance_m(point, (a.latitude, a.longitude)), a.code) for a in areas if not a.polygon]
    nearest = min(centred, default=None)
    return nearest[1] if nearest is not None and nearest[0] <= NEAREST_CENTRE_M else None


def list_areas(session: Session) -> list[Area]:
    return list(session.scalars(sa.select(Area).order_by(Area.code)))


def _is_vertex(vertex: Any) -> bool:
    if not isinstance(vertex, list) or len(vertex) != 2:
        return False
    try:
        return check_point(*vertex) is not None
    except InvalidData:
        return False


def _check_polygon(polygon: Any) -> str | None:
    """What is wrong with a polygon ring, or None when it is usable (or absent)."""
    if polygon is None:
        return None
    if not isinstance(polygon, list) or not 3 <= len(polygon) <= 500:
        return "a list of 3 to 500 [latitude, longitude] vertices"
    if not all(_is_vertex(v) for v in polygon):
        return "every vertex is [latitude, longitude] in WGS84 degrees"
    return None


def create_area(
    session: Session,
    code: str,
    name: str,
    latitude: float,
    longitude: float,
    kind: str = "kecamatan",
    polygon: list[list[float]] | None = None,
    parent: str | None = None,
) -> Area:
    """Add an area (flushes; the caller commits); InvalidData naming the field on bad input."""
    errors: dict[str, list[str]] = {}
    if not CODE.fullmatch(code):
        errors["code"] = ["lower-case letters, digits, '.', '_' or '-', at most 64"]
    elif session.get(Area, code) is not None:
        errors["code"] = ["exists"]
    if kind not in KINDS:
        errors["kind"] = [f"one of {', '.join(KINDS)}"]
    if parent is not None and session.get(Area, parent) is None:
        errors["parent"] = ["no such area"]
    if (problem := _check_polygon(polygon)) is not None:
        errors["polygon"] = [problem]
    try:
        centre = check_point(latitude, longitude)
    except InvalidData as exc:
        errors.update(exc.errors)
        centre = None
    if errors or centre is None:
        raise InvalidData("invalid area", errors or {"latitude": ["required"]})
    polygon = [[round(a, DIGITS), round(b, DIGITS)] for a, b in polygon] if polygon else None
    area = Area(code=code, name=name, kind=kind, parent_code=parent, latitude=centre[0], longitude=centre[1],
                polygon=polygon)  # fmt: skip
    session.add(area)
    session.flush()
    return area

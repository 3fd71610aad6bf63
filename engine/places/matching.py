"""Similar complaints (laporan serupa): what a citizen is offered to support instead of filing again.

Text is matched by the database's full-text search — PostgreSQL `to_tsvector('simple', title || ' ' ||
body)` (a GIN expression index), SQLite an FTS5 table kept by triggers — with any of the typed words; the
matches are ranked by word overlap. Only public, still-open complaints are offered (never a confidential
or unverified one), of the same category when one is given, and within `RADIUS_M` when both have a point.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.cases.case import Case, Status
from engine.cases.visibility import public_scope
from engine.places.areas import EARTH_RADIUS_M, distance_m
from engine.places.followers import supporters

RADIUS_M = 100.0
LIMIT = 5
CANDIDATES = 200
MAX_WORDS = 12
WORD = re.compile(r"[^\W_]{3,}")
# Indonesian (and a few English) words too common to say two complaints are alike
STOP_WORDS = frozenset(
    ("yang", "dan", "di", "ke", "dari", "untuk", "dengan", "ini", "itu", "sudah", "belum", "tidak", "ada", "pada",
     "juga", "karena", "sejak", "atau", "oleh", "akan", "sangat", "lagi", "kami", "saya", "mohon", "tolong",
     "the", "and", "for", "with")
)  # fmt: skip


@dataclass(frozen=True)
class Probe:
    """What the citizen has typed so far."""

    text: str = ""
    category: str | None = None
    point: tuple[float, float] | None = None
    radius_m: float = RADIUS_M


def words(text: str) -> list[str]:
    """The distinctive words of `text` (lower case, at least 3 letters, no stop words), first `MAX_WORDS`."""
    seen = dict.fromkeys(w for w in WORD.findall(text.lower()) if w not in STOP_WORDS)
    return list(seen)[:MAX_WORDS]


def text_match(session: Session, terms: list[str], every: bool = False) -> sa.ColumnElement[bool]:
    """Cases whose title or body has any (or, `every`, all) of `terms`, by the backend's full-text index."""
    if session.get_bind().dialect.name == "postgresql":
        query = (" & " if every else " | ").join(terms)
        document = sa.func.to_tsvector(sa.literal_column("'simple'"), Case.title + " " + Case.body)
        return document.op("@@")(sa.func.to_tsquery("simple", query))
    query = (" AND " if every else " OR ").join(f'"{t}"' for t in terms)
    fts = sa.text("SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH :fts_query").bindparams(fts_query=query)
    return Case.id.in_(fts.columns(sa.column("rowid")))


def _near(point: tuple[float, float], radius_m: float) -> sa.ColumnElement[bool]:
    """A bounding box around `point` (indexed columns); cases without a point are not excluded."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(point[0])), 0.01)
    inside = sa.and_(Case.latitude.between(point[0] - dlat, point[0] + dlat),
                     Case.longitude.between(point[1] - dlon, point[1] + dlon))  # fmt: skip
    return sa.or_(Case.latitude.is_(None), inside)


def similar(session: Session, probe: Probe, limit: int = LIMIT) -> list[dict[str, Any]]:
    """Open public complaints like `probe`, nearest and most alike first: [{tracking_id, title, status,
    distance_m?, supporters}]. Empty when the probe has neither distinctive words nor a point."""
    terms = words(probe.text)
    if not terms and probe.point is None:
        return []
    conditions = [public_scope(), Case.status != Status.CLOSED]
    if probe.category is not None:
        conditions.append(Case.category == probe.category)
    if terms:
        conditions.append(text_match(session, terms))
    if probe.point is not None:
        conditions.append(_near(probe.point, probe.radius_m))
    query = sa.select(Case).where(*conditions).order_by(Case.created_at.desc()).limit(CANDIDATES)
    found = [(case, _distance(case, probe)) for case in session.scalars(query)]
    found = [(case, d) for case, d in found if d is None or d <= probe.radius_m]
    found.sort(key=lambda item: (-_overlap(terms, item[0]), item[1] if item[1] is not None else math.inf))
    counts = supporters(session, [case.id for case, _ in found[:limit]])
    return [_offer(case, d, counts.get(case.id, 0)) for case, d in found[:limit]]


def _distance(case: Case, probe: Probe) -> float | None:
    if probe.point is None or case.latitude is None or case.longitude is None:
        return None
    return distance_m(probe.point, (case.latitude, case.longitude))


def _overlap(terms: list[str], case: Case) -> float:
    """Share of the probe's words found in the case's title and body (0..1)."""
    if not terms:
        return 0.0
    theirs = set(WORD.findall(f"{case.title} {case.body}".lower()))
    return sum(t in theirs for t in terms) / len(terms)


def _offer(case: Case, distance: float | None, supporter_count: int) -> dict[str, Any]:
    offer: dict[str, Any] = {"tracking_id": case.tracking_id, "title": case.title, "status": case.status}
    if distance is not None:
        offer["distance_m"] = round(distance, 1)
    offer["supporters"] = supporter_count
    return offer

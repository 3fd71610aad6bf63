"""The parts of `/stats` that are not plain SQL: the exact median and the agency ranking."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.stats import figures as stats


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], None), ([None, None], None), ([3.0], 3.0), ([4.0, None, 1.0], 2.5), ([5.0, 1.0, 3.0], 3.0)],
    ids=["empty", "only-nulls", "one", "even-with-null", "odd"],
)
def test_the_median_aggregate_is_exact_and_ignores_nulls(
    session: Session, values: list[float | None], expected: float | None
) -> None:
    rows = sa.union_all(*(sa.select(sa.cast(sa.literal(v), sa.Float).label("v")) for v in [*values, None])).subquery()
    assert session.scalar(sa.select(stats.median(session, rows.c.v))) == expected


def row(agency: str | None, on_time: float | None, completion: float | None, median: float | None) -> dict[str, Any]:
    return {
        "agency": agency,
        "on_time_followup_rate": on_time,
        "completion_rate": completion,
        "followup_speed": {"mean": median, "median": median},
        "counts": {"total": 3},
    }


def test_the_ranking_orders_by_score_then_median_speed_and_shares_ranks_on_ties() -> None:
    ranked = stats.ranking(
        [
            row(None, 1.0, 1.0, 0.5),  # cases not yet disposed: never ranked
            row("a", 0.5, 1.0, 2.0),  # score 0.75
            row("b", 1.0, 0.5, 1.0),  # score 0.75, faster
            row("c", None, 0.9, None),  # nothing decided on time yet: completion alone
            row("d", 0.5, 1.0, 2.0),  # as a
            row("e", None, None, None),  # nothing to score
        ]
    )
    assert [(e["rank"], e["agency"], e["score"]) for e in ranked] == [
        (1, "c", 0.9),
        (2, "b", 0.75),
        (3, "a", 0.75),
        (3, "d", 0.75),
    ]

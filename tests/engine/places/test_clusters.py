"""Hot-spot periods: the period asked for and the one of equal length just before it."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import InvalidData
from engine.places.clusters import Period


def test_a_period_compares_with_the_one_just_before_and_never_leaves_the_calendar() -> None:
    june = Period(date(2026, 6, 1), date(2026, 6, 30))
    assert june.previous == Period(date(2026, 5, 2), date(2026, 5, 31))
    assert Period.around(None, date(2026, 6, 30)) == june
    assert Period(date(1, 1, 3), date(2026, 1, 1)).previous == Period(date(1, 1, 1), date(1, 1, 2))


def test_a_period_that_ends_before_it_starts_is_refused_naming_from() -> None:
    with pytest.raises(InvalidData) as raised:
        Period.around(date(6014, 1, 1), None)
    assert "from" in raised.value.errors

"""Points and areas: a WGS84 point kept to about a metre, point-in-polygon, nearest centre."""

from __future__ import annotations

import math

import pytest

from engine.errors import InvalidData
from engine.places.areas import check_point, contains, distance_m

SQUARE = [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
L_SHAPE = [[0.0, 0.0], [0.0, 2.0], [1.0, 2.0], [1.0, 1.0], [2.0, 1.0], [2.0, 0.0]]


def test_a_point_is_rounded_to_five_decimals_and_both_or_neither_is_given() -> None:
    assert check_point(1.1234567, 104.0000049) == (1.12346, 104.0)
    assert check_point(None, None) is None
    bad = [(1.0, None, "longitude"), (None, 2.0, "latitude"), (math.nan, 1, "latitude"), (True, 1, "latitude"),
           (-90.1, 1, "latitude"), (0, 180.5, "longitude")]  # fmt: skip
    for latitude, longitude, field in bad:
        with pytest.raises(InvalidData) as raised:
            check_point(latitude, longitude)
        assert field in raised.value.errors


@pytest.mark.parametrize(
    ("polygon", "point", "inside"),
    [
        (SQUARE, (0.5, 0.5), True),
        (SQUARE, (1.5, 0.5), False),
        (SQUARE, (0.5, -0.1), False),
        (L_SHAPE, (1.5, 1.5), False),  # the notch of the L
        (L_SHAPE, (1.5, 0.5), True),
        (L_SHAPE, (0.5, 1.5), True),
    ],
)
def test_point_in_polygon(polygon: list[list[float]], point: tuple[float, float], inside: bool) -> None:
    assert contains(polygon, point) is inside


def test_distances_are_great_circle_metres() -> None:
    assert distance_m((1.13, 104.05), (1.13, 104.05)) == 0
    assert distance_m((0.0, 0.0), (0.0, 1.0)) == pytest.approx(111_195, rel=1e-4)  # one degree at the equator
    assert distance_m((1.11, 103.95), (1.1103, 103.95)) == pytest.approx(33.4, abs=0.05)

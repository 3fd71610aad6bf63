"""Places: where complaints are, where they cluster, and the same problem reported twice.

- `areas`: admin-managed areas (kecamatan, kelurahan) and the point → area rule; `check_point` validates a
  WGS84 point to ~1 m.
- `clusters`: hot spots, clusters by area and by a fixed grid, with open/overdue counts and the previous period.
- `matching`: open public complaints like the one being typed (full-text + distance), never confidential.
- `followers`: supporters of a case (supporters, reporters of its duplicates), told of its public follow-ups.
- `batam`: the demo's kecamatan of Kota Batam.

Others import from here: `from engine.places import Area, area_for, check_point, hotspots, ...`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.faces import lazy

# A lazy face (engine.faces): importing one module of this package never runs the others.
if TYPE_CHECKING:
    from engine.places.areas import Area, area_for, check_point, create_area, distance_m, list_areas
    from engine.places.clusters import Clustering, Period, hotspots
    from engine.places.followers import Follower, FollowerKind, follow_as_duplicate, support, supporters
    from engine.places.matching import Probe, similar, text_match, words

_NAMES: dict[str, str] = {
    "Area": "engine.places.areas",
    "Clustering": "engine.places.clusters",
    "Follower": "engine.places.followers",
    "FollowerKind": "engine.places.followers",
    "Period": "engine.places.clusters",
    "Probe": "engine.places.matching",
    "area_for": "engine.places.areas",
    "check_point": "engine.places.areas",
    "create_area": "engine.places.areas",
    "distance_m": "engine.places.areas",
    "follow_as_duplicate": "engine.places.followers",
    "hotspots": "engine.places.clusters",
    "list_areas": "engine.places.areas",
    "similar": "engine.places.matching",
    "support": "engine.places.followers",
    "supporters": "engine.places.followers",
    "text_match": "engine.places.matching",
    "words": "engine.places.matching",
}
_MODULES: dict[str, str] = {}


__getattr__ = lazy(__name__, _NAMES, _MODULES)


__all__ = [
    "Area",
    "Clustering",
    "Follower",
    "FollowerKind",
    "Period",
    "Probe",
    "area_for",
    "check_point",
    "create_area",
    "distance_m",
    "follow_as_duplicate",
    "hotspots",
    "list_areas",
    "similar",
    "support",
    "supporters",
    "text_match",
    "words",
]

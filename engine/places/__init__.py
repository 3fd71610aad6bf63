"""Places: where complaints are, where they cluster, and the same problem reported twice.

- `areas`: admin-managed areas (kecamatan, kelurahan) and the point → area rule; `check_point` validates a
  WGS84 point to ~1 m.
- `hotspots`: clusters by area and by a fixed grid, with open/overdue counts and the previous period.
- `similar`: open public complaints like the one being typed (full-text + distance), never confidential.
- `followers`: supporters of a case (supporters, reporters of its duplicates), told of its public follow-ups.
- `batam`: the demo's kecamatan of Kota Batam.

Others import from here: `from engine.places import Area, area_for, check_point, hotspots, ...`.
"""

from engine.places.areas import Area, area_for, check_point, create_area, distance_m, list_areas
from engine.places.followers import Follower, FollowerKind, follow_as_duplicate, support, supporters
from engine.places.hotspots import Clustering, Period, hotspots
from engine.places.similar import Probe, similar, text_match, words

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

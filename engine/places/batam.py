"""The demo's areas: the 12 kecamatan of Kota Batam, known by an approximate centre point only.

Source: the centre coordinates are approximate (±1-2 km) positions of each kecamatan's main settlement as
shown on OpenStreetMap (openstreetmap.org, ODbL), typed in by hand and rounded to 0.01°. They are not
official boundaries (those are published by BIG/BPS as polygons); an admin replaces or refines them with
`POST /api/v1/areas` (a polygon wins over a nearest-centre match). Kecamatan names follow Perda Kota Batam.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.places.areas import Area, create_area

KECAMATAN: list[tuple[str, str, float, float]] = [
    ("batam.batam-kota", "Batam Kota", 1.13, 104.05),
    ("batam.batu-aji", "Batu Aji", 1.04, 103.99),
    ("batam.batu-ampar", "Batu Ampar", 1.16, 104.01),
    ("batam.belakang-padang", "Belakang Padang", 1.15, 103.89),
    ("batam.bengkong", "Bengkong", 1.15, 104.04),
    ("batam.bulang", "Bulang", 1.03, 103.92),
    ("batam.galang", "Galang", 0.75, 104.22),
    ("batam.lubuk-baja", "Lubuk Baja", 1.14, 104.00),
    ("batam.nongsa", "Nongsa", 1.18, 104.10),
    ("batam.sagulung", "Sagulung", 1.05, 103.95),
    ("batam.sei-beduk", "Sei Beduk", 1.07, 104.03),
    ("batam.sekupang", "Sekupang", 1.11, 103.95),
]


def seed(session: Session) -> None:
    """Create whichever Batam kecamatan is missing (flushes; the caller commits)."""
    for code, name, latitude, longitude in KECAMATAN:
        if session.get(Area, code) is None:
            create_area(session, code, name, latitude, longitude)

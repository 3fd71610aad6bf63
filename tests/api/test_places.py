"""Places over HTTP: a complaint's point and area, hot spots, similar complaints, support, duplicates.

Hot spots are checked against clusters computed by hand from a crafted set (grid cells of 0.005°):

| case | submitted (WIB)  | category   | point               | area (nearest centre) | then                      |
|------|------------------|------------|---------------------|-----------------------|---------------------------|
| P    | Fri 23 Oct 2026  | kebersihan | 1.13051, 104.05051  | batam.batam-kota      | — (previous period)       |
| A1   | Mon 2 Nov        | kebersihan | 1.13001, 104.05001  | batam.batam-kota      | — (verify overdue 9 Nov)  |
| A2   | Mon 2 Nov        | kebersihan | 1.13101, 104.05101  | batam.batam-kota      | rejected 3 Nov (archived) |
| A3   | Mon 2 Nov        | kebersihan | 1.13201, 104.05201  | batam.batam-kota      | accepted 8 Nov (not due)  |
| B    | Mon 2 Nov        | parkir     | 1.13001, 104.05001  | batam.batam-kota      | — (overdue)               |
| C    | Mon 2 Nov        | kebersihan | 1.14, 104.0         | batam.lubuk-baja      | — (overdue)               |

Asked on Mon 9 Nov for 27 Oct to 2 Nov (previous period: 20 to 26 Oct).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.extensions import db
from engine.cases.case import get_case
from engine.notify.outbox import OutboxMessage
from engine.places import batam
from tests.api.conftest import API, Auth
from tests.engine.conftest import DLH, VERIFIER, Desk


def wib(m: int, d: int, hh: int = 9, y: int = 2026) -> datetime:
    return datetime(y, m, d, hh, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def areas(session: Session, client: FlaskClient) -> None:
    batam.seed(session)
    session.commit()


def file(client: FlaskClient, **fields: Any) -> Any:
    body = {"title": "Sampah menumpuk di pinggir jalan", "body": "Sampah belum diangkut lima hari.", **fields}
    return client.post(f"{API}/complaints", json=body)


# --- location -------------------------------------------------------------------------------------------


def test_a_point_is_kept_to_a_metre_and_its_area_derived(client: FlaskClient, areas: None) -> None:
    answer = file(client, latitude=1.1300049, longitude=104.0500051, category="kebersihan")
    assert answer.status_code == 201, answer.json
    assert (answer.json["latitude"], answer.json["longitude"]) == (1.13, 104.05001)
    assert answer.json["area"] == "batam.batam-kota"
    token = answer.json["reporter_token"]
    view = client.get(f"{API}/complaints/{answer.json['tracking_id']}", headers={"X-Reporter-Token": token}).json
    assert (view["latitude"], view["longitude"], view["area"]) == (1.13, 104.05001, "batam.batam-kota")


def test_a_chosen_area_wins_and_a_polygon_wins_over_a_nearer_centre(
    client: FlaskClient, auth: Auth, areas: None
) -> None:
    assert file(client, latitude=1.13, longitude=104.05, area="batam.nongsa").json["area"] == "batam.nongsa"
    square = [[1.125, 104.045], [1.125, 104.055], [1.135, 104.055], [1.135, 104.045]]
    created = client.post(
        f"{API}/areas",
        json={"code": "batam.batam-kota.teluk-tering", "name": "Teluk Tering", "kind": "kelurahan",
              "latitude": 1.13, "longitude": 104.05, "polygon": square},
        headers=auth("admin"),
    )  # fmt: skip
    assert created.status_code == 201, created.json
    assert file(client, latitude=1.131, longitude=104.051).json["area"] == "batam.batam-kota.teluk-tering"
    outside = file(client, latitude=1.140, longitude=104.051).json  # outside the square: the nearest centre
    assert outside["area"] == "batam.batam-kota"


def test_no_point_no_area_and_a_point_far_from_every_area_has_none(client: FlaskClient, areas: None) -> None:
    assert file(client).json["area"] is None
    assert file(client, latitude=-6.2, longitude=106.8).json["area"] is None  # Jakarta


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"latitude": 91, "longitude": 104}, "latitude"),
        ({"latitude": 1.1, "longitude": -181}, "longitude"),
        ({"latitude": 1.1}, "longitude"),
        ({"longitude": 104.0}, "latitude"),
        ({"latitude": "utara", "longitude": 104.0}, "latitude"),
        ({"area": "batam.atlantis"}, "area"),
    ],
)
def test_a_bad_point_or_area_is_422_naming_the_field(
    client: FlaskClient, areas: None, fields: dict[str, Any], field: str
) -> None:
    answer = file(client, **fields)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"]


def test_areas_are_read_by_anyone_and_added_by_admins_only(client: FlaskClient, auth: Auth, areas: None) -> None:
    listed = client.get(f"{API}/areas").json
    assert len(listed) == 12 and {"code": "batam.sekupang", "name": "Sekupang"}.items() <= listed[-1].items()
    body = {"code": "batam.x", "name": "X", "latitude": 1.0, "longitude": 104.0}
    assert client.post(f"{API}/areas", json=body, headers=auth("verifier")).status_code == 403
    bad = client.post(f"{API}/areas", json={**body, "polygon": [[1, 2], [3, 4]]}, headers=auth("admin"))
    assert bad.status_code == 422 and "polygon" in bad.json["errors"]


# --- hot spots ------------------------------------------------------------------------------------------


@pytest.fixture
def crafted(session: Session, areas: None) -> Iterator[dict[str, str]]:
    """The cases of the module docstring; yields {name: tracking id} with the clock at Mon 9 Nov 09:00."""
    ids: dict[str, str] = {}
    points = {
        "P": ("kebersihan", 1.13051, 104.05051, wib(10, 23)),
        "A1": ("kebersihan", 1.13001, 104.05001, wib(11, 2)),
        "A2": ("kebersihan", 1.13101, 104.05101, wib(11, 2)),
        "A3": ("kebersihan", 1.13201, 104.05201, wib(11, 2)),
        "B": ("parkir", 1.13001, 104.05001, wib(11, 2)),
        "C": ("kebersihan", 1.14, 104.0, wib(11, 2)),
    }
    desks: dict[str, Desk] = {}
    with time_machine.travel(wib(10, 23), tick=False) as clock:
        for name, (category, latitude, longitude, at) in points.items():
            clock.move_to(at)
            desks[name] = Desk(session)
            desks[name].submit(category=category, latitude=latitude, longitude=longitude)
            ids[name] = desks[name].tracking_id
        clock.move_to(wib(11, 3))
        desks["A2"].do(VERIFIER, "verify", decision="reject", reason="Bukan pelayanan publik")
        clock.move_to(wib(11, 8))
        desks["A3"].do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
        clock.move_to(wib(11, 9))
        yield ids


def hotspots(client: FlaskClient, auth: Auth, user: str = "auditor", **query: str) -> list[dict[str, Any]]:
    answer = client.get(f"{API}/stats/hotspots", query_string=query, headers=auth(user))
    assert answer.status_code == 200, answer.json
    return answer.json["clusters"]  # type: ignore[no-any-return]


def cluster(area: str, category: str, lat: float, lon: float, *counts: int) -> dict[str, Any]:
    names = ("count", "open", "overdue", "previous_count")
    place = {"area": area, "category": category, "latitude": lat, "longitude": lon}
    return {**place, **dict(zip(names, counts, strict=True))}


PERIOD = {"from": "2026-10-27", "to": "2026-11-02"}


def test_grid_hot_spots_are_the_hand_computed_clusters(client: FlaskClient, auth: Auth, crafted: Any) -> None:
    assert hotspots(client, auth, **PERIOD) == [
        cluster("batam.batam-kota", "kebersihan", 1.13101, 104.05101, 3, 2, 1, 1),
        cluster("batam.batam-kota", "parkir", 1.13001, 104.05001, 1, 1, 1, 0),
        cluster("batam.lubuk-baja", "kebersihan", 1.14, 104.0, 1, 1, 1, 0),
    ]


def test_hot_spots_by_area_sit_on_the_area_centre(client: FlaskClient, auth: Auth, crafted: Any) -> None:
    assert hotspots(client, auth, by="area", category="kebersihan", **PERIOD) == [
        cluster("batam.batam-kota", "kebersihan", 1.13, 104.05, 3, 2, 1, 1),
        cluster("batam.lubuk-baja", "kebersihan", 1.14, 104.0, 1, 1, 1, 0),
    ]


def test_hot_spots_follow_the_callers_scope_and_the_agency_filter(
    client: FlaskClient, auth: Auth, crafted: Any
) -> None:
    # the environment agency sees only A3, the one case disposed to it
    assert hotspots(client, auth, "dlh", **PERIOD) == [
        cluster("batam.batam-kota", "kebersihan", 1.13201, 104.05201, 1, 1, 0, 0)
    ]
    assert hotspots(client, auth, agency="batam.dishub", **PERIOD) == []
    answer = client.get(f"{API}/stats/hotspots", query_string={"by": "hex"}, headers=auth("auditor"))
    assert answer.status_code == 422 and "by" in answer.json["errors"]
    assert client.get(f"{API}/stats/hotspots").status_code == 401


def test_stats_count_by_area(client: FlaskClient, auth: Auth, crafted: Any) -> None:
    answer = client.get(f"{API}/stats", query_string=PERIOD, headers=auth("auditor")).json
    assert {row["area"]: row["counts"]["total"] for row in answer["by_area"]} == {
        "batam.batam-kota": 4,
        "batam.lubuk-baja": 1,
    }


# --- similar complaints, support, duplicates ------------------------------------------------------------


def accepted(session: Session, **fields: Any) -> str:
    desk = Desk(session)
    desk.submit(**{"category": "kebersihan", **fields})
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    return desk.tracking_id


POTHOLE = {"title": "Jalan berlubang dekat halte", "body": "Lubang besar di jalan dekat halte Sekupang."}


def test_only_open_public_complaints_nearby_are_offered(client: FlaskClient, session: Session, areas: None) -> None:
    near = accepted(session, **POTHOLE, latitude=1.11, longitude=103.95)
    accepted(session, **POTHOLE, latitude=1.11, longitude=103.95, confidential=True)
    accepted(session, **POTHOLE, latitude=1.12, longitude=103.95)  # 1.1 km away
    Desk(session).submit(category="kebersihan", **POTHOLE)  # not verified: not public
    accepted(session, title="Parkir liar", body="Parkir liar di depan pasar.", latitude=1.11, longitude=103.95)
    query = {"title": "jalan berlubang", "category": "kebersihan", "latitude": 1.1103, "longitude": 103.95}
    offered = client.get(f"{API}/complaints/similar", query_string=query).json
    assert offered == [
        {"tracking_id": near, "title": POTHOLE["title"], "status": "dispositioned", "distance_m": 33.4, "supporters": 0}
    ]
    assert client.get(f"{API}/complaints/similar", query_string={"title": "di yang"}).json == []
    bad = client.get(f"{API}/complaints/similar", query_string={"latitude": 1.1})
    assert bad.status_code == 422 and "longitude" in bad.json["errors"]


def fresh() -> Session:
    """A new session (the test's own would hold a transaction open across the next test's truncation)."""
    db.session.remove()
    return db.session()


def follower_rows(template: str) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.payload["template"].as_string() == template)
    return list(fresh().scalars(query.order_by(OutboxMessage.id)))


def test_a_supporter_is_counted_and_told_of_follow_ups(client: FlaskClient, session: Session, areas: None) -> None:
    tracking_id = accepted(session, **POTHOLE)
    support = client.post(f"{API}/complaints/{tracking_id}/support", json={"name": "Sari", "email": "sari@example.id"})
    assert support.status_code == 201, support.json
    assert support.json == {"tracking_id": tracking_id, "supporters": 1}
    again = client.post(f"{API}/complaints/{tracking_id}/support", json={"email": "sari@example.id"})
    assert again.status_code == 409
    assert client.post(f"{API}/complaints/{tracking_id}/support", json={"name": "X"}).status_code == 422
    assert client.get(f"{API}/complaints/{tracking_id}").json["supporters"] == 1
    assert follower_rows("supported_follow_up") == []
    desk = Desk(session)
    desk.tracking_id = tracking_id
    desk.do(DLH, "respond", decision="respond", message="Sudah ditambal.")
    [row] = follower_rows("supported_follow_up")
    assert row.recipient.startswith("follower:") and row.channel == "email"
    assert "sari" not in str(row.payload)  # a reference, never the address
    events = [e.type for e in desk.events()]
    assert "supported" in events


def test_confidential_and_unverified_complaints_cannot_be_supported(
    client: FlaskClient, session: Session, areas: None
) -> None:
    secret = accepted(session, **POTHOLE, confidential=True)
    fresh = Desk(session)
    fresh.submit(**POTHOLE)
    for tracking_id in (secret, fresh.tracking_id):
        answer = client.post(f"{API}/complaints/{tracking_id}/support", json={"email": "a@example.id"})
        assert answer.status_code == 404


def test_a_verifier_closes_a_duplicate_and_its_reporter_follows_the_primary(
    client: FlaskClient, auth: Auth, session: Session, areas: None
) -> None:
    primary = accepted(session, **POTHOLE)
    copy = file(client, **POTHOLE, reporter={"name": "Budi", "phone": "+62 812 7000 1234"}).json["tracking_id"]
    answer = client.post(f"{API}/complaints/{copy}/duplicate", json={"of": primary}, headers=auth("verifier"))
    assert answer.status_code == 200, answer.json
    assert (answer.json["status"], answer.json["close_reason"]) == ("closed", "duplicate")
    copy_history = client.get(f"{API}/complaints/{copy}/history", headers=auth("auditor")).json
    assert copy_history[-1]["data"]["input"] == {"decision": "reject", "reason": "duplicate", "duplicate_of": primary}
    primary_history = client.get(f"{API}/complaints/{primary}/history", headers=auth("auditor")).json
    assert primary_history[-1]["type"] == "duplicate_merged" and primary_history[-1]["data"]["duplicate"] == copy
    assert client.get(f"{API}/complaints/{primary}").json["supporters"] == 1
    again = client.post(f"{API}/complaints/{copy}/duplicate", json={"of": primary}, headers=auth("verifier"))
    assert again.status_code == 409
    desk = Desk(session)
    desk.tracking_id = primary
    desk.do(DLH, "respond", decision="respond", message="Sudah ditambal.")
    [row] = follower_rows("supported_follow_up")
    assert row.channel == "sms"  # the duplicate's reporter gave a phone


def test_only_a_verifier_in_scope_marks_duplicates_and_of_must_be_another_case(
    client: FlaskClient, auth: Auth, session: Session, areas: None
) -> None:
    primary = accepted(session, **POTHOLE)
    copy = file(client, **POTHOLE).json["tracking_id"]
    by_officer = client.post(f"{API}/complaints/{copy}/duplicate", json={"of": primary}, headers=auth("dlh"))
    assert by_officer.status_code == 403
    for of, status in ((copy, 422), ("ADU-0000-0000", 422), ("nonsense", 422)):
        answer = client.post(f"{API}/complaints/{copy}/duplicate", json={"of": of}, headers=auth("verifier"))
        assert answer.status_code == status and "of" in answer.json["errors"], answer.json
    assert get_case(fresh(), copy).status == "submitted"


def test_staff_search_their_scope_by_words_in_any_order_and_by_area(
    client: FlaskClient, auth: Auth, session: Session, areas: None
) -> None:
    pothole = accepted(session, **POTHOLE, latitude=1.11, longitude=103.95)  # Sekupang, disposed to DLH
    accepted(session, title="Parkir liar", body="Parkir liar di depan pasar.", latitude=1.14, longitude=104.0)

    def found(user: str, **query: str) -> list[str]:
        answer = client.get(f"{API}/complaints", query_string=query, headers=auth(user))
        assert answer.status_code == 200, answer.json
        return [c["tracking_id"] for c in answer.json["items"]]

    assert found("verifier", q="halte jalan") == [pothole]  # not a substring: both words, any order
    assert found("dlh", q="HALTE lubang") == [pothole]
    assert found("dishub", q="halte jalan") == []  # another agency's case is not in scope
    assert found("verifier", q="halte pasar") == []  # every word must be there
    assert found("verifier", area="batam.sekupang") == [pothole]

"""In the browser, with no map tiles reachable: a point picked on the map or typed, its district, and the
"already reported?" suggestion while typing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.extensions import db
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.places import batam
from tests.web.conftest import Server


def pothole(server: Server) -> str:
    """A verified (public) complaint at Sekupang, the one the citizen's report repeats."""
    with server.app.app_context():
        session = db.session()
        batam.seed(session)
        session.commit()
        submission = lifecycle.Submission(title="Jalan berlubang dekat halte", body="Lubang besar dekat halte.",
                                          category="kebersihan", latitude=1.11, longitude=103.95)  # fmt: skip
        case = lifecycle.start_case(session, submission).case
        task = next(t for t in lifecycle.tasks.open_tasks(session, case.id) if t.name == "verify")
        verifier = Actor("verifier", "verifier", "batam.diskominfo")
        lifecycle.complete_task(session, verifier, task.id, {"decision": "accept", "agency": "batam.dlh"})
        tracking_id = case.tracking_id
        db.session.remove()
    return tracking_id


def test_a_point_without_tiles_gets_its_district_and_similar_reports_are_offered(
    server: Server, new_page: Callable[..., Any], shot: Callable[[Any, str], Path]
) -> None:
    existing = pothole(server)
    page = new_page()
    page.route("**/tile.openstreetmap.org/**", lambda route: route.abort())  # tiles absent
    page.goto(server.url("/lapor"))
    page.wait_for_selector("#map.leaflet-container")  # Leaflet runs without a single tile
    page.click("#map", position={"x": 200, "y": 100})
    assert page.input_value("#latitude") and page.input_value("#longitude")  # a click on the map sets the point
    page.fill("#title", "Jalan berlubang di dekat halte")
    page.fill("#body", "Ada lubang besar di jalan dekat halte bus.")
    page.select_option("#category", "kebersihan")
    page.fill("#latitude", "1.1103")
    page.fill("#longitude", "103.95")
    page.dispatch_event("#longitude", "change")
    page.wait_for_selector(f"#similar-list a[href*='{existing}']")
    assert "33 m" in page.inner_text("#similar-list") and "Dukung" in page.inner_text("#similar-list")
    shot(page, "complaint-form-map")
    page.click("#complaint-form button[type=submit]")
    page.wait_for_selector("#new-token")
    assert page.inner_text("#case-area") == "batam.sekupang"
    assert page.inner_text("#case-point") == "1.1103, 103.95"

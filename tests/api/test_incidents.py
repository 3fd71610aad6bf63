"""GET /incidents, the /insiden page and the /metrics gauge: a stuck case is visible, not a 500."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.api.conftest import API, Auth
from tests.engine.processes.incidents.test_incidents import BROKEN_CONDITION, broken_files, insert_unvalidated
from tests.web.test_pages import sign_in


def stuck_case(client: FlaskClient, auth: Auth, session: Session) -> tuple[str, dict[str, object]]:
    """A complaint on a version whose verification gateway has no flow for 'reject' and no default."""
    insert_unvalidated(session, broken_files(*BROKEN_CONDITION))
    answer = client.post(f"{API}/complaints", json={"title": "Sampah menumpuk", "body": "Belum diangkut."})
    tracking_id = answer.json["tracking_id"]  # type: ignore[index]
    (task,) = client.get(f"{API}/tasks", headers=auth("verifier")).json  # type: ignore[misc]
    completed = client.post(f"{API}/tasks/{task['id']}/complete", headers=auth("verifier"),
                            json={"data": {"decision": "reject", "reason": "Bukan pelayanan publik"}})  # fmt: skip
    assert completed.status_code == 409, completed.json
    return tracking_id, completed.json  # type: ignore[return-value]


def test_a_stuck_case_answers_409_naming_the_element_and_is_listed_as_an_open_incident(
    client: FlaskClient, auth: Auth, session: Session
) -> None:
    tracking_id, answer = stuck_case(client, auth, session)
    assert answer["errors"] == {"element": "verification_decision", "reason": answer["errors"]["reason"]}  # type: ignore[index]
    assert "No conditions satisfied" in answer["message"]  # type: ignore[operator]

    for user in ("owner", "auditor"):
        listed = client.get(f"{API}/incidents?open=true", headers=auth(user))
        assert listed.status_code == 200
        (incident,) = listed.json  # type: ignore[misc]
        assert set(incident) == {"id", "tracking_id", "element", "message", "opened_at", "resolved_at"}
        assert (incident["tracking_id"], incident["element"], incident["resolved_at"]) == (
            tracking_id, "verification_decision", None,
        )  # fmt: skip
    assert client.get(f"{API}/incidents", headers=auth("verifier")).status_code == 403
    assert client.get(f"{API}/incidents?open=maybe", headers=auth("owner")).status_code == 422
    client.application.config["METRICS_TOKEN"] = "scrape-token"  # /metrics answers only Prometheus's token
    metrics = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"}).text
    assert "aduan_incidents_open 1.0" in metrics


def test_process_owners_see_incidents_on_a_page_in_indonesian_first(
    client: FlaskClient, auth: Auth, session: Session
) -> None:
    tracking_id, _answer = stuck_case(client, auth, session)
    sign_in(client, "owner")
    page = client.get("/insiden").text
    assert "Insiden" in page and tracking_id in page and "verification_decision" in page
    assert "Incidents" in client.get("/insiden?lang=en").text

"""HTTP intake and task completion reach the database a bounded number of times: a count, never a time.

Budget: 8 PostgreSQL round trips per request in all (the command's BEGIN … COMMIT included), with the
configuration, the signed-in user and the answer taken from what the request already holds. SQLite runs
the children of a command as separate in-process statements (no data-modifying CTEs): 10 there.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from api.extensions import db
from tests.api.conftest import API, Auth
from tests.engine.cases.test_statement_budget import counted

BUDGET = {"postgresql": 8, "sqlite": 10}
COMPLAINT = {"title": "Lampu jalan mati", "body": "Lampu di Jl. Sudirman mati sejak Senin.", "category": "kebersihan"}


def within_budget(statements: list[str]) -> None:
    budget = BUDGET[db.engine.dialect.name]
    listing = "\n  ".join(statements)
    assert len(statements) <= budget, f"{len(statements)} round trips:\n  {listing}"


def test_intake_and_completion_stay_within_budget(client: FlaskClient, auth: Auth) -> None:
    headers = auth("verifier")
    client.post(f"{API}/complaints", json=COMPLAINT)  # warm: caches and pools as in service
    db.session.remove()  # each request has a session of its own in service; the test's app context is shared
    with counted() as intake:
        answer = client.post(f"{API}/complaints", json=COMPLAINT)
        db.session.remove()  # the request's end: its session closes (a ROLLBACK when a read left one open)
    assert answer.status_code == 201, answer.json
    within_budget(intake.statements)
    print("INTAKE", len(intake.statements))
    tracking_id = answer.json["tracking_id"]  # type: ignore[index]

    inbox = client.get(f"{API}/tasks", headers=headers).json
    task_id = next(t["id"] for t in inbox if t["complaint"]["tracking_id"] == tracking_id)  # type: ignore[union-attr]
    db.session.remove()
    with counted() as completion:
        done = client.post(
            f"{API}/tasks/{task_id}/complete",
            json={"data": {"decision": "accept", "agency": "batam.dlh"}},
            headers=headers,
        )
        db.session.remove()
    assert done.status_code == 200, done.json
    assert [t["name"] for t in done.json["next_tasks"]] == ["respond"]  # type: ignore[index]
    print("COMPLETION", completion.statements)
    within_budget(completion.statements)

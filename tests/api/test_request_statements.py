"""What a task completion asks the database besides its command: counts, never times.

A bearer token's user is one SELECT of what the check needs (never the password hash); routing a case to
an agency that has no webhook endpoint does not look the agency up (only an endpoint of the agency itself
could receive a hand-over to an external agency).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from api.extensions import db
from tests.api.conftest import API, Auth

COMPLAINT = {"title": "Lampu jalan mati", "body": "Lampu di Jl. Sudirman mati sejak Senin.", "category": "kebersihan"}
ACCEPT = {"data": {"decision": "accept", "agency": "batam.dlh"}}


@contextmanager
def statements() -> Iterator[list[str]]:
    """The whole text of every statement the app's engine sends while the block runs."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def _verify_task(client: FlaskClient, auth: Auth) -> str:
    tracking_id = client.post(f"{API}/complaints", json=COMPLAINT).json["tracking_id"]  # type: ignore[index]
    inbox = client.get(f"{API}/tasks", headers=auth("verifier")).json
    db.session.remove()
    return next(t["id"] for t in inbox if t["complaint"]["tracking_id"] == tracking_id)  # type: ignore[union-attr]


def _accepted(client: FlaskClient, auth: Auth) -> tuple[Any, list[str]]:
    """The answer to accepting a new complaint's verify task, and the SQL statements that request sent."""
    task_id = _verify_task(client, auth)
    headers = auth("verifier")
    with statements() as sent:
        answer = client.post(f"{API}/tasks/{task_id}/complete", json=ACCEPT, headers=headers)
        db.session.remove()
    assert answer.status_code == 200, answer.json
    return answer, sent


def test_a_completion_reads_its_user_once_without_the_password_hash(client: FlaskClient, auth: Auth) -> None:
    _answer, sent = _accepted(client, auth)
    users = [s for s in sent if "user_account" in s]
    assert len(users) == 1, sent
    assert "password_hash" not in users[0]


def test_routing_to_an_agency_without_webhook_endpoints_does_not_look_the_agency_up(
    client: FlaskClient, auth: Auth
) -> None:
    answer, sent = _accepted(client, auth)
    assert [t["name"] for t in answer.json["next_tasks"]] == ["respond"]  # type: ignore[index]
    assert not [s for s in sent if "FROM agency " in s], sent

"""Every branch of the default diagram driven through HTTP only (timers by the operator's CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Auth

API = "/api/v1"
MONDAY_9AM = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def wib(y: int, m: int, d: int, hh: int = 23, mm: int = 59, ss: int = 59) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC) - timedelta(hours=7)


class Desk:
    """A complaint worked through the HTTP API by the demo users."""

    def __init__(self, app: Flask, client: FlaskClient, auth: Auth) -> None:
        self.app, self.client, self.auth = app, client, auth
        self.tracking_id, self.token = "", ""

    def submit(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "Parkir liar di Nagoya", "body": "Setiap malam parkir liar menutup jalan.", **fields}
        answer = self.client.post(f"{API}/complaints", json=body)
        assert answer.status_code == 201, answer.json
        self.tracking_id, self.token = answer.json["tracking_id"], answer.json["reporter_token"]
        assert answer.headers["Location"].endswith(self.tracking_id)
        return answer.json  # type: ignore[no-any-return]

    def status(self) -> str:
        answer = self.client.get(f"{API}/complaints/{self.tracking_id}", headers={"X-Reporter-Token": self.token})
        assert answer.status_code == 200, answer.json
        return answer.json["status"]  # type: ignore[no-any-return]

    def inbox(self, user: str) -> list[dict[str, Any]]:
        answer = self.client.get(f"{API}/tasks", headers=self.auth(user))
        assert answer.status_code == 200, answer.json
        return [t for t in answer.json if t["complaint"]["tracking_id"] == self.tracking_id]  # type: ignore[union-attr]

    def task(self, user: str, name: str) -> dict[str, Any]:
        tasks = {t["name"]: t for t in self.inbox(user)}
        assert name in tasks, f"{user} has {sorted(tasks)}"
        return tasks[name]

    def complete(self, user: str, name: str, **data: Any) -> dict[str, Any]:
        task_id = self.task(user, name)["id"]
        answer = self.client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=self.auth(user))
        assert answer.status_code == 200, answer.json
        return answer.json  # type: ignore[no-any-return]

    def reply(self, **data: Any) -> Any:
        return self.client.post(
            f"{API}/complaints/{self.tracking_id}/replies", json=data, headers={"X-Reporter-Token": self.token}
        )

    def run_timers(self) -> str:
        self.auth.forget()  # the clock moved: sign in again
        result = self.app.test_cli_runner().invoke(args=["timers", "run-due"])
        assert result.exit_code == 0, result.output
        return result.output


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(MONDAY_9AM, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(app: Flask, client: FlaskClient, auth: Auth, clock: object) -> Desk:
    return Desk(app, client, auth)


def test_happy_path_over_http(desk: Desk) -> None:
    created = desk.submit(category="parkir", reporter={"name": "Budi", "phone": "+62 812 7000 1234"})
    assert created["status"] == "submitted"
    verify = desk.task("verifier", "verify")
    assert verify["due_at"].startswith("2026-12-03T16:59:59")
    answer = desk.complete("verifier", "verify", decision="accept", agency="batam.dishub")
    assert answer["complaint"]["status"] == "dispositioned"
    assert [t["name"] for t in answer["next_tasks"]] == ["respond"]
    desk.complete("dishub", "respond", decision="respond", message="Petugas sudah ditempatkan.")
    assert desk.status() == "awaiting_reporter"
    view = desk.client.get(f"{API}/complaints/{desk.tracking_id}").json
    assert [f["message"] for f in view["follow_ups"]] == ["Petugas sudah ditempatkan."]
    answer = desk.reply(message="Terima kasih", satisfied=True, rating=5)
    assert answer.status_code == 200 and answer.json["status"] == "closed"


def test_reject_over_http(desk: Desk) -> None:
    desk.submit()
    desk.complete("verifier", "verify", decision="reject", reason="Tidak jelas")
    assert desk.status() == "archived"


def test_need_info_then_reply_over_http(desk: Desk) -> None:
    desk.submit()
    desk.complete("verifier", "verify", decision="need_info", reason="Di mana?")
    assert desk.status() == "needs_info"
    assert desk.reply(message="Jl. Raden Patah").status_code == 200
    assert desk.task("verifier", "verify")


def test_need_info_then_silence_over_http(desk: Desk, clock: time_machine.Coordinates) -> None:
    desk.submit()
    desk.complete("verifier", "verify", decision="need_info", reason="Di mana?")
    clock.move_to(wib(2026, 12, 15, 0, 0, 1))
    assert "1 case" in desk.run_timers()
    assert desk.status() == "archived"


def test_not_authority_rerouting_over_http(desk: Desk) -> None:
    desk.submit(category="parkir")
    desk.complete("verifier", "verify", decision="accept", agency="batam.dishub")
    desk.complete("dishub", "respond", decision="not_authority", message="Bukan wewenang kami")
    assert desk.status() == "submitted"
    assert desk.inbox("dishub") == []
    desk.complete("verifier", "verify", decision="accept", agency="batam.dlh")
    assert desk.task("dlh", "respond")


def test_delegate_over_http(desk: Desk) -> None:
    desk.submit(category="kesehatan")
    desk.complete("verifier", "verify", decision="accept", agency="batam.dinkes")
    desk.complete(
        "dinkes", "respond", decision="delegate", message="Ke puskesmas", unit="batam.dinkes.puskesmas-sekupang"
    )
    task = desk.task("dinkes", "respond")  # the Dinas still sees its unit's work
    assert task["agency"] == "batam.dinkes.puskesmas-sekupang"
    desk.complete("dinkes", "respond", decision="respond", message="Sudah ditangani Puskesmas")
    assert desk.status() == "awaiting_reporter"


def test_not_satisfied_then_satisfied_over_http(desk: Desk) -> None:
    desk.submit()
    desk.complete("verifier", "verify", decision="accept", agency="batam.dlh")
    desk.complete("dlh", "respond", decision="respond", message="Sudah")
    assert desk.reply(message="Belum beres", satisfied=False).json["status"] == "in_progress"
    desk.complete("dlh", "respond", decision="respond", message="Sekarang sudah")
    assert desk.reply(message="Oke", satisfied=True, rating=4).json["status"] == "closed"


def test_interim_follow_up_over_http(desk: Desk) -> None:
    desk.submit()
    desk.complete("verifier", "verify", decision="accept", agency="batam.dlh")
    desk.complete("dlh", "respond", decision="respond", message="Dijadwalkan", final=False)
    assert desk.status() == "in_progress"
    assert desk.reply(message="kapan?").status_code == 409


def test_silence_after_the_answer_closes_over_http(desk: Desk, clock: time_machine.Coordinates) -> None:
    desk.submit()
    desk.complete("verifier", "verify", decision="accept", agency="batam.dlh")
    desk.complete("dlh", "respond", decision="respond", message="Sudah")
    clock.move_to(wib(2026, 12, 15, 1, 0, 0))
    desk.run_timers()
    assert desk.status() == "closed"


def test_verification_breach_over_http(desk: Desk, clock: time_machine.Coordinates) -> None:
    desk.submit()
    clock.move_to(wib(2026, 12, 4, 0, 0, 0))
    desk.run_timers()
    task = desk.task("verifier.head", "escalate_verification")
    assert task["agency"] == "batam.diskominfo"
    desk.complete("verifier.head", "escalate_verification", action="acknowledge")
    view = desk.client.get(f"{API}/complaints/{desk.tracking_id}", headers=desk.auth("verifier")).json
    assert view["escalated"] is True


def test_follow_up_breaches_over_http(desk: Desk, clock: time_machine.Coordinates) -> None:
    desk.submit()
    desk.complete("verifier", "verify", decision="accept", agency="batam.dlh")
    clock.move_to(wib(2026, 12, 8, 0, 0, 0))
    desk.run_timers()
    desk.complete("dlh.head", "escalate_agency", action="reassign", assignee="dlh", note="Hari ini")
    assert desk.task("dlh", "respond")["assignee"] == "dlh"
    clock.move_to(wib(2026, 12, 10, 0, 0, 0))
    desk.run_timers()
    assert desk.task("verifier.head", "escalate_desk")
    desk.complete("dlh", "respond", decision="respond", message="Maaf terlambat")
    assert desk.inbox("verifier.head") == []


def test_the_verify_task_shows_the_agency_the_routing_decision_proposes(desk: Desk) -> None:
    desk.submit(category="parkir")
    task = desk.task("verifier", "verify")
    detail = desk.client.get(f"{API}/tasks/{task['id']}", headers=desk.auth("verifier")).json
    assert detail["proposal"] == {"agency": "batam.dishub"}  # the routing table's row for parkir
    desk.submit(category="lainnya")  # no row: the verifier decides
    other = desk.task("verifier", "verify")
    assert desk.client.get(f"{API}/tasks/{other['id']}", headers=desk.auth("verifier")).json["proposal"] == {}

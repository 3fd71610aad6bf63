"""The SMS / WhatsApp gateway's callback: a whole complaint conducted by signed SMS, and what is refused."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api.extensions import db
from engine.audit.chain import Event
from engine.cases.case import Case
from engine.channels import ChannelMessage
from engine.notify.delivery import sign
from engine.notify.outbox import OutboxMessage
from tests.api.conftest import Auth

API = "/api/v1"
SECRET = "gateway-shared-secret-0123456789"
NUMBER = "+62 812 7000 1234"


@pytest.fixture
def gateway(app: Flask, client: FlaskClient) -> Gateway:
    app.config["SMS_GATEWAY_SECRET"] = SECRET
    return Gateway(client)


class Gateway:
    """The SMS gateway: signs each callback's exact bytes and posts it."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.sent: dict[str, bytes] = {}

    def body(self, msg_id: str, text: str, sender: str = NUMBER, **extra: Any) -> bytes:
        at = extra.pop("received_at", datetime.now(UTC).isoformat())
        return json.dumps({"id": msg_id, "from": sender, "text": text, "received_at": at, **extra}).encode()

    def post(self, body: bytes, signature: str | None = None) -> TestResponse:
        headers = {"Content-Type": "application/json", "X-Aduan-Signature": signature or sign(SECRET, body)}
        return self.client.post(f"{API}/channels/sms", data=body, headers=headers)

    def sms(self, msg_id: str, text: str, sender: str = NUMBER, **extra: Any) -> dict[str, Any]:
        body = self.body(msg_id, text, sender, **extra)
        self.sent[msg_id] = body
        answer = self.post(body)
        assert answer.status_code == 200, answer.json
        return answer.json  # type: ignore[return-value]


def task_id(client: FlaskClient, auth: Auth, user: str, tracking_id: str) -> str:
    tasks = client.get(f"{API}/tasks", headers=auth(user)).json
    [task] = [t for t in tasks if t["complaint"]["tracking_id"] == tracking_id]  # type: ignore[union-attr]
    return str(task["id"])


def complete(client: FlaskClient, auth: Auth, user: str, tracking_id: str, **data: Any) -> None:
    path = f"{API}/tasks/{task_id(client, auth, user, tracking_id)}/complete"
    answer = client.post(path, json={"data": data}, headers=auth(user))
    assert answer.status_code == 200, answer.json


def case(tracking_id: str) -> Case:
    db.session.expire_all()
    return db.session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).one()


def counts() -> tuple[int, int, int]:
    """(cases, events, logged messages): what a refused callback must leave unchanged."""
    return tuple(  # type: ignore[return-value]
        db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (Case, Event, ChannelMessage)
    )


def test_three_signed_sms_open_a_case_answer_need_info_and_close_it_satisfied(
    client: FlaskClient, auth: Auth, gateway: Gateway
) -> None:
    first = gateway.sms("gw-1", "Lampu jalan mati di Jl. Sudirman\nSudah seminggu gelap, rawan kecelakaan.")
    [tracking_id] = [word.rstrip(".") for word in first["reply"].split() if word.startswith("ADU-")]
    assert "Kode rahasia" in first["reply"]
    opened = case(tracking_id)
    assert (opened.channel, opened.title, opened.status) == ("sms", "Lampu jalan mati di Jl. Sudirman", "submitted")
    assert opened.reporter == {"name": NUMBER, "phone": NUMBER}
    assert opened.contact_phone == "6281270001234"

    complete(client, auth, "verifier", tracking_id, decision="need_info", reason="Di depan nomor berapa?")
    assert case(tracking_id).status == "needs_info"
    # the same number as the gateway writes it, without the country formatting
    second = gateway.sms("gw-2", "Di depan masjid Al-Ikhlas, nomor 12.", sender="081270001234")
    assert tracking_id in second["reply"] and "diterima" in second["reply"]
    assert case(tracking_id).status == "submitted"

    complete(client, auth, "verifier", tracking_id, decision="accept", agency="batam.dlh")
    complete(client, auth, "dlh", tracking_id, decision="respond", message="Lampu sudah diganti.")
    assert case(tracking_id).status == "awaiting_reporter"
    third = gateway.sms("gw-3", "PUAS 5, terima kasih")
    closed = case(tracking_id)
    assert (closed.status, closed.close_reason, closed.rating) == ("closed", "satisfied", 5)
    assert "selesai" in third["reply"]
    replies = db.session.scalars(sa.select(Event).where(Event.case_id == closed.id, Event.type == "reporter_replied"))
    assert [(e.actor, e.actor_role, e.data["reply"]["message"]) for e in replies] == [
        ("sms", "reporter", "Di depan masjid Al-Ikhlas, nomor 12."),
        ("sms", "reporter", "PUAS 5, terima kasih"),
    ]


def test_a_replayed_callback_changes_nothing(gateway: Gateway) -> None:
    first = gateway.sms("gw-1", "Sampah menumpuk di pasar Jodoh sejak Senin.")
    before = counts()
    again = gateway.post(gateway.sent["gw-1"])  # a gateway retry: the same id, the same answer
    assert (again.status_code, again.json) == (200, first)
    assert counts() == before
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10)):
        late = gateway.post(gateway.sent["gw-1"])  # captured and played again later
        assert late.status_code == 409
        stale = gateway.post(gateway.body("gw-new", "Jalan berlubang di Batu Aji, sudah lama sekali."))
        assert stale.status_code == 200  # a fresh id with a fresh time is fine
        old = gateway.body("gw-old", "Jalan berlubang di Batu Aji, lagi.", received_at="2026-01-01T00:00:00+00:00")
        assert gateway.post(old).status_code == 409
    assert counts()[0] == before[0]  # the fresh one answered "you have an open case", it opened nothing


def test_two_concurrent_deliveries_of_one_message_open_one_case(app: Flask, gateway: Gateway) -> None:
    body = gateway.body("gw-1", "Sampah menumpuk di pasar Jodoh sejak Senin.")
    answers: list[TestResponse] = []
    start = threading.Barrier(2)

    def deliver() -> None:
        with app.test_client() as client:
            start.wait()
            headers = {"Content-Type": "application/json", "X-Aduan-Signature": sign(SECRET, body)}
            answers.append(client.post(f"{API}/channels/sms", data=body, headers=headers))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [200, 200]
    db.session.rollback()
    assert counts()[::2] == (1, 1)  # one case, one logged message


def test_a_bad_or_missing_signature_is_401_and_changes_nothing(app: Flask, gateway: Gateway) -> None:
    body = gateway.body("gw-1", "Sampah menumpuk di pasar Jodoh sejak Senin.")
    before = counts()
    assert gateway.post(body, signature=sign("not-the-secret", body)).status_code == 401
    tampered = body.replace(b"Jodoh", b"Jodo!")
    assert gateway.post(tampered, signature=sign(SECRET, body)).status_code == 401
    assert gateway.client.post(f"{API}/channels/sms", data=body, content_type="application/json").status_code == 401
    app.config["SMS_GATEWAY_SECRET"] = None  # no secret configured: nothing can be authenticated
    assert gateway.post(body).status_code == 401
    assert counts() == before


def test_bad_fields_of_a_signed_callback_are_named(gateway: Gateway) -> None:
    answer = gateway.post(gateway.body("gw-1", "", sender="bukan nomor"))
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"from", "text"}  # type: ignore[index]


def test_anything_else_is_answered_with_how_to_reach_the_case(gateway: Gateway) -> None:
    assert "paling sedikit" in gateway.sms("gw-0", "halo")["reply"]  # too short to be a complaint
    opened = gateway.sms("gw-1", "Parkir liar menutup jalan di Nagoya setiap malam.")["reply"]
    tracking_id = next(w.rstrip(".") for w in opened.split() if w.startswith("ADU-"))
    before = counts()
    nothing_waits = gateway.sms("gw-2", "Kapan ditindaklanjuti?")["reply"]
    assert tracking_id in nothing_waits and "LAPOR" in nothing_waits
    named = gateway.sms("gw-3", f"Bagaimana {tracking_id.lower()}?")["reply"]
    assert tracking_id in named and "tidak ada yang menunggu" in named
    stranger = gateway.sms("gw-4", f"Tambahan untuk {tracking_id}: ada foto", sender="+6281399999999")["reply"]
    assert tracking_id not in stranger and "tidak ditemukan" in stranger  # another's case is not revealed
    assert counts()[:2] == before[:2]
    second = gateway.sms("gw-5", "LAPOR Lampu taman mati di Engku Putri sejak kemarin.")["reply"]
    assert "tercatat" in second and tracking_id not in second
    assert counts()[0] == before[0] + 1


def test_whatsapp_is_a_second_profile_of_the_gateway(gateway: Gateway) -> None:
    reply = gateway.sms("wa-1", "Puskesmas Sekupang tutup saat jam layanan.", channel="whatsapp")["reply"]
    tracking_id = next(w.rstrip(".") for w in reply.split() if w.startswith("ADU-"))
    opened = case(tracking_id)
    assert opened.channel == "whatsapp"
    # the same id on the other profile is another message
    assert tracking_id in gateway.sms("wa-1", "Puskesmas Sekupang tutup lagi hari ini.")["reply"]
    # answered by the channel itself: no separate "received" SMS from the outbox
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.case_id == opened.id)) == 0

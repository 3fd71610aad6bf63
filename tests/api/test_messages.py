"""The case is a conversation: every branch's text reaches exactly the audiences it is meant for.

Viewers: the reporter (X-Reporter-Token), the public (no credentials), the verifiers' desk, the agency in
charge, another agency, an auditor. A `reporter` message is for the reporter (and the public where the
case is public); a `staff` message is an internal note. Messages are never edited or deleted.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Auth
from tests.api.test_lifecycle_http import API, Desk, clock  # noqa: F401  (the fixture)
from tests.conftest import DEMO_PASSWORD
from tests.images import PNG


class Thread(Desk):
    """A Desk that reads the thread as each viewer sees it."""

    def view(self, who: str) -> Any:
        """The complaint as `who` sees it: 'reporter', 'public', or a demo username."""
        known = {"reporter": {"X-Reporter-Token": self.token}, "public": {}}
        headers = known[who] if who in known else self.auth(who)
        return self.client.get(f"{API}/complaints/{self.tracking_id}", headers=headers)

    def bodies(self, who: str) -> list[str] | None:
        """The message texts `who` reads, or None when the complaint is not visible to them (404)."""
        answer = self.view(who)
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.json
        return [m["body"] for m in answer.json["messages"]]

    def messages(self, who: str) -> list[dict[str, Any]]:
        answer = self.view(who)
        assert answer.status_code == 200, answer.json
        return answer.json["messages"]  # type: ignore[no-any-return]

    def post(self, who: str, **body: Any) -> Any:
        headers = {"X-Reporter-Token": self.token} if who == "reporter" else self.auth(who)
        return self.client.post(f"{API}/complaints/{self.tracking_id}/messages", json=body, headers=headers)

    def accept(self, agency: str = "batam.dlh") -> None:
        self.complete("verifier", "verify", decision="accept", agency=agency)


@pytest.fixture
def thread(app: Flask, client: FlaskClient, auth: Auth, clock: object) -> Thread:  # noqa: F811
    return Thread(app, client, auth)


def test_a_rejection_reason_reaches_the_reporter_and_the_desk_only(thread: Thread) -> None:
    thread.submit()
    thread.complete("verifier", "verify", decision="reject", reason="Bukan tentang pelayanan publik.")
    assert thread.bodies("reporter") == ["Bukan tentang pelayanan publik."]
    assert thread.bodies("verifier") == ["Bukan tentang pelayanan publik."]
    assert thread.bodies("public") is None  # archived: never public
    assert thread.bodies("dlh") is None
    [seen] = thread.messages("reporter")
    assert (seen["audience"], seen["author_role"], "author" in seen) == ("reporter", "verifier", False)
    assert thread.messages("verifier")[0]["author"] == "verifier"


def test_a_question_is_answered_and_the_answer_reaches_the_verifier(thread: Thread) -> None:
    thread.submit()
    thread.complete("verifier", "verify", decision="need_info", reason="Di mana tepatnya? Mohon foto.")
    assert thread.bodies("reporter") == ["Di mana tepatnya? Mohon foto."]
    assert thread.reply(message="Di depan Pasar Jodoh, sisi utara.").status_code == 200
    expected = ["Di mana tepatnya? Mohon foto.", "Di depan Pasar Jodoh, sisi utara."]
    assert thread.bodies("verifier") == expected
    assert thread.bodies("reporter") == expected
    assert thread.task("verifier", "verify")  # back at the desk
    assert thread.messages("verifier")[1]["author_role"] == "reporter"


def test_not_authority_is_an_internal_note_for_the_desk(thread: Thread) -> None:
    thread.submit()
    thread.accept("batam.dlh")
    thread.complete("dlh", "respond", decision="not_authority", message="Ini urusan Dinas Perhubungan.")
    assert thread.bodies("verifier") == ["Ini urusan Dinas Perhubungan."]
    assert thread.messages("verifier")[0]["audience"] == "staff"
    assert thread.bodies("reporter") == []
    assert thread.bodies("public") is None
    thread.accept("batam.dishub")
    assert thread.bodies("dishub") == ["Ini urusan Dinas Perhubungan."]  # the next agency reads why
    assert thread.bodies("public") == []


def test_a_delegation_note_stays_with_staff(thread: Thread) -> None:
    thread.submit()
    thread.accept("batam.dinkes")
    note = "Mohon Puskesmas Sekupang menindaklanjuti."
    thread.complete("dinkes", "respond", decision="delegate", unit="batam.dinkes.puskesmas-sekupang", message=note)
    assert thread.bodies("dinkes") == [note]
    assert thread.bodies("verifier") == [note]
    assert thread.bodies("reporter") == []
    assert thread.bodies("public") == []  # the case is public, the note is not
    assert thread.bodies("dlh") == []  # another agency reads what the public reads


def test_interim_and_final_follow_ups_reach_the_reporter_and_the_public(thread: Thread) -> None:
    thread.submit()
    thread.accept()
    thread.complete("dlh", "respond", decision="respond", message="Dijadwalkan Rabu.", final=False)
    thread.complete("dlh", "respond", decision="respond", message="Sampah sudah diangkut.")
    expected = ["Dijadwalkan Rabu.", "Sampah sudah diangkut."]
    for who in ("reporter", "public", "dlh", "verifier", "auditor"):
        assert thread.bodies(who) == expected, who
    public = thread.messages("public")
    assert all("author" not in m and m["author_role"] == "officer" for m in public)


def test_not_satisfied_reopens_and_the_officer_reads_why(thread: Thread) -> None:
    thread.submit()
    thread.accept()
    thread.complete("dlh", "respond", decision="respond", message="Sampah sudah diangkut.")
    assert thread.reply(message="Masih ada tumpukan di gang belakang.", satisfied=False).status_code == 200
    assert thread.status() == "in_progress"
    assert thread.task("dlh", "respond")
    assert thread.bodies("dlh") == ["Sampah sudah diangkut.", "Masih ada tumpukan di gang belakang."]
    assert thread.bodies("public") == ["Sampah sudah diangkut.", "Masih ada tumpukan di gang belakang."]


def test_satisfied_with_a_rating_and_no_message(thread: Thread) -> None:
    thread.submit()
    thread.accept()
    thread.complete("dlh", "respond", decision="respond", message="Sampah sudah diangkut.")
    answer = thread.reply(satisfied=True, rating=5)
    assert answer.status_code == 200, answer.json
    assert (answer.json["status"], answer.json["rating"]) == ("closed", 5)
    assert thread.bodies("reporter") == ["Sampah sudah diangkut."]  # a rating adds no message


def test_a_reply_without_text_is_refused_unless_satisfied(thread: Thread) -> None:
    thread.submit()
    thread.complete("verifier", "verify", decision="need_info", reason="Mohon foto.")
    answer = thread.reply(satisfied=False)
    assert answer.status_code == 422
    assert "message" in answer.json["errors"]


def test_an_agency_never_learns_who_wrote_on_an_anonymous_complaint(thread: Thread, app: Flask) -> None:
    from api.extensions import db
    from engine.directory import users

    users.create_user(db.session(), "wulandari", "reporter", DEMO_PASSWORD)
    db.session.commit()
    wulan = thread.auth("wulandari")
    answer = thread.client.post(
        f"{API}/complaints", json={"title": "Parkir liar", "body": "Tiap malam.", "anonymous": True}, headers=wulan
    )
    thread.tracking_id, thread.token = answer.json["tracking_id"], answer.json["reporter_token"]
    thread.accept("batam.dishub")
    posted = thread.client.post(
        f"{API}/complaints/{thread.tracking_id}/messages", json={"body": "Foto menyusul."}, headers=wulan
    )
    assert posted.status_code == 201, posted.json
    [agency_view] = thread.messages("dishub")
    assert agency_view["author_role"] == "reporter" and "author" not in agency_view
    assert "wulandari" not in str(thread.view("dishub").json)
    assert thread.messages("verifier")[0]["author"] == "wulandari"  # the desk may know


def test_staff_post_notes_and_messages_without_moving_the_case(thread: Thread) -> None:
    thread.submit()
    thread.accept()
    before = thread.view("dlh").json
    note = thread.post("dlh", body="Tim survei berangkat besok.")
    assert note.status_code == 201, note.json
    assert note.json["audience"] == "staff" and note.headers["Location"].endswith(f"/messages/{note.json['id']}")
    told = thread.post("dlh", body="Kami akan datang besok pagi.", audience="reporter")
    assert told.json["audience"] == "reporter"
    assert thread.bodies("reporter") == ["Kami akan datang besok pagi."]
    assert thread.bodies("public") == ["Kami akan datang besok pagi."]
    assert thread.bodies("verifier") == ["Tim survei berangkat besok.", "Kami akan datang besok pagi."]
    after = thread.view("dlh").json
    assert after["status"] == before["status"] and thread.task("dlh", "respond")


def test_the_reporter_always_writes_to_the_reporter_thread(thread: Thread) -> None:
    thread.submit()
    answer = thread.post("reporter", body="Tambahan: kejadian tiap Jumat.", audience="staff")
    assert answer.status_code == 201, answer.json
    assert answer.json["audience"] == "reporter" and "author" in answer.json
    assert thread.bodies("verifier") == ["Tambahan: kejadian tiap Jumat."]


def test_who_may_not_post(thread: Thread) -> None:
    thread.submit()
    thread.accept()
    assert thread.post("dishub", body="x").status_code == 404  # another agency
    assert thread.post("auditor", body="x").status_code == 403
    assert thread.client.post(f"{API}/complaints/{thread.tracking_id}/messages", json={"body": "x"}).status_code == 404
    bad = thread.post("dlh", body="x", audience="everyone")
    assert bad.status_code == 422 and "audience" in bad.json["errors"]
    assert thread.post("dlh", body="").status_code == 422
    assert thread.post("dlh", body="x" * 5001).status_code == 422
    unknown = thread.post("dlh", body="foto", attachments=[999])
    assert unknown.status_code == 422 and "attachments" in unknown.json["errors"]


def test_a_message_is_never_edited_or_deleted(thread: Thread) -> None:
    thread.submit()
    thread.accept()
    posted = thread.post("dlh", body="Catatan internal.").json
    url = f"{API}/complaints/{thread.tracking_id}/messages/{posted['id']}"
    assert thread.client.get(url, headers=thread.auth("dlh")).json["body"] == "Catatan internal."
    for method in ("put", "patch", "delete"):
        answer = getattr(thread.client, method)(url, json={"body": "diubah"}, headers=thread.auth("dlh"))
        assert answer.status_code == 409, method
    assert thread.client.get(url, headers={"X-Reporter-Token": thread.token}).status_code == 404  # internal
    assert thread.bodies("dlh") == ["Catatan internal."]


def test_messages_are_in_the_audit_events_and_the_chain_verifies(thread: Thread, app: Flask) -> None:
    thread.submit()
    thread.complete("verifier", "verify", decision="need_info", reason="Mohon foto.")
    thread.reply(message="Terlampir.")
    thread.accept()
    thread.post("dlh", body="Catatan.")
    history = thread.client.get(f"{API}/complaints/{thread.tracking_id}/history", headers=thread.auth("auditor")).json
    carried = [(e["type"], m["audience"], m["body"]) for e in history for m in e["data"].get("messages", [])]
    assert carried == [
        ("task_completed", "reporter", "Mohon foto."),
        ("reporter_replied", "reporter", "Terlampir."),
        ("message_posted", "staff", "Catatan."),
    ]
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_an_officer_attaches_a_photo_to_the_follow_up_and_the_public_sees_it(thread: Thread) -> None:
    thread.submit()
    thread.accept()
    upload = thread.client.post(
        f"{API}/complaints/{thread.tracking_id}/attachments",
        data={"file": (io.BytesIO(PNG), "bersih.png", "image/png")},
        headers=thread.auth("dlh"),
    )
    assert upload.status_code == 201, upload.json
    photo = upload.json["id"]
    task_id = thread.task("dlh", "respond")["id"]
    body = {"data": {"decision": "respond", "message": "Sudah bersih."}, "attachments": [photo]}
    done = thread.client.post(f"{API}/tasks/{task_id}/complete", json=body, headers=thread.auth("dlh"))
    assert done.status_code == 200, done.json
    for who in ("reporter", "public"):
        [message] = thread.messages(who)
        assert [a["filename"] for a in message["attachments"]] == ["bersih.png"], who
    url = f"{API}/complaints/{thread.tracking_id}/attachments/{photo}"
    assert thread.client.get(url).status_code == 200  # published with the follow-up


def test_a_reporters_photo_stays_off_the_public_page(thread: Thread) -> None:
    thread.submit()
    upload = thread.client.post(
        f"{API}/complaints/{thread.tracking_id}/attachments",
        data={"file": (io.BytesIO(PNG), "wajah.png", "image/png")},
        headers={"X-Reporter-Token": thread.token},
    )
    photo = upload.json["id"]
    assert thread.post("reporter", body="Foto.", attachments=[photo]).status_code == 201
    thread.accept()
    assert thread.messages("public")[0]["attachments"] == []
    assert thread.messages("dlh")[0]["attachments"][0]["id"] == photo
    assert thread.client.get(f"{API}/complaints/{thread.tracking_id}/attachments/{photo}").status_code == 404


def test_the_trail_does_not_name_an_anonymous_reporter_to_the_agency(thread: Thread) -> None:
    from api.extensions import db
    from engine.directory import users

    users.create_user(db.session(), "wulandari", "reporter", DEMO_PASSWORD)
    db.session.commit()
    body = {"title": "Parkir liar", "body": "Tiap malam.", "anonymous": True}
    answer = thread.client.post(f"{API}/complaints", json=body, headers=thread.auth("wulandari"))
    thread.tracking_id = answer.json["tracking_id"]
    thread.accept("batam.dishub")
    url = f"{API}/complaints/{thread.tracking_id}/history"
    assert "wulandari" not in str(thread.client.get(url, headers=thread.auth("dishub")).json)
    assert "wulandari" in str(thread.client.get(url, headers=thread.auth("verifier")).json)

"""Bad input gets a clear 4xx naming the field, in the contract's error shape, and stores nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import ImageFile
from sqlalchemy.orm import Session

from engine.cases.attachments import Attachment
from engine.cases.case import Case
from tests.api.conftest import API, Auth

VALID = {"title": "Jalan berlubang", "body": "Lubang besar di Jl. Sudirman dekat halte."}


def count(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return session.query(model).count()


def assert_error(answer: Any, code: int, field: str | None = None) -> None:
    assert answer.status_code == code, answer.json
    assert {"code", "status", "message"} <= set(answer.json)
    assert answer.json["code"] == code
    if field:
        assert field in answer.json["errors"], answer.json


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VALID, "status": "closed"}, "status"),
        ({**VALID, "agency_id": 3}, "agency_id"),
        ({**VALID, "escalated": True}, "escalated"),
        ({"body": VALID["body"]}, "title"),
        ({**VALID, "title": "x" * 201}, "title"),
        ({**VALID, "body": "short"}, "body"),
        ({**VALID, "kind": "gossip"}, "kind"),
        ({**VALID, "channel": "pigeon"}, "channel"),
        ({**VALID, "occurred_on": "2999-01-01"}, "occurred_on"),
        ({**VALID, "occurred_on": "yesterday"}, "occurred_on"),
        ({**VALID, "reporter": {"name": "A", "email": "not-an-email"}}, "reporter"),
        ({**VALID, "anonymous": "maybe"}, "anonymous"),
        ({**VALID, "category": "nonexistent"}, "category"),
        ({**VALID, "agency": "jakarta.dki"}, "agency"),
    ],
)
def test_invalid_complaints_are_422_naming_the_field_and_store_nothing(
    client: FlaskClient, session: Session, body: dict[str, Any], field: str
) -> None:
    assert_error(client.post(f"{API}/complaints", json=body), 422, field)
    assert count(session, Case) == 0


def test_malformed_json_is_400(client: FlaskClient, session: Session) -> None:
    answer = client.post(f"{API}/complaints", data="{not json", content_type="application/json")
    assert_error(answer, 400)
    assert count(session, Case) == 0


def test_a_json_array_body_is_rejected(client: FlaskClient) -> None:
    assert client.post(f"{API}/complaints", json=[VALID]).status_code in (400, 422)


def test_an_oversize_body_is_413(client: FlaskClient, session: Session) -> None:
    answer = client.post(f"{API}/complaints", json={**VALID, "body": "x" * (13 * 1024 * 1024)})
    assert_error(answer, 413)
    assert count(session, Case) == 0


def test_task_completion_with_invalid_data_is_422_and_changes_nothing(client: FlaskClient, auth: Auth) -> None:
    client.post(f"{API}/complaints", json=VALID)
    task = client.get(f"{API}/tasks", headers=auth("verifier")).json[0]
    path = f"{API}/tasks/{task['id']}/complete"
    assert_error(client.post(path, json={"data": {"decision": "accept"}}, headers=auth("verifier")), 422, "agency")
    assert_error(client.post(path, json={"data": "accept"}, headers=auth("verifier")), 422, "data")
    assert_error(client.post(path, json={"decision": "accept"}, headers=auth("verifier")), 422, "decision")
    assert client.get(f"{API}/tasks", headers=auth("verifier")).json[0]["id"] == task["id"]


def test_an_unknown_task_is_404(client: FlaskClient, auth: Auth) -> None:
    assert_error(client.get(f"{API}/tasks/nope", headers=auth("verifier")), 404)


def test_intake_is_rate_limited(app: Flask, client: FlaskClient, session: Session) -> None:
    app.config["INTAKE_RATE_LIMIT"] = "3/minute"
    codes = [client.post(f"{API}/complaints", json=VALID).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    assert count(session, Case) == 3


def reporter_headers(client: FlaskClient) -> tuple[str, dict[str, str]]:
    created = client.post(f"{API}/complaints", json=VALID).json
    return created["tracking_id"], {"X-Reporter-Token": created["reporter_token"]}


def upload(client: FlaskClient, tracking_id: str, headers: dict[str, str], content: bytes, name: str, mime: str) -> Any:
    data = {"file": (io.BytesIO(content), name, mime)}
    return client.post(
        f"{API}/complaints/{tracking_id}/attachments", data=data, headers=headers, content_type="multipart/form-data"
    )


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (4, 3)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


PNG = image_bytes()


def test_the_reporter_attaches_a_photo_stored_by_its_hash(app: Flask, client: FlaskClient, session: Session) -> None:
    import hashlib
    from pathlib import Path

    tracking_id, headers = reporter_headers(client)
    answer = upload(client, tracking_id, headers, PNG, "foto.png", "image/png")
    assert answer.status_code == 201, answer.json
    assert answer.json["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert (Path(app.config["ATTACHMENTS_DIR"]) / answer.json["sha256"]).read_bytes() == PNG
    got = client.get(answer.headers["Location"], headers=headers)
    assert got.status_code == 200 and got.data == PNG
    assert client.get(answer.headers["Location"]).status_code == 404  # not public yet


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (b"MZ\x90\0 executable", "application/x-msdownload"),
        (b"not really a png", "image/png"),
        (b"", "image/png"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png"),  # the right first bytes, then nothing of a PNG
        (image_bytes()[:-30], "image/png"),  # a real PNG, cut short
        (b"\xff\xd8\xff\xe0" + b"<script>alert(1)</script>" * 10, "image/jpeg"),
        (image_bytes("JPEG"), "image/png"),  # a JPEG declared as PNG
        (b"%PDF-1.7\n<html><script>alert(1)</script></html>", "application/pdf"),
        (pdf_bytes()[: len(pdf_bytes()) // 3], "application/pdf"),
    ],
    ids=[
        "exe",
        "text",
        "empty",
        "png-magic-only",
        "png-truncated",
        "jpeg-magic-html",
        "jpeg-as-png",
        "pdf-magic-html",
        "pdf-truncated",
    ],
)
def test_refused_files_store_nothing(client: FlaskClient, session: Session, content: bytes, mime: str) -> None:
    tracking_id, headers = reporter_headers(client)
    assert_error(upload(client, tracking_id, headers, content, "x.bin", mime), 422, "file")
    assert count(session, Attachment) == 0


def test_a_truncated_image_is_refused_after_weasyprint_is_loaded(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # importing WeasyPrint (the quarterly report) turns Pillow's process-wide LOAD_TRUNCATED_IMAGES on
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    tracking_id, headers = reporter_headers(client)
    assert_error(upload(client, tracking_id, headers, image_bytes()[:-30], "cut.png", "image/png"), 422, "file")
    assert count(session, Attachment) == 0


def test_a_file_over_the_limit_is_refused(client: FlaskClient, session: Session) -> None:
    tracking_id, headers = reporter_headers(client)
    big = PNG + b"\0" * (10 * 1024 * 1024)
    assert_error(upload(client, tracking_id, headers, big, "big.png", "image/png"), 422, "file")
    assert count(session, Attachment) == 0


def test_attachments_need_access_to_the_case(client: FlaskClient, auth: Auth) -> None:
    tracking_id, _ = reporter_headers(client)
    assert upload(client, tracking_id, {}, PNG, "a.png", "image/png").status_code == 404
    assert upload(client, tracking_id, auth("dishub"), PNG, "a.png", "image/png").status_code == 404
    assert upload(client, tracking_id, auth("auditor"), PNG, "a.png", "image/png").status_code == 403
    missing = client.post(f"{API}/complaints/{tracking_id}/attachments", data={}, headers=auth("verifier"))
    assert_error(missing, 422, "file")


def test_nul_characters_are_refused_everywhere(client: FlaskClient, auth: Auth, session: Session) -> None:
    assert_error(client.post(f"{API}/complaints", json={**VALID, "title": "a\x00b"}), 422, "title")
    assert_error(client.post(f"{API}/complaints", json={**VALID, "reporter": {"name": "\x00"}}), 422, "reporter.name")
    assert_error(client.get(f"{API}/complaints?q=a%00", headers=auth("verifier")), 422, "query.q")
    assert client.get(f"{API}/complaints/ADU%00X").status_code in (400, 404, 422)
    assert client.get(f"{API}/tasks/x%00", headers=auth("verifier")).status_code in (400, 404, 422)
    assert count(session, Case) == 0


# odd input: each a 4xx with a message, never a 500 ---------------------------------------------------


@pytest.fixture
def strict(app: Flask) -> Flask:
    """Unexpected errors answered as in production (500 in the contract's shape), not raised into the test."""
    app.config["ADUAN_HIDE_ERRORS"] = True
    from api.rest import handle_unexpected

    app.register_error_handler(Exception, handle_unexpected)
    return app


def multipart(*parts: bytes) -> tuple[bytes, str]:
    body = b"".join(b"--XX\r\n" + part + b"\r\n" for part in parts) + b"--XX--\r\n"
    return body, "multipart/form-data; boundary=XX"


@pytest.mark.parametrize(
    "part",
    [
        b'Content-Disposition: form-data; name="fi\r\n\r\nabc',  # the name's quote never closes
        b"Content-Disposition: form-data\r\n\r\nabc",  # no name at all
        b'Content-Disposition: form-data; filename="a.png"\r\nContent-Type: image/png\r\n\r\nabc',
    ],
    ids=["unterminated-name", "no-name", "file-without-name"],
)
def test_a_multipart_part_with_a_broken_field_name_is_400(
    strict: Flask, client: FlaskClient, auth: Auth, part: bytes
) -> None:
    tracking_id, headers = reporter_headers(client)
    body, content_type = multipart(part)
    answer = client.post(
        f"{API}/complaints/{tracking_id}/attachments", data=body, content_type=content_type, headers=headers
    )
    assert_error(answer, 400)
    answer = client.post(f"{API}/processes", data=body, content_type=content_type, headers=auth("owner"))
    assert_error(answer, 400)


def test_an_id_beyond_the_columns_range_is_404_on_the_api_and_the_pages(
    strict: Flask, client: FlaskClient, auth: Auth
) -> None:
    tracking_id, headers = reporter_headers(client)
    huge = "9" * 20
    assert_error(client.get(f"{API}/complaints/{tracking_id}/attachments/{huge}", headers=headers), 404)
    assert_error(client.get(f"{API}/complaints/{tracking_id}/attachments/{2**31}", headers=headers), 404)
    assert_error(client.get(f"{API}/processes/aduan/versions/{huge}", headers=auth("owner")), 404)
    assert client.get(f"/aduan/{tracking_id}/lampiran/{huge}").status_code == 404
    assert client.get(f"/proses/aduan/{huge}").status_code == 404


def test_json_nested_a_thousand_deep_is_400(strict: Flask, client: FlaskClient, session: Session) -> None:
    for doc in ("[" * 1000 + "]" * 1000, '{"title": ' + "[" * 1000 + "]" * 1000 + "}"):
        assert_error(client.post(f"{API}/complaints", data=doc, content_type="application/json"), 400)
    deep = json_nested(40)
    assert_error(client.post(f"{API}/complaints", json={**VALID, "location": deep}), 400)
    assert count(session, Case) == 0


def json_nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_an_integer_of_five_thousand_digits_is_400_and_one_beyond_any_column_is_422(
    strict: Flask, client: FlaskClient
) -> None:
    doc = '{"title": "Jalan rusak", "body": "Lubang besar di jalan.", "rating": ' + "9" * 5000 + "}"
    assert_error(client.post(f"{API}/complaints", data=doc, content_type="application/json"), 400)
    tracking_id, headers = reporter_headers(client)
    answer = client.post(f"{API}/complaints/{tracking_id}/replies", json={"rating": 10**30}, headers=headers)
    assert_error(answer, 422, "rating")


@pytest.mark.parametrize("field", ["title", "body", "location", "reporter.name"])
def test_lone_surrogates_in_any_text_field_are_422_naming_it(
    strict: Flask, client: FlaskClient, session: Session, field: str
) -> None:
    body: dict[str, Any] = {**VALID, "reporter": {"name": "Budi"}}
    if "." in field:
        body["reporter"]["name"] = "Bu\ud800di"
    else:
        body[field] = body.get(field, "Jl. Sudirman") + " \ud800"
    raw = json.dumps(body)  # "\ud800" escaped, as a client would send it
    assert_error(client.post(f"{API}/complaints", data=raw, content_type="application/json"), 422, field)
    assert count(session, Case) == 0


@pytest.mark.parametrize(
    ("content", "name", "mime"),
    [(image_bytes("JPEG"), "a.jpg", "image/jpeg"), (image_bytes("WEBP"), "a.webp", "image/webp"),
     (pdf_bytes(), "surat.pdf", "application/pdf")],
    ids=["jpeg", "webp", "pdf"],
)  # fmt: skip
def test_whole_valid_files_of_each_type_are_accepted(client: FlaskClient, content: bytes, name: str, mime: str) -> None:
    tracking_id, headers = reporter_headers(client)
    assert upload(client, tracking_id, headers, content, name, mime).status_code == 201


def test_a_decompression_bomb_is_refused(client: FlaskClient, session: Session) -> None:
    tracking_id, headers = reporter_headers(client)
    bomb = image_bytes("PNG", (8000, 6000))  # 48 MP of one colour: a few kB on the wire
    assert_error(upload(client, tracking_id, headers, bomb, "bomb.png", "image/png"), 422, "file")
    assert count(session, Attachment) == 0


def test_uploads_are_rate_limited_per_complaint_and_per_client(app: Flask, client: FlaskClient) -> None:
    app.config.update(UPLOAD_RATE_LIMIT="6/minute", UPLOAD_CASE_RATE_LIMIT="3/hour")  # a refused one counts too
    first, headers = reporter_headers(client)
    answers = [upload(client, first, headers, PNG, "a.png", "image/png").status_code for _ in range(4)]
    assert answers == [201, 201, 201, 429]
    second, other = reporter_headers(client)  # another complaint: its own budget, but the same client's
    answers = [upload(client, second, other, PNG, "a.png", "image/png").status_code for _ in range(3)]
    assert answers == [201, 201, 429]
    refused = upload(client, second, other, PNG, "a.png", "image/png")
    assert refused.status_code == 429 and refused.json["message"]

"""Diagrams cannot hurt the server: hostile code in a script, a condition, a timer or a DMN cell, uploaded
over HTTP, is a 422 with a plain reason and no side effect; hung uploads do not hold the API."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from engine.processes import sandbox
from tests.api.conftest import API, Auth
from tests.api.live_server import serving
from tests.conftest import DEMO_PASSWORD
from tests.data import shipped_bundle

CANARY = "canary-7f3a9c2e"  # an environment value no answer may contain

Inject = Callable[[dict[str, str], str], dict[str, str]]


def _replace(file: str, old: str, new: Callable[[str], str]) -> Inject:
    def inject(files: dict[str, str], code: str) -> dict[str, str]:
        assert old in files[file]
        return {**files, file: files[file].replace(old, new(escape(code)), 1)}

    return inject


# where the code goes: (file, the element the answer names, how it is put in, whether statements fit);
# a condition (a DMN cell) is named by its flow (its cell) when it does not compile, by its gateway (the
# business rule task calling the decision) when it fails in the dry run
PLACES: dict[str, tuple[str, str, Inject, bool]] = {
    "script": ("complaint.bpmn", "register", _replace(
        "complaint.bpmn", "update_case(status='submitted')</bpmn:script>",
        lambda code: f"update_case(status='submitted')\n{code}</bpmn:script>"), True),
    "condition": ("complaint.bpmn", "f_accept|verification_decision", _replace(
        "complaint.bpmn", ">decision == 'accept'<", lambda code: f">({code}) or decision == 'accept'<"), False),
    "timer": ("complaint.bpmn", "verify_breach", _replace(
        "complaint.bpmn", ">verify_due</bpmn:timeDate>", lambda code: f">({code}) or verify_due</bpmn:timeDate>"),
        False),
    "dmn cell": ("deadlines.dmn|complaint.bpmn", "deadlines_complaint_verify|set_deadlines", _replace(
        "deadlines.dmn", '<outputEntry id="deadlines_complaint_verify"><text>3</text>',
        lambda code: f'<outputEntry id="deadlines_complaint_verify"><text>({code}) or 3</text>'), False),
}  # fmt: skip


@dataclass(frozen=True)
class Payload:
    expression: str  # works in every place
    statement: str | None = None  # a script may use statements instead


def payloads(target: Path) -> dict[str, Payload]:
    victim = str(target / "pwned")
    return {
        "file write": Payload(f"open({victim!r}, 'w').write('x')"),
        "os.system": Payload(f"os.system('touch {victim}')", f"import os\nos.system('touch {victim}')"),
        "__import__": Payload(f"__import__('os').system('touch {victim}')"),
        "subclasses": Payload("().__class__.__base__.__subclasses__()"),
        "SECRET_KEY": Payload("__import__('flask').current_app.config['SECRET_KEY']"),
        "environment": Payload(f"__import__('os').environ[{'ADUAN_CANARY'!r}]"),
        "globals of a helper": Payload("working_days.__globals__['os'].environ"),
        "while True": Payload("[i for i in range(100000) for j in range(100000)]", "while True:\n    pass"),
        "endless comprehension": Payload("sum(1 for a in range(100000) for b in range(100000) for c in range(9))"),
        "10 GB string": Payload("'x' * (10 * 1024 ** 3)", "big = 'x' * (10 * 1024 ** 3)"),
    }


CASES = [(place, name) for place in PLACES for name in payloads(Path("/tmp"))]


def upload(client: FlaskClient, auth: Auth, files: dict[str, str]) -> tuple[int, str]:
    parts = [(io.BytesIO(text.encode()), name) for name, text in files.items()]
    answer = client.post(f"{API}/processes", data={"files": parts}, headers=auth("owner"),
                         content_type="multipart/form-data")  # fmt: skip
    return answer.status_code, answer.get_data(as_text=True)


@pytest.fixture
def canary() -> Iterator[None]:
    os.environ["ADUAN_CANARY"] = CANARY
    yield
    del os.environ["ADUAN_CANARY"]


@pytest.mark.parametrize(("place", "name"), CASES)
def test_hostile_code_is_refused_with_a_plain_reason_and_no_side_effect(
    client: FlaskClient, auth: Auth, app: Flask, tmp_path: Path, canary: None, place: str, name: str
) -> None:
    file, element, inject, statements = PLACES[place]
    payload = payloads(tmp_path)[name]
    code = payload.statement if statements and payload.statement else payload.expression
    status, body = upload(client, auth, inject(shipped_bundle(), code))

    assert status == 422, body
    assert any(f in body for f in file.split("|"))
    assert any(f"element '{e}'" in body for e in element.split("|"))
    for leak in (app.config["SECRET_KEY"], CANARY, "object at 0x", "<class", "<function", "Traceback"):
        assert leak not in body
    assert list(tmp_path.iterdir()) == []  # nothing written
    versions = client.get(f"{API}/processes/complaint/versions", headers=auth("owner")).json
    assert [v["version"] for v in versions] == [1]  # nothing stored


def test_the_reasons_say_plainly_what_was_refused(client: FlaskClient, auth: Auth, tmp_path: Path) -> None:
    expected = {
        "__import__": '"__import__" is an invalid variable name',
        "subclasses": '"__subclasses__" is an invalid attribute name',
        "file write": "name 'open' is not defined",
        "10 GB string": "would have more than",
        "while True": "evaluation took ",  # more than N steps, or longer than N s on a slow machine
    }
    for name, reason in expected.items():
        status, body = upload(client, auth, PLACES["script"][2](shipped_bundle(), payloads(tmp_path)[name].expression))
        messages = " ".join(m for found in json.loads(body)["errors"].values() for m in found)
        assert (status, reason in messages) == (422, True), messages


# A live server: eight uploads that hang their dry run, and /health still answers --------------------------


@pytest.fixture
def live(app: Flask, client: FlaskClient) -> Iterator[str]:
    """The API on a free port, whose runtime budget is off so that a `while True` really hangs the check
    (only the child process's wall-clock timeout stops it)."""
    served = create_app({
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
        "SCRIPT_MAX_STEPS": 10**15, "SCRIPT_MAX_SECONDS": 10**6, "SCRIPT_CHECK_TIMEOUT": 3,
        "LOGIN_RATE_LIMIT": "1000/minute",
    })  # fmt: skip
    with serving(served) as url:
        yield url
    sandbox.configure(**vars(sandbox.Limits()))


def test_eight_hung_uploads_answer_422_after_the_timeout_and_health_answers_meanwhile(live: str) -> None:
    token = requests.post(f"{live}{API}/auth/token", json={"username": "owner", "password": DEMO_PASSWORD},
                          timeout=10).json()["access_token"]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}

    def hung_upload(n: int) -> requests.Response:
        files = PLACES["script"][2](shipped_bundle(), f"while True:\n    n = {n}")
        parts = [("files", (name, text.encode())) for name, text in files.items()]
        return requests.post(f"{live}{API}/processes", files=parts, headers=headers, timeout=60)

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        pending = [pool.submit(hung_upload, n) for n in range(8)]
        time.sleep(1.0)
        assert not any(f.done() for f in pending)  # all eight are hanging in their dry runs
        for _ in range(5):
            before = time.monotonic()
            health = requests.get(f"{live}{API}/health", timeout=5)
            assert health.status_code == 200 and time.monotonic() - before < 1.0
            time.sleep(0.2)
        answers = [f.result() for f in pending]
    elapsed = time.monotonic() - started
    for answer in answers:
        assert answer.status_code == 422
        assert "evaluation took longer than 3 s" in answer.text
        assert "register" not in answer.text or "files" in answer.json()["errors"]
    assert elapsed < 15  # each thread was freed after its timeout, not after the loop "ended"
    assert requests.get(f"{live}{API}/health", timeout=5).status_code == 200

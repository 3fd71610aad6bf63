"""The thread in a real browser: a question reaches the citizen (phone) and the answer the verifier's
task (desktop), an officer's photo reaches the citizen and the public, internal notes stay internal."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PHONE, Server, sign_in
from tests.web.test_browser import PNG, accept, complete, file_case

pytestmark = pytest.mark.browser
Page = Any
NewPage = Callable[..., Page]
Shot = Callable[[Page, str], Path]
QUESTION = "Di titik mana tepatnya? Mohon kirim foto lokasi."
ANSWER = "Di depan Pasar Tos 3000, sisi parkiran motor."


def open_task(page: Page, server: Server, tracking_id: str) -> None:
    page.goto(server.url("/kotak-masuk"))
    with page.expect_navigation():  # the task page, loaded, before the caller counts what is on it
        page.click(f"tr:has-text('{tracking_id}') a")


def test_a_question_and_its_answer_travel_through_the_pages(server: Server, new_page: NewPage, shot: Shot) -> None:
    citizen = new_page(PHONE)
    citizen.goto(server.url("/lapor"))
    citizen.fill("#title", "Sampah menumpuk di Jodoh")
    citizen.fill("#body", "Sudah seminggu sampah tidak diangkut dan mulai berbau.")
    citizen.select_option("#category", "kebersihan")
    citizen.fill("#reporter_name", "Rina")
    citizen.fill("#reporter_email", "rina@example.id")
    citizen.click("#complaint-form button[type=submit]")
    citizen.wait_for_selector("#new-token")
    tracking_id = citizen.inner_text("#tracking-id")
    assert "e-mail" in citizen.inner_text("#notify-note")  # the citizen knows answers will come
    assert citizen.locator("[data-copy=reporter-token]").is_visible()

    verifier = new_page()
    sign_in(verifier, server, "verifier")
    open_task(verifier, server, tracking_id)
    verifier.select_option("#f-decision", "need_info")
    verifier.fill("#f-reason", QUESTION)
    verifier.click("#complete")
    verifier.wait_for_url(re.compile(r"/kotak-masuk$"))

    citizen.reload()
    assert QUESTION in citizen.inner_text("#thread")
    citizen.fill("#message", ANSWER)
    assert citizen.inner_text("#reply .counter") == f"{len(ANSWER)} dari 5000 karakter"  # the limit, while typing
    citizen.click("#reply button[type=submit]")
    citizen.wait_for_selector(".flash.success")

    open_task(verifier, server, tracking_id)
    highlighted = verifier.locator("#thread .highlight")
    assert highlighted.count() == 1 and ANSWER in highlighted.inner_text()
    assert QUESTION in verifier.inner_text("#thread")
    shot(verifier, "thread-task")
    verifier.select_option("#f-decision", "accept")
    verifier.click("#complete")
    verifier.wait_for_url(re.compile(r"/kotak-masuk$"))

    officer = new_page()
    sign_in(officer, server, "dlh")
    open_task(officer, server, tracking_id)
    officer.select_option("#f-decision", "respond")
    officer.fill("#f-message", "Sampah sudah diangkut; lokasi sudah bersih.")
    officer.set_input_files("#f-attachments", {"name": "bersih.png", "mimeType": "image/png", "buffer": PNG})
    officer.click("#complete")
    officer.wait_for_url(re.compile(r"/kotak-masuk$"))

    citizen.reload()
    thread = citizen.inner_text("#thread")
    assert "lokasi sudah bersih" in thread and citizen.locator("#thread img[alt='bersih.png']").count() == 1
    assert citizen.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(citizen, "thread-citizen-phone")

    public = new_page()
    public.goto(server.url(f"/aduan/{tracking_id}"))
    assert "lokasi sudah bersih" in public.inner_text("#thread")
    photo = public.locator("#thread img[alt='bersih.png']")
    photo.scroll_into_view_if_needed()  # loading="lazy": a photo below the fold is not fetched at page load
    public.wait_for_function("img => img.complete", arg=photo.element_handle())  # loaded, or failed to
    assert photo.evaluate("img => img.naturalWidth") > 0
    assert "Rina" not in public.inner_text("main")


def test_internal_notes_stay_with_staff_and_staff_can_write_to_the_reporter(server: Server, new_page: NewPage) -> None:
    tracking_id = file_case(server, "Parkir liar di Nagoya Hill", category="parkir")
    accept(server, tracking_id)  # to batam.dlh, which is not competent
    complete(server, "dlh", "officer", "batam.dlh", tracking_id,
             {"decision": "not_authority", "message": "Parkir adalah urusan Dinas Perhubungan."})  # fmt: skip

    verifier = new_page()
    sign_in(verifier, server, "verifier")
    open_task(verifier, server, tracking_id)
    note = verifier.locator("#thread .message.internal")
    assert note.count() == 1 and "Dinas Perhubungan" in note.inner_text()

    verifier.goto(server.url(f"/aduan/{tracking_id}"))
    verifier.fill("#message-body", "Laporan Anda kami teruskan ke Dinas Perhubungan.")
    verifier.check("input[name=audience][value=reporter]")
    verifier.click("#post-message button[type=submit]")
    verifier.wait_for_selector(".flash.success")

    public = new_page()
    accept(server, tracking_id, agency="batam.dishub")
    public.goto(server.url(f"/aduan/{tracking_id}"))
    text = public.inner_text("#thread")
    assert "kami teruskan" in text and "urusan Dinas Perhubungan" not in text


# Every branch: the text on exactly the pages of the audiences it is meant for ---------------------------


def filed(server: Server, title: str) -> tuple[str, str]:
    """A guest complaint with an e-mail contact: (tracking id, secret code)."""
    with server.app.app_context():
        from api.extensions import db
        from engine.cases import lifecycle

        submission = lifecycle.Submission(
            title=title, body=f"{title}: sudah seminggu.", category="kebersihan", reporter={"name": "Rina"}
        )
        outcome = lifecycle.start_case(db.session(), submission)
        return outcome.case.tracking_id, str(outcome.reporter_token)


def reply(server: Server, tracking_id: str, **answer: Any) -> None:
    with server.app.app_context():
        from api.extensions import db
        from engine.cases import lifecycle
        from engine.cases.case import get_case

        lifecycle.reporter_reply(db.session(), get_case(db.session(), tracking_id), answer)


def officer(server: Server, tracking_id: str, **data: Any) -> None:
    complete(server, "dlh", "officer", "batam.dlh", tracking_id, data)


def verifier(server: Server, tracking_id: str, **data: Any) -> None:
    complete(server, "verifier", "verifier", "batam.diskominfo", tracking_id, data)


def page_text(new_page: NewPage, server: Server, who: str, tracking_id: str, token: str) -> str | None:
    """The thread on the case page as `who` sees it ('reporter', 'public' or a staff user); None for a 404."""
    page = new_page()
    if who == "reporter":
        page.goto(server.url("/lacak"))
        page.fill("#tracking_id", tracking_id)
        page.fill("#token", token)
        page.click("form button[type=submit]")
    elif who != "public":
        sign_in(page, server, who)
    page.goto(server.url(f"/aduan/{tracking_id}"))
    if page.locator(".error-page").count():
        return None
    return str(page.inner_text("#thread")) if page.locator("#thread").count() else ""


BRANCHES = {
    "reject": "Bukan tentang pelayanan publik.",
    "not_authority": "Bukan kewenangan DLH.",
    "delegate": "Unit kebersihan kecamatan menindaklanjuti.",
    "interim_final": "Dijadwalkan Rabu.",
    "not_satisfied": "Masih ada tumpukan di gang.",
}


def run_branch(server: Server, branch: str, tracking_id: str) -> None:
    text = BRANCHES[branch]
    if branch == "reject":
        verifier(server, tracking_id, decision="reject", reason=text)
        return
    accept(server, tracking_id)
    if branch == "not_authority":
        officer(server, tracking_id, decision="not_authority", message=text)
    elif branch == "delegate":
        with server.app.app_context():
            from api.extensions import db
            from engine.directory import agencies as directory

            if db.session.get(directory.Agency, "batam.dlh.kebersihan") is None:
                directory.create_agency(db.session(), "batam.dlh.kebersihan", "Unit Kebersihan", "batam.dlh")
                db.session.commit()
        officer(server, tracking_id, decision="delegate", unit="batam.dlh.kebersihan", message=text)
    elif branch == "interim_final":
        officer(server, tracking_id, decision="respond", message=text, final=False)
        officer(server, tracking_id, decision="respond", message="Sudah diangkut.")
    elif branch == "not_satisfied":
        officer(server, tracking_id, decision="respond", message="Sudah diangkut.")
        reply(server, tracking_id, message=text, satisfied=False)


# who reads the branch's text (True), sees the page without it (False), or gets a 404 (None)
EXPECTED = {
    "reject": {"reporter": True, "verifier": True, "public": None, "dishub": None},
    "not_authority": {"reporter": False, "verifier": True, "public": None, "dishub": None},
    "delegate": {"reporter": False, "verifier": True, "dlh": True, "public": False, "dishub": False},
    "interim_final": {"reporter": True, "public": True, "dlh": True, "dishub": True},
    "not_satisfied": {"reporter": True, "public": True, "dlh": True, "verifier": True},
}


@pytest.mark.parametrize("branch", sorted(EXPECTED))
def test_each_branch_shows_its_text_to_exactly_its_audiences(server: Server, new_page: NewPage, branch: str) -> None:
    tracking_id, token = filed(server, f"Cabang {branch}")
    run_branch(server, branch, tracking_id)
    for who, expected in EXPECTED[branch].items():
        text = page_text(new_page, server, who, tracking_id, token)
        seen = None if text is None else BRANCHES[branch] in text
        assert seen == expected, (branch, who, text)


def test_a_satisfied_reporter_rates_without_a_message(server: Server, new_page: NewPage) -> None:
    tracking_id, token = filed(server, "Cabang puas")
    accept(server, tracking_id)
    officer(server, tracking_id, decision="respond", message="Sudah diangkut.")
    page = new_page(PHONE)
    page.goto(server.url("/lacak"))
    page.fill("#tracking_id", tracking_id)
    page.fill("#token", token)
    page.click("form button[type=submit]")
    page.check("input[name=satisfied][value=yes]")
    page.check("input[name=rating][value='4']")
    page.click("#reply button[type=submit]")
    page.wait_for_selector(".status-closed")
    assert "★★★★☆" in page.inner_text("dl.facts")
    assert page.locator("#thread .message").count() == 1  # the rating added no message

"""Each page's main path in a real browser (chromium), and one whole lifecycle through the pages only."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.extensions import db
from engine.cases import lifecycle, tasks
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.db import utcnow
from tests.conftest import DEMO_PASSWORD
from tests.web.conftest import PHONE, WIDE, Server, sign_in

pytestmark = pytest.mark.browser
Page = Any
NewPage = Callable[..., Page]
Shot = Callable[[Page, str], Path]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00"
    b"\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


# Cases made through the engine, for the pages that show them -------------------------------------------


def file_case(server: Server, title: str, **fields: Any) -> str:
    with server.app.app_context():
        fields.setdefault("category", "kebersihan")
        fields.setdefault("reporter", {"name": "Siti Rahma", "phone": "+62 812 7000 1234"})
        submission = lifecycle.Submission(title=title, body=f"{title}: sudah seminggu belum ditangani.", **fields)
        return lifecycle.start_case(db.session(), submission).case.tracking_id


def complete(server: Server, username: str, role: str, agency: str, tracking_id: str, data: dict[str, Any]) -> None:
    """The case's open task for `role` done by `username`, as the API would do it."""
    with server.app.app_context():
        session = db.session()
        case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).one()
        row = next(t for t in tasks.open_tasks(session, case.id) if t.role == role)
        lifecycle.complete_task(session, Actor(username, role, agency), row.id, data)


def accept(server: Server, tracking_id: str, **extra: Any) -> None:
    data = {"decision": "accept", "agency": "batam.dlh", **extra}
    complete(server, "verifier", "verifier", "batam.diskominfo", tracking_id, data)


def respond(server: Server, tracking_id: str, message: str, final: bool = True) -> None:
    data = {"decision": "respond", "message": message, "final": final}
    complete(server, "dlh", "officer", "batam.dlh", tracking_id, data)


# The lifecycle, through the browser only ----------------------------------------------------------------


def test_a_complaint_from_filing_to_a_satisfied_reporter_through_the_pages(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    citizen = new_page()
    citizen.goto(server.url("/lapor"))
    citizen.fill("#title", "Lampu jalan mati di Jl. Engku Putri")
    citizen.fill("#body", "Tiga lampu jalan mati sejak Senin; jalan gelap dan rawan kecelakaan.")
    citizen.select_option("#category", "kebersihan")
    citizen.fill("#location", "Jl. Engku Putri, Batam Centre")
    citizen.fill("#reporter_name", "Budi Santoso")
    citizen.fill("#reporter_phone", "+62 812 7000 1234")
    citizen.set_input_files("#attachments", {"name": "foto.png", "mimeType": "image/png", "buffer": PNG})
    citizen.click("#complaint-form button[type=submit]")
    citizen.wait_for_selector("#new-token")
    tracking_id = citizen.inner_text("#tracking-id")
    assert re.fullmatch(r"ADU-[0-9A-Z]{4}-[0-9A-Z]{4}", tracking_id)
    assert citizen.inner_text("#reporter-token")
    assert citizen.locator("a", has_text="foto.png").count() == 1
    shot(citizen, "complaint-filed")

    verifier = new_page()
    sign_in(verifier, server, "verifier")
    verifier.goto(server.url("/kotak-masuk"))
    verifier.click(f"tr:has-text('{tracking_id}') a")
    verifier.click("#claim")
    assert verifier.locator(".flash.success").count() == 1
    verifier.select_option("#f-decision", "accept")
    assert verifier.input_value("#f-agency") == "batam.dlh"  # the category's agency, proposed
    verifier.click("#complete")
    verifier.wait_for_url(re.compile(r"/kotak-masuk$"))
    assert tracking_id in verifier.inner_text(".flash.success")

    officer = new_page()
    sign_in(officer, server, "dlh")
    officer.click(f"tr:has-text('{tracking_id}') a")
    officer.select_option("#f-decision", "respond")
    officer.fill("#f-message", "Lampu sudah diganti oleh petugas hari ini.")
    officer.click("#complete")
    officer.wait_for_url(re.compile(r"/kotak-masuk$"))

    citizen.reload()
    assert "Lampu sudah diganti" in citizen.inner_text("#thread")
    assert citizen.locator(".status-awaiting_reporter").count() == 1
    shot(citizen, "tracking")
    citizen.check("input[name=satisfied][value=yes]")
    citizen.check("input[name=rating][value='5']")
    citizen.fill("#message", "Terima kasih, sudah terang kembali.")
    citizen.click("#reply button[type=submit]")
    citizen.wait_for_selector(".status-closed")
    assert citizen.locator("#reply").count() == 0
    assert "★★★★★" in citizen.inner_text("dl.facts")


# Citizens -----------------------------------------------------------------------------------------------


def test_the_complaint_form_explains_privacy_shows_errors_by_field_and_fits_a_phone(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    phone = new_page(PHONE)
    phone.goto(server.url("/lapor"))
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    assert phone.locator("fieldset.privacy small").count() == 2
    shot(phone, "complaint-form-phone")
    phone.fill("#title", "ab")
    phone.click("#complaint-form button[type=submit]")
    assert phone.locator("#title-error").count() == 1
    assert phone.locator("#body-error").count() == 1
    assert phone.input_value("#title") == "ab"  # what was typed stays

    desktop = new_page()
    desktop.goto(server.url("/lapor"))
    shot(desktop, "complaint-form")


def test_a_guest_opens_their_complaint_with_its_tracking_number_and_secret_code(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    first = new_page()
    first.goto(server.url("/lapor"))
    first.fill("#title", "Parkir liar di depan pasar")
    first.fill("#body", "Juru parkir liar memungut biaya dua kali lipat.")
    first.select_option("#category", "parkir")
    first.check("input[name=anonymous]")
    first.click("#complaint-form button[type=submit]")
    tracking_id, token = first.inner_text("#tracking-id"), first.inner_text("#reporter-token")

    other = new_page(PHONE)
    other.goto(server.url(f"/aduan/{tracking_id}"))
    assert other.locator("h1", has_text="404").count() + other.locator(".error-page").count() >= 1
    other.goto(server.url("/lacak"))
    other.fill("#tracking_id", tracking_id)
    other.fill("#token", "salah")
    other.click("form button[type=submit]")
    assert other.locator(".flash.error").count() == 1
    other.fill("#token", token)
    shot(other, "track")
    other.click("form button[type=submit]")
    other.wait_for_url(re.compile(f"/aduan/{tracking_id}$"))
    assert "Parkir liar" in other.inner_text("h1")
    assert other.locator(".badge.flag").count() == 1  # anonymous


def test_the_public_list_shows_verified_complaints_but_no_confidential_one_nor_any_reporter(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    public = file_case(server, "Sampah menumpuk di Tiban")
    accept(server, public)
    respond(server, public, "Sampah sudah diangkut.", final=False)
    secret = file_case(server, "Pungutan liar di kantor kelurahan", confidential=True)
    accept(server, secret)
    unverified = file_case(server, "Belum diverifikasi di Sekupang")

    page = new_page()
    page.goto(server.url("/publik"))
    text = page.inner_text("main")
    assert "Sampah menumpuk di Tiban" in text
    assert "Pungutan liar" not in text and "Belum diverifikasi" not in text
    shot(page, "public-list")
    page.click("a:has-text('Sampah menumpuk di Tiban')")
    assert "Sampah sudah diangkut." in page.inner_text("#thread")
    assert "Siti Rahma" not in page.inner_text("main")
    for hidden in (secret, unverified):
        page.goto(server.url(f"/aduan/{hidden}"))
        assert page.locator(".error-page").count() == 1


def test_the_language_switch_shows_english_and_is_remembered(server: Server, new_page: NewPage, shot: Shot) -> None:
    page = new_page()
    page.goto(server.url("/"))
    assert page.get_attribute("html", "lang") == "id"
    shot(page, "home")
    assert "Laporkan" in page.inner_text("h1")
    page.click("a[hreflang=en]")
    assert page.get_attribute("html", "lang") == "en"
    page.goto(server.url("/lapor"))
    assert page.inner_text("h1") == "File a complaint"


# Staff --------------------------------------------------------------------------------------------------


def test_the_inbox_is_sorted_by_deadline_and_marks_overdue_and_escalated_cases(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    late = file_case(server, "Antrean Puskesmas sangat lama", category="kesehatan")
    soon = file_case(server, "Pohon tumbang menutup jalan")
    with server.app.app_context():
        session = db.session()
        case = session.scalars(sa.select(Case).where(Case.tracking_id == late)).one()
        row = tasks.open_tasks(session, case.id)[0]
        row.due_at = utcnow() - timedelta(days=2)  # as if three working days had passed
        case.escalated = True
        session.commit()

    page = new_page()
    page.goto(server.url("/kotak-masuk"))
    page.wait_for_url(re.compile(r"/masuk\?next=/kotak-masuk$"))  # sign in first, then back to the inbox
    page.fill("#username", "verifier")
    page.fill("#password", DEMO_PASSWORD)
    shot(page, "login")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/kotak-masuk$"))
    rows = page.locator("table.inbox tbody tr")
    ids = [rows.nth(i).locator("code").first.inner_text() for i in range(rows.count())]
    assert ids.index(late) < ids.index(soon)
    late_row = page.locator(f"tr:has-text('{late}')")
    assert "overdue" in (late_row.get_attribute("class") or "")
    assert late_row.locator(".badge.escalated").count() == 1
    assert page.locator(f"tr:has-text('{soon}') .badge.overdue").count() == 0
    shot(page, "inbox")


def test_the_task_form_is_rendered_from_its_schema_with_field_errors_and_conditions(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    tracking_id = file_case(server, "Drainase tersumbat di Batu Aji", anonymous=True)
    page = new_page()
    sign_in(page, server, "verifier")
    page.click(f"tr:has-text('{tracking_id}') a")
    assert page.locator("#f-decision option").count() == 4  # blank + accept, reject, need_info
    assert page.is_checked("#f-anonymous")  # the reporter's choice is kept unless the verifier changes it
    page.select_option("#f-decision", "reject")
    from playwright.sync_api import expect

    # the page's script marks the field; wait for it (it may still be loading right after navigation)
    expect(page.locator("[data-field=reason].needed")).to_have_count(1)  # required for reject, shown as such
    shot(page, "task")
    page.click("#complete")
    assert page.locator("#reason-error").count() == 1
    assert page.input_value("#f-decision") == "reject"


def test_the_case_page_for_staff_shows_the_reporter_unless_anonymous_and_the_open_tasks(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    tracking_id = file_case(server, "Trotoar rusak di Nagoya", category="kebersihan")
    accept(server, tracking_id, anonymous=True)
    officer = new_page()
    sign_in(officer, server, "dlh")
    officer.goto(server.url(f"/aduan/{tracking_id}"))
    assert "Siti Rahma" not in officer.inner_text("main")
    assert officer.locator("ul.tasks a").count() == 1
    desk = new_page()
    sign_in(desk, server, "verifier")
    desk.goto(server.url(f"/aduan/{tracking_id}"))
    assert "Siti Rahma" in desk.inner_text("main")
    shot(desk, "case")
    desk.goto(server.url("/aduan?q=Trotoar"))
    assert desk.locator(f"a:has-text('{tracking_id}')").count() == 1
    shot(desk, "cases")
    other = new_page()
    sign_in(other, server, "dishub")
    other.goto(server.url(f"/audit/{tracking_id}"))
    assert other.locator(".error-page").count() == 1


# Auditors -----------------------------------------------------------------------------------------------


def test_the_auditor_sees_the_timeline_beside_the_diagram_with_the_path_and_open_task(
    server: Server, new_page: NewPage, shot: Shot, tmp_path: Path
) -> None:
    tracking_id = file_case(server, "Bau limbah dari saluran di Batam Centre")
    accept(server, tracking_id)
    page = new_page(WIDE)
    sign_in(page, server, "auditor")
    page.goto(server.url(f"/audit/{tracking_id}"))
    page.wait_for_selector("#diagram[data-ready=true]")
    assert page.locator(".djs-element.taken").count() >= 3
    assert page.locator(".djs-element.current[data-element-id=respond]").count() == 1
    assert page.locator("#chain.ok").count() == 1
    assert page.locator("#entries li.entry-event").count() >= 2  # submitted, verified
    shot(page, "audit")
    with page.expect_download() as download:
        page.click("a:has-text('JSON')")
    saved = tmp_path / "history.json"
    download.value.save_as(saved)
    document = json.loads(saved.read_text())
    assert document["tracking_id"] == tracking_id


ROUTES = [("kebersihan", "batam.dlh", "dlh", 1), ("parkir", "batam.dishub", "dishub", 4), ("kesehatan",
          "batam.dinkes", "dinkes", 2)]  # fmt: skip


def seed_history(server: Server, cases: int = 18) -> None:
    """Cases over the last four months, each agency with its own pace, some closed satisfied."""
    import time_machine

    start = utcnow().replace(hour=2, minute=0, second=0, microsecond=0) - timedelta(days=110)
    for n in range(cases):
        category, agency, officer, pace = ROUTES[n % len(ROUTES)]
        filed = start + timedelta(days=6 * n)
        with time_machine.travel(filed, tick=False), server.app.app_context():
            submission = lifecycle.Submission(title=f"Laporan {category} #{n + 1}", body="Mohon segera ditangani.",
                                              category=category)  # fmt: skip
            tracking_id = lifecycle.start_case(db.session(), submission).case.tracking_id
        with time_machine.travel(filed + timedelta(hours=5), tick=False):
            complete(server, "verifier", "verifier", "batam.diskominfo", tracking_id,
                     {"decision": "accept", "agency": agency})  # fmt: skip
        with time_machine.travel(filed + timedelta(days=pace + n % 2, hours=3), tick=False):
            complete(server, officer, "officer", agency, tracking_id, {"decision": "respond", "message": "Selesai."})
        if n % 4 != 3:
            with time_machine.travel(filed + timedelta(days=pace + 2), tick=False), server.app.app_context():
                case = db.session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).one()
                reply = {"message": "Terima kasih.", "satisfied": True, "rating": 3 + n % 3}
                lifecycle.reporter_reply(db.session(), case, reply)


def test_the_dashboard_charts_follow_up_speed_and_completion_by_agency_and_month(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    seed_history(server)
    page = new_page()
    sign_in(page, server, "auditor")
    page.goto(server.url("/statistik"))
    page.wait_for_selector("body[data-charts=ready]")
    assert page.locator("canvas").count() == 3
    assert int(page.inner_text("#kpi-total")) >= 1
    assert "Dinas Lingkungan Hidup" in page.inner_text("#by-agency")
    shot(page, "dashboard")
    with page.expect_download() as download:
        page.click("a[href*='aduan.csv']")
    assert download.value.suggested_filename.endswith(".csv")


# Process owners -----------------------------------------------------------------------------------------


def test_the_process_owner_deploys_from_the_modeler_sees_findings_on_elements_and_the_diff(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    page = new_page(WIDE)
    sign_in(page, server, "owner")
    page.click("table a[href$='/proses/complaint']")
    page.click("tr:has(.badge.ok) a")
    page.click("#edit")
    page.wait_for_selector("#modeler[data-ready=true]")
    before = page.url

    # a lane named after no role: the findings list names it and the lane is marked on the diagram
    page.evaluate(
        """() => {
        const registry = aduanModeler.get('elementRegistry');
        const lane = registry.filter(e => e.type === 'bpmn:Lane')[0];
        aduanModeler.get('modeling').updateLabel(lane, 'warga');
        }"""
    )
    page.click("#deploy")
    page.wait_for_selector("#findings li.linked")
    assert "warga" in page.inner_text("#findings")
    assert page.locator(".djs-element.finding").count() >= 1
    assert page.url == before
    shot(page, "modeler")

    page.reload()
    page.wait_for_selector("#modeler[data-ready=true]")
    page.evaluate(
        """() => {
        const element = aduanModeler.get('elementRegistry').get('respond');
        aduanModeler.get('modeling').updateLabel(element, 'Tindak lanjuti aduan');
        }"""
    )
    page.click("#deploy")
    page.wait_for_url(re.compile(r"/proses/complaint/\d+$"))
    assert page.locator("#diff .diff-changed", has_text="respond").count() >= 1
    page.wait_for_selector("#diagram[data-ready=true]")
    assert page.locator(".djs-element.changed").count() >= 1
    shot(page, "version-diff")
    page.goto(server.url("/proses"))
    shot(page, "processes")


def test_a_policy_violation_would_be_reported(server: Server, browser: Any) -> None:
    """The check every browser test relies on (`new_page`): an inline script is refused and reported."""
    context = browser.new_context()
    try:
        page = context.new_page()
        messages: list[str] = []
        page.on("console", lambda message: messages.append(message.text))
        page.goto(server.url("/lapor"))
        with pytest.raises(Exception, match="Content Security Policy"):
            page.add_script_tag(content="document.title = 'inline ran'")
        assert page.title() != "inline ran"
        assert any("Content Security Policy" in m for m in messages)
    finally:
        context.close()

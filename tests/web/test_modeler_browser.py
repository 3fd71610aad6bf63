"""The process owner's editors in a real browser: a deadline changed in the DMN editor (dmn-js) and a timer in
the BPMN modeler's properties panel, each checked, deployed as an inactive version and activated once the
owner confirms the changes the version page lists."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.web.conftest import WIDE, Server, sign_in

NewPage = Callable[..., Any]
Shot = Callable[[Any, str], Any]


def type_into(page: Any, cell: Any, text: str) -> None:
    """Replace a decision table cell's text as a person would, then leave the cell."""
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.locator('td[data-element-id="deadlines_complaint_verify"]').click()


def open_active_version(page: Any, server: Server) -> None:
    page.goto(server.url("/proses/complaint"))
    page.click("tr:has(.badge.ok) a")


def deploy_and_activate(page: Any) -> str:
    """Deploy the edit, then confirm and activate the new version; returns its page's URL."""
    page.click("#deploy")
    page.wait_for_url(re.compile(r"/proses/complaint/\d+$"))
    return activate_confirmed(page, str(page.url))


def activate_confirmed(page: Any, url: str) -> str:
    """On a version's page: activating asks for the confirmation first."""
    page.goto(url)
    assert page.locator("#against-active").count() == 1
    page.click("#activate")  # not confirmed: the browser asks for the checkbox, nothing is sent
    assert page.url == url and page.locator(".badge.ok").count() == 0
    page.check("#confirm")
    page.click("#activate")
    page.wait_for_selector("h1 .badge.ok")
    return url


def test_the_dmn_editor_changes_a_deadline_that_is_checked_deployed_and_activated(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    page = new_page(WIDE)
    sign_in(page, server, "owner")
    open_active_version(page, server)
    page.click("a.edit-table[href*='file=deadlines.dmn']")
    page.wait_for_selector("#modeler[data-ready=true]")
    cell = page.locator('td[data-element-id="deadlines_complaint_followup"]')
    assert cell.inner_text().strip() == "5"
    type_into(page, cell, "3 +")  # not a Python expression: a finding, marked on the cell
    page.click("#validate")
    page.wait_for_selector("#findings li.linked[data-element=deadlines_complaint_followup]")
    assert page.locator('td.finding[data-element-id="deadlines_complaint_followup"]').count() == 1
    shot(page, "dmn-editor")
    type_into(page, cell, "3")
    page.click("#validate")
    page.wait_for_selector("#deploy-status[data-valid=true]")
    assert page.locator("td.finding").count() == 0
    page.click("#deploy")
    page.wait_for_url(re.compile(r"/proses/complaint/\d+$"))
    url = str(page.url)
    row = page.locator('#against-active tr.cell-changed[data-rule="deadlines_complaint"]')  # the row and cell
    assert [c.strip() for c in row.locator("td").all_inner_texts()] == [
        "deadlines_complaint",
        "First follow-up",
        "5",
        "3",
    ]
    shot(page, "version-activate")
    activate_confirmed(page, url)
    page.goto(url + "/berkas/deadlines.dmn")
    assert re.search(r'<outputEntry id="deadlines_complaint_followup">\s*<text>3</text>', page.inner_text("body"))


def test_the_bpmn_modeler_edits_a_timer_and_shows_the_form_in_its_properties_panel(
    server: Server, new_page: NewPage, shot: Shot
) -> None:
    page = new_page(WIDE)
    sign_in(page, server, "owner")
    open_active_version(page, server)
    page.click("#edit")
    page.wait_for_selector("#modeler[data-ready=true]")
    page.evaluate("() => aduanModeler.get('selection').select(aduanModeler.get('elementRegistry').get('verify'))")
    page.click("[data-group-id=group-aduan] .bio-properties-panel-group-header")
    form = page.locator("#bio-properties-panel-aduan-formJsonSchemaFilename")
    assert form.input_value() == "verify.schema.json"
    page.evaluate(
        "() => aduanModeler.get('selection').select(aduanModeler.get('elementRegistry').get('respond_reminder'))"
    )
    page.click("[data-group-id=group-timer] .bio-properties-panel-group-header")
    timer = page.locator("#bio-properties-panel-timerEventDefinitionValue")
    assert timer.input_value() == "reminder_at(respond_due)"
    timer.fill("reminder_at(respond_due, 14)")
    page.wait_for_timeout(500)  # the panel writes after its debounce
    page.click("#validate")
    page.wait_for_selector("#deploy-status[data-valid=true]")
    shot(page, "modeler-properties")
    deploy_and_activate(page)
    assert page.locator("#diff .diff-changed", has_text="respond_reminder").count() >= 1

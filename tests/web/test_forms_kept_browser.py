"""In a real browser: a complaint too large to send comes back with every field the citizen typed, and a
counter shows a text field's limit while typing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import PHONE, Server
from tests.web.test_browser import PNG

pytestmark = pytest.mark.browser
NewPage = Callable[..., Any]


def test_a_complaint_over_the_size_limit_keeps_every_typed_field(server: Server, new_page: NewPage) -> None:
    limit = server.app.config["MAX_CONTENT_LENGTH"]
    server.app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    try:
        page = new_page(PHONE)
        page.goto(server.url("/lapor"))
        page.fill("#title", "Jalan berlubang di Batu Aji")
        page.fill("#body", "Lubang besar di tengah jalan, sudah dua motor jatuh minggu ini.")
        assert page.inner_text("#body + .counter") == "63 dari 10000 karakter"
        page.check("input[name=anonymous]")
        page.fill("#reporter_name", "Andi")
        big = PNG + b"\x00" * (128 * 1024)
        page.set_input_files("#attachments", {"name": "jalan.png", "mimeType": "image/png", "buffer": big})
        page.click("#complaint-form button[type=submit]")
        page.wait_for_selector("#attachments-error")
        assert "lebih besar dari 64 KB" in page.inner_text("#attachments-error")
        # the page's script puts the typing back once it has run (deferred): wait for it, as a person would
        expect(page.locator("#title")).to_have_value("Jalan berlubang di Batu Aji")
        expect(page.locator("#body")).to_have_value(re.compile(r"^Lubang besar"))
        expect(page.locator("input[name=anonymous]")).to_be_checked()
        expect(page.locator("#reporter_name")).to_have_value("Andi")
    finally:
        server.app.config["MAX_CONTENT_LENGTH"] = limit

"""Browser tests: the app on a free local port over a fresh, seeded SQLite file, driven by Playwright.

Playwright drives Debian's chromium (`/usr/bin/chromium`, installed by `.ci/run`); it never downloads a
browser. Without chromium the browser tests are skipped with the reason shown, unless
ADUAN_REQUIRE_BROWSER=1 (CI), which makes them fail. Screenshots go to ADUAN_SCREENSHOTS when it is set
(`ADUAN_SCREENSHOTS=docs/screenshots pytest tests/web` refreshes the README's pictures), else to a
temporary folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app
from api.extensions import db
from engine.directory import demo
from tests.api.live_server import serving
from tests.conftest import DEMO_PASSWORD

CHROMIUM = os.environ.get("ADUAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1440, "height": 960}


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _browser_missing()
    if reason:
        if os.environ.get("ADUAN_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Server:
    """The app served on a local port; `url("/lapor")` is a page's address."""

    app: Flask
    base: str

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("web")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(folder / "aduan.sqlite3"),
            "TESTING": True,
            "ATTACHMENTS_DIR": str(folder / "attachments"),
            "LOGIN_RATE_LIMIT": "1000/minute",
            "UPLOAD_RATE_LIMIT": "1000/minute",
            "UPLOAD_CASE_RATE_LIMIT": "1000/minute",
            "PASSWORD_CHECK_CONCURRENCY": 64,  # host-wide, shared with the other xdist workers' sign-ins
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        demo.seed(db.session(), DEMO_PASSWORD)
        db.session.commit()
    with serving(app) as url:
        yield Server(app, url)


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("ADUAN_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shot(screenshot_dir: Path) -> Callable[[Any, str], Path]:
    """`shot(page, "inbox")` saves the whole page as inbox.png."""

    def take(page: Any, name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    return take


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """`new_page()` → a page in a fresh browser context (its own cookies); `new_page(PHONE)` for a phone.

    Every page of every browser test must pass the Content-Security-Policy: a violation the browser
    reports fails the test.
    """
    contexts, violations = [], []

    def watch(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    def make(viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
        context = browser.new_context(viewport=viewport, locale="id-ID", timezone_id="Asia/Jakarta", **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", watch)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not violations, violations


def sign_in(page: Any, server: Server, username: str) -> None:
    page.goto(server.url("/masuk"))
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/masuk).*$"))

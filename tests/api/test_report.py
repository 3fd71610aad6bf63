"""The quarterly coordination-meeting report: its figures are `/stats` of the quarter, printed to a PDF.

A small city: in 2024Q1 one complaint to DLH answered after 2 working days; in 2024Q2 two to DLH (one
answered the next day, one still open and overdue), one to Dishub answered on time, one rejected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.extensions import db
from engine.db import utcnow
from engine.stats import figures as stats
from tests.api.conftest import API, Auth
from tests.engine.conftest import DISHUB, DLH, VERIFIER, Desk

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is needed")


def wib(m: int, d: int, hh: int = 9) -> datetime:
    return datetime(2024, m, d, hh, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def city(session: Session, client: FlaskClient) -> Iterator[dict[str, str]]:
    ids: dict[str, str] = {}
    with time_machine.travel(wib(2, 5), tick=False) as clock:

        def case(name: str, at: datetime, category: str) -> Desk:
            clock.move_to(at)
            ids[name] = (desk := Desk(session)).submit(category=category, title=f"Aduan {name}").case.tracking_id
            return desk

        def step(at: datetime, desk: Desk, actor: Any, name: str, **data: Any) -> None:
            clock.move_to(at)
            desk.do(actor, name, **data)

        q1 = case("Q1", wib(2, 5), "kebersihan")
        step(wib(2, 5, 10), q1, VERIFIER, "verify", decision="accept", agency="batam.dlh")
        step(wib(2, 7, 10), q1, DLH, "respond", decision="respond", message="Ditangani")
        fast = case("fast", wib(4, 15), "kebersihan")
        step(wib(4, 15, 10), fast, VERIFIER, "verify", decision="accept", agency="batam.dlh")
        step(wib(4, 16, 10), fast, DLH, "respond", decision="respond", message="Sudah diangkut")
        late = case("late", wib(5, 6), "kebersihan")
        step(wib(5, 6, 10), late, VERIFIER, "verify", decision="accept", agency="batam.dlh")
        park = case("park", wib(6, 3), "parkir")
        step(wib(6, 3, 10), park, VERIFIER, "verify", decision="accept", agency="batam.dishub")
        step(wib(6, 5, 10), park, DISHUB, "respond", decision="respond", message="Ditertibkan")
        rejected = case("rejected", wib(6, 10), "lainnya")
        step(wib(6, 11), rejected, VERIFIER, "verify", decision="reject", reason="Bukan pelayanan publik")
        clock.move_to(wib(7, 8))
        yield ids


def test_the_reports_figures_are_stats_of_the_quarter_and_the_one_before(
    client: FlaskClient, auth: Auth, city: dict[str, str]
) -> None:
    figures = stats.quarterly(db.session(), stats.Quarter.parse("2024Q2"), None, utcnow())
    for name, period in (("current", ("2024-04-01", "2024-06-30")), ("previous", ("2024-01-01", "2024-03-31"))):
        answer = client.get(f"{API}/stats", query_string={"from": period[0], "to": period[1]}, headers=auth("auditor"))
        assert json.loads(json.dumps(figures[name])) == answer.json
    assert [c["tracking_id"] for c in figures["late_cases"]] == [city["late"]]
    assert figures["current"]["counts"]["total"] == 4 and figures["previous"]["counts"]["total"] == 1


def test_aduan_report_quarterly_writes_the_pdf(app: Flask, city: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = app.test_cli_runner().invoke(args=["report", "quarterly", "--quarter", "2024Q2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Laporan Triwulan II 2024" in text
    assert city["late"] in text and city["fast"] not in text  # only the overdue case is listed
    assert "Dinas Lingkungan Hidup" in text and "Dinas Perhubungan" in text
    screenshots = os.environ.get("ADUAN_SCREENSHOTS")
    if screenshots:  # refresh the committed pictures of its pages
        subprocess.run(["pdftoppm", "-png", "-r", "70", str(out), str(Path(screenshots) / "quarterly-report")],
                       check=True)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--quarter", "2024Q5"], "2024Q2"), (["--quarter", "2024Q2", "--agency", "batam.nope"], "no agency")],
)
def test_a_bad_quarter_or_agency_is_refused(app: Flask, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "r.pdf"
    result = app.test_cli_runner().invoke(args=["report", "quarterly", *args, "--out", str(out)])
    assert result.exit_code == 2 and message in result.output and not out.exists()

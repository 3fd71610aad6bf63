"""The quarterly report (laporan triwulan) for Batam's coordination meeting, as a PDF.

The figures are `engine.stats.figures.quarterly` (the `/stats` figures of the quarter and of the one before); this
module only lays them out: an HTML page (Jinja, `templates/reports/quarterly.html`) with matplotlib charts
as PNG images, printed to PDF by WeasyPrint. Nothing here computes a KPI.
"""

from __future__ import annotations

import base64
import io
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import render_template
from matplotlib.figure import Figure  # not pyplot: no global state, no display backend
from sqlalchemy.orm import Session

from engine.directory.agencies import Agency
from engine.stats import figures as stats

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def cases_chart(current: list[dict[str, Any]], previous: list[dict[str, Any]], quarter: stats.Quarter) -> str:
    """Grouped bars: cases per agency, this quarter beside the one before."""
    before = {row["agency"]: row["counts"]["total"] for row in previous}
    agencies = sorted({row["agency"] or "-" for row in current} | {a or "-" for a in before})
    now = {row["agency"] or "-": row["counts"]["total"] for row in current}
    figure = Figure(figsize=(7, 2.4))
    axes = figure.subplots()
    positions = range(len(agencies))
    axes.bar([p - 0.2 for p in positions], [before.get(a, 0) for a in agencies], 0.4, label=str(quarter.previous))
    axes.bar([p + 0.2 for p in positions], [now.get(a, 0) for a in agencies], 0.4, label=str(quarter))
    axes.set_xticks(list(positions), [a.split(".")[-1] for a in agencies], rotation=20)
    axes.set_ylabel("aduan")
    axes.legend()
    return _png(figure)


def speed_chart(current: list[dict[str, Any]]) -> str:
    """Horizontal bars: median follow-up speed per agency (working days)."""
    rows = [r for r in current if r["agency"] and r["followup_speed"]["median"] is not None]
    figure = Figure(figsize=(7, 0.5 + 0.4 * max(len(rows), 1)))
    axes = figure.subplots()
    axes.barh([r["agency"].split(".")[-1] for r in rows], [r["followup_speed"]["median"] for r in rows])
    axes.axvline(5, color="firebrick", linestyle="--", label="batas 5 HK")
    axes.set_xlabel("hari kerja (median)")
    axes.legend()
    return _png(figure)


def context(session: Session, quarter: stats.Quarter, agency: str | None, now: datetime) -> dict[str, Any]:
    """Everything the template shows: the figures, the change against the previous quarter, the charts."""
    figures = stats.quarterly(session, quarter, agency, now)
    current, previous = figures["current"], figures["previous"]
    names = {a.code: a.name for a in session.scalars(sa.select(Agency))}
    before = {row["agency"]: row for row in previous["ranking"]}
    return {
        "quarter": quarter,
        "roman": ROMAN[quarter.number],
        "agency": agency,
        "names": names,
        "current": current,
        "previous": previous,
        "previous_ranking": before,
        "late_cases": figures["late_cases"],
        "generated_at": now,
        "cases_chart": cases_chart(current["by_agency"], previous["by_agency"], quarter),
        "speed_chart": speed_chart(current["by_agency"]),
    }


def render_pdf(session: Session, quarter: stats.Quarter, agency: str | None, now: datetime) -> bytes:
    """The report as PDF bytes (call inside a Flask app context: the template is the app's)."""
    from weasyprint import HTML  # imported here: slow to load, needed only for this document

    html = render_template("reports/quarterly.html", **context(session, quarter, agency, now))
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]

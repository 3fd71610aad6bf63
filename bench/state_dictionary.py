"""Build the preset zlib dictionary a case's state is compressed with (`engine/processes/zdict/`).

`python -m bench.state_dictionary OUT` runs two synthetic complaints of the default lifecycle through the
engine on a scratch SQLite file (a request for information; the common path with a reporter not
satisfied once) and writes two of the state texts they stored (`build`); `--sizes` lists every state.
A dictionary is never changed once shipped: a state names the one it was compressed with (its Adler-32
in the zlib header); a new one is a new file.
"""

from __future__ import annotations

import sys
import tempfile
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.engine_steps import T0, frozen
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord, TaskStatus
from engine.processes import serialization

VERIFIER = Actor("verifier", "verifier", "batam.diskominfo")
DLH = Actor("dlh", "officer", "batam.dlh")
LIMIT = 24 * 1024


def _task(session: Any, case_id: int, name: str) -> str:
    query = sa.select(TaskRecord.id).where(
        TaskRecord.case_id == case_id, TaskRecord.state == TaskStatus.READY, TaskRecord.name == name
    )
    return str(session.scalar(query))


def _paths(session: Any) -> None:
    def start(**fields: Any) -> int:
        sub = lifecycle.Submission(
            title="Jalan berlubang di depan sekolah",
            body="Lubang besar di jalan depan SD sejak dua minggu, membahayakan anak-anak.",
            category="kebersihan",
            reporter={"name": "Warga", "phone": "+62 812 0000 0000"},
            **fields,
        )
        return lifecycle.start_case(session, sub).case.id

    def reply(case_id: int, **answer: Any) -> None:
        lifecycle.reporter_reply(session, session.get_one(Case, case_id), answer)

    asked = start()
    lifecycle.complete_task(
        session, VERIFIER, _task(session, asked, "verify"), {"decision": "need_info", "reason": "Di mana tepatnya?"}
    )
    reply(asked, message="Jl. Sudirman no. 5")
    common = start()
    lifecycle.complete_task(
        session, VERIFIER, _task(session, common, "verify"), {"decision": "accept", "agency": "batam.dlh"}
    )
    answer = {"decision": "respond", "message": "Sudah kami tangani.", "final": True}
    lifecycle.complete_task(session, DLH, _task(session, common, "respond"), answer)
    reply(common, message="Belum beres", satisfied=False)
    lifecycle.complete_task(session, DLH, _task(session, common, "respond"), answer)
    reply(common, message="Terima kasih", satisfied=True, rating=5)


def states() -> list[bytes]:
    """The state texts the synthetic complaints stored, in the order they were written."""
    from flask_migrate import upgrade

    from api import create_app
    from api.extensions import db
    from engine.directory import demo

    texts: list[bytes] = []
    original = serialization.state_text

    def capture(wf: Any) -> bytes:
        text = original(wf)
        texts.append(text)
        return text

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(tmp) / "zdict.sqlite3")})
        serialization.state_text = capture
        try:
            with app.app_context(), frozen(T0 + timedelta(days=3, hours=5)):
                upgrade()
                session = db.session()
                demo.seed(session, "zdict-password")
                session.commit()
                _paths(session)
                db.session.remove()
                db.engine.dispose()
        finally:
            serialization.state_text = original
    return texts


def build() -> bytes:
    """For format 2 states (`state-2.bin`): an intake's state, one asking the reporter, one waiting for the
    follow-up and a closed case's, the closed one last (nearest, cheapest to refer to), cut to LIMIT from the
    start. Measured against a second run's nine states (1 December 2026): 5 384 B in all, the closed case's
    334 B, against 6 048 B / 437 B for the recipe of `state-1.bin` (a closed case, then one waiting for the
    follow-up) and 7 857 B / 634 B with `state-1.bin` itself, which was built from format 1 states."""
    texts = states()
    common = texts[3:]  # submitted, follow-up, waiting for the reply, follow-up again, waiting, closed
    return (texts[0] + texts[1] + common[1] + common[5])[-LIMIT:]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sizes"]:
        for n, text in enumerate(states()):
            print(n, len(text), len(zlib.compress(text, 1)))
    else:
        Path(sys.argv[1]).write_bytes(build())

"""`aduan bench storage`: bytes per closed case on PostgreSQL as written (every table and index, no VACUUM).

--cases complaints go the common way through the engine (filed, verified and routed, answered, the
reporter satisfied), each command its own transaction as in service; then the size of every table of the
schema (heap, TOAST and indexes: `pg_total_relation_size`) is divided by the number of cases. Nothing is
vacuumed by the bench (autovacuum may run, as it would in service). Target: ≤ 10 KB per closed case.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa

from bench import bench
from bench.engine_steps import T0, fresh_postgres, frozen
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.case import Case

VERIFIER = Actor("verifier", "verifier", "batam.diskominfo")
DLH = Actor("dlh", "officer", "batam.dlh")


SENTENCES = (
    "Sampah di depan pasar belum diangkut lima hari, baunya sampai ke rumah warga.",
    "Truk pengangkut terakhir lewat hari Senin dan sejak itu tidak ada petugas yang datang.",
    "Anak-anak kami bermain di dekat tumpukan itu dan sudah ada yang terkena gatal-gatal.",
    "Kami sudah melapor ke ketua RT dua kali, tetapi jawabannya menunggu jadwal dari dinas.",
    "Saat hujan air comberan meluap ke jalan dan pengendara motor hampir tergelincir.",
    "Lalat dan tikus makin banyak, pedagang sayur mengeluh pembeli enggan mampir.",
    "Mohon dinas terkait segera mengirim armada dan menambah tong sampah di ujung gang.",
    "Lokasinya persis di samping halte bus, di seberang masjid yang bercat hijau.",
    "Warga bersedia gotong royong membersihkan saluran jika ada alat dan kantong sampah.",
    "Foto kondisi terakhir kami ambil tadi pagi sekitar pukul tujuh.",
)
SHORT_BODY = SENTENCES[0]  # the default: one sentence


def body_of(chars: int, seed: int) -> str:
    """A complaint body of about `chars` characters (at least one sentence): sentences in a seeded order,
    as a citizen writes them (prose, not one phrase repeated, which compresses far better than real text)."""
    if chars <= len(SHORT_BODY):
        return SHORT_BODY
    rng, parts, length = random.Random(seed), [], 0
    while length < chars:
        sentence = rng.choice(SENTENCES)
        parts.append(sentence)
        length += len(sentence) + 1
    return " ".join(parts)[:chars]


def close_one(session: Any, body: str = SHORT_BODY) -> None:
    """One complaint the common way: 4 commands (start, verify, respond, the reporter's satisfied reply)."""
    from engine.cases.tasks import TaskRecord, TaskStatus

    def open_task(case_id: int) -> str:
        query = sa.select(TaskRecord.id).where(TaskRecord.case_id == case_id, TaskRecord.state == TaskStatus.READY)
        return str(session.scalar(query))

    sub = lifecycle.Submission(
        title="Sampah menumpuk di Jl. Ahmad Yani",
        body=body,
        category="kebersihan",
        reporter={"name": "Warga", "email": "warga@example.org"},
    )
    case_id = lifecycle.start_case(session, sub).case.id
    lifecycle.complete_task(session, VERIFIER, open_task(case_id), {"decision": "accept", "agency": "batam.dlh"})
    answer = {"decision": "respond", "message": "Sampah sudah diangkut pagi ini.", "final": True}
    lifecycle.complete_task(session, DLH, open_task(case_id), answer)
    case = session.get_one(Case, case_id)
    lifecycle.reporter_reply(session, case, {"message": "Terima kasih", "satisfied": True, "rating": 5})
    session.expunge_all()


@contextmanager
def seeded(url: str) -> Iterator[Any]:
    """A session on `url` migrated and seeded with the demo directory, the clock frozen at the bench's T0."""
    from flask_migrate import upgrade

    from api import create_app
    from api.extensions import db
    from engine.directory import demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), frozen(T0):
        upgrade()
        session = db.session()
        demo.seed(session, "bench-password")
        session.commit()
        try:
            yield session
        finally:
            db.session.remove()
            db.engine.dispose()


def run_storage(url: str, cases: int, body_chars: int = 0) -> dict[str, float]:
    with seeded(url) as session:
        empty = _sizes(session)
        for n in range(cases):
            close_one(session, body_of(body_chars, n))
        closed = session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.status == "closed"))
        assert closed == cases, f"{closed} of {cases} cases closed"
        return {name: (size - empty.get(name, 0)) / cases for name, size in _sizes(session).items()}


def _sizes(session: Any) -> dict[str, int]:
    query = """
        select c.relname, pg_total_relation_size(c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relkind = 'r'
    """
    return {name: int(size) for name, size in session.execute(sa.text(query))}


BOUNDED = "stats_delta"  # engine.stats.rollup: a queue between two refreshes, its size set by their cadence


@bench.command("storage")
@click.option("--cases", default=2000, show_default=True, help="closed complaints to write")
@click.option(
    "--postgres-url",
    default="postgresql://postgres@127.0.0.1:5432/aduan_bench",
    show_default=True,
    help="a scratch database: it is dropped and re-created",
)
@click.option(
    "--body-chars",
    default=0,
    show_default=True,
    help=f"length of each complaint's body (0: one sentence, {len(SHORT_BODY)} characters)",
)
def storage_bench(cases: int, postgres_url: str, body_chars: int) -> None:
    """Bytes per closed case on PostgreSQL as written: every table with its TOAST and indexes."""
    sizes = run_storage(fresh_postgres(postgres_url), cases, body_chars)
    log = sizes.pop(BOUNDED, 0.0)
    total = sum(sizes.values())
    body = len(body_of(body_chars, 0))
    click.echo(
        f"{cases} closed cases on PostgreSQL, as written (no VACUUM), bodies of {body} characters; bytes per case"
    )
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        if size:
            click.echo(f"  {name:<20}{size:>10,.0f}")
    verdict = "met" if total <= 10_240 else "MISSED"
    click.echo(f"  {'all tables':<20}{total:>10,.0f}   target ≤ 10 KB: {verdict}")
    click.echo(
        f"  {BOUNDED:<20}{log:>10,.0f}   not per case: the figures' change log, emptied by each refresh of their "
        f"snapshot (at most about twice STATS_REFRESH_CHANGES entries; none ran here); with it {total + log:,.0f}"
    )

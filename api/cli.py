"""The `aduan` command line: a Flask CLI group (`flask --app api …` works too)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import Session

from api.extensions import db
from engine import demo, directory, lifecycle, processes, users
from engine.access import Actor, Role
from engine.categories import Category
from engine.db import Base
from engine.directory import Agency
from engine.errors import EngineError
from engine.users import User


def _create_app() -> Flask:
    from api import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Aduan: complaint case management on a BPMN engine."""


def _fail(exc: EngineError) -> None:
    details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.errors.items())
    raise click.ClickException(f"{exc.message}{' — ' + details if details else ''}")


@contextmanager
def committed() -> Iterator[Session]:
    """The session for one CLI command: committed at the end, rolled back into a clean error on EngineError."""
    session = db.session()
    try:
        yield session
        session.commit()
    except EngineError as exc:
        session.rollback()
        _fail(exc)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--timer-interval", default=5.0, show_default=True, help="seconds between in-process timer sweeps")
@with_appcontext
def serve(host: str, port: int, timer_interval: float) -> None:
    """Run the API with timers in-process (the embedded default; migrates and deploys the default flow)."""
    from flask_migrate import upgrade

    from workers.scheduler import start_in_process

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    upgrade()
    processes.deploy_defaults(db.session())
    db.session().commit()
    start_in_process(app, timer_interval)
    from waitress import serve as waitress_serve

    click.echo(f"Aduan is running: pages at http://{host}:{port}/ , API at http://{host}:{port}/api/v1")
    click.echo(f"database {db.engine.url.render_as_string()}; timers in-process every {timer_interval:g} s")
    waitress_serve(app, host=host, port=port, threads=8, ident="aduan")


@click.group("agencies")
def agencies() -> None:
    """Manage the agency tree."""


@agencies.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--parent", default=None, help="parent agency code (CODE must be PARENT.<name>)")
@click.option("--desk", is_flag=True, help="this agency hosts the verifiers of its jurisdiction")
@with_appcontext
def agencies_create(code: str, name: str, parent: str | None, desk: bool) -> None:
    with committed() as session:
        directory.create_agency(session, code, name, parent, desk)
    click.echo(f"agency {code} created")


@click.group("users")
def users_group() -> None:
    """Manage staff and reporter accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--agency", default=None, help="agency code (required for verifiers, officers and supervisors)")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="8 to 200 characters")
@click.option("--name", default="", help="display name (default: USERNAME)")
@click.option("--email", default=None)
@click.option("--phone", default=None)
@with_appcontext
def users_create(
    username: str, role: str, agency: str | None, password: str, name: str, email: str | None, phone: str | None
) -> None:
    """Add the user USERNAME (prompts for the password when --password is not given)."""
    with committed() as session:
        users.create_user(session, username, role, password, agency, name, email, phone)
    click.echo(f"user {username} created ({role}{', ' + agency if agency else ''})")


@click.group("seed")
def seed_group() -> None:
    """Load sample data."""


DEMO_ROWS: tuple[tuple[str, type[Base], Sequence[tuple[Any, ...]]], ...] = (
    ("agencies", Agency, demo.AGENCIES),
    ("categories", Category, demo.CATEGORIES),
    ("users", User, demo.USERS),
)


def _absent(session: Session, model: type[Base], rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """Keys (first items) of the demo `rows` that have no row of `model` yet."""
    return [row[0] for row in rows if session.get(model, row[0]) is None]


@seed_group.command("demo")
@click.option("--password", required=True, help="password of every demo user (8 to 200 characters)")
@with_appcontext
def seed_demo(password: str) -> None:
    """Create whatever part of the demo directory (Kota Batam) is missing; existing rows are left as they are.

    The database is migrated first, so this works on a fresh installation.
    """
    from flask_migrate import upgrade

    upgrade()
    session = db.session()
    created = {kind: _absent(session, model, rows) for kind, model, rows in DEMO_ROWS}
    try:
        demo.seed(session, password)
        session.commit()
    except EngineError as exc:
        session.rollback()
        _fail(exc)
    for kind, keys in created.items():
        click.echo(f"{kind}: {', '.join(keys) + ' created' if keys else 'all present'}")
    click.echo("demo directory ready; the default process is deployed")


@click.group("processes")
def processes_group() -> None:
    """Deploy, list and activate process versions; migrate running cases."""


def _fail_findings(exc: EngineError) -> NoReturn:
    """An engine error with each finding on its own line."""
    lines = [f"  {name}: {message}" for name, messages in exc.errors.items() for message in messages]
    raise click.ClickException("\n".join([exc.message, *lines]))


def _describe(deployment: processes.Deployment) -> str:
    v = deployment.version
    state = "deployed" if deployment.created else "unchanged (the same files)"
    return f"{v.key} ({v.kind}) version {v.version} {state}{', active' if v.active else ''} ({v.hash[:12]})"


@processes_group.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "deployed_by", default="cli", show_default=True)
@with_appcontext
def processes_deploy(files: tuple[Path, ...], deployed_by: str) -> None:
    """Deploy FILES as the next version: a lifecycle (.bpmn with its .dmn and form .json files) or one .dmn
    decision on its own. With no FILES, the shipped bpmn/ folder (its decisions/ first, each on its own)."""
    session = db.session()
    try:
        if files:
            sources = {f.name: f.read_text(encoding="utf-8") for f in files}
            done = [processes.deploy_files(session, sources, deployed_by)]
        else:
            done = processes.deploy_directory(session, processes.DEFAULT_BPMN_DIR, deployed_by)
        session.commit()
    except EngineError as exc:
        session.rollback()
        _fail_findings(exc)
    for deployment in done:
        click.echo(_describe(deployment))


@processes_group.command("list")
@with_appcontext
def processes_list() -> None:
    """Every process and shared decision with its active version and all versions."""
    for summary in processes.keys(db.session()):
        versions = ", ".join(map(str, summary.versions))
        click.echo(f"{summary.key} ({summary.kind}): active {summary.version or '-'}; versions {versions}")


@processes_group.command("activate")
@click.argument("key")
@click.argument("version", type=int)
@click.option("--by", "actor", default="cli", show_default=True)
@with_appcontext
def processes_activate(key: str, version: int, actor: str) -> None:
    """Make VERSION of KEY the active one (new cases start on it): an upgrade or a rollback."""
    session = db.session()
    try:
        activated = processes.activate(session, key, version, actor)
        session.commit()
    except EngineError as exc:
        session.rollback()
        _fail_findings(exc)
    click.echo(f"{activated.key} version {activated.version} active")


@processes_group.command("migrate")
@click.argument("key")
@click.argument("version", type=int)
@click.option("--dry-run", is_flag=True, help="report only; change nothing")
@click.option("--status", "statuses", multiple=True, help="only cases in this status (repeatable)")
@click.option("--limit", default=500, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--by", "actor", default="cli", show_default=True)
@with_appcontext
def processes_migrate(key: str, version: int, dry_run: bool, statuses: tuple[str, ...], limit: int, actor: str) -> None:
    """Move the running cases of KEY to VERSION, each in its own transaction and only when safe."""
    session = db.session()
    owner = Actor(username=actor, role=Role.PROCESS_OWNER)
    try:
        reports = lifecycle.migrate_cases(
            session, owner, key, version, dry_run, list(statuses), None, limit, current_app.extensions["aduan.settings"]
        )
    except EngineError as exc:
        session.rollback()
        _fail_findings(exc)
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.result] = counts.get(report.result, 0) + 1
        click.echo(f"{report.tracking_id} ({report.status}, version {report.from_version}): {report.result}")
        for reason in report.reasons:
            click.echo(f"  - {reason}")
    summary = ", ".join(f"{n} {result}" for result, n in sorted(counts.items())) or "no running cases to move"
    click.echo(f"{'dry run: ' if dry_run else ''}{summary}")


@click.group("timers")
def timers_group() -> None:
    """Fire SLA timers."""


@timers_group.command("run-due")
@with_appcontext
def timers_run_due() -> None:
    """Fire every timer due now, synchronously (and, with no REDIS_URL, deliver the pending outbox)."""
    from workers import scheduler
    from workers.queue import InlineDispatcher

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    fired = scheduler.sweep_timers(app, InlineDispatcher())
    click.echo(f"fired timers of {fired} case(s)")
    if not app.config.get("REDIS_URL"):
        click.echo(f"delivered {scheduler.relay_outbox(app, InlineDispatcher())} outbox message(s)")


@click.command("worker")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
@click.option("--name", default=None, help="worker name (default: generated)")
@with_appcontext
def worker(burst: bool, name: str | None) -> None:
    """Run an rq worker on the timer, notification and webhook queues (needs REDIS_URL)."""
    from workers.worker import work

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without Redis, `aduan serve` runs the jobs in-process")
    work(app, burst=burst, name=name)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="one pass, then exit")
@click.option("--interval", type=float, default=None, help="seconds between passes (default SCHEDULER_INTERVAL)")
@with_appcontext
def scheduler_command(once: bool, interval: float | None) -> None:
    """Hand due timers and pending outbox rows to the workers (or run them here when there is no REDIS_URL)."""
    import threading

    from workers import scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        result = scheduler.run_once(app)
        click.echo(f"due cases: {result.timers}; outbox rows: {result.outbox}")
        return
    scheduler.run(app, interval or float(app.config["SCHEDULER_INTERVAL"]), threading.Event())


@click.group("webhooks")
def webhooks_group() -> None:
    """Outbound webhooks to integrated agency systems."""


@webhooks_group.command("add")
@click.argument("agency")
@click.argument("url")
@click.option("--secret", default=None, help="HMAC secret of this endpoint (default: WEBHOOK_SECRET)")
@with_appcontext
def webhooks_add(agency: str, url: str, secret: str | None) -> None:
    """Send the events of AGENCY's cases (its subtree) to URL."""
    from engine import webhooks

    with committed() as session:
        endpoint = webhooks.add_endpoint(session, agency, url, secret)
    click.echo(f"webhook {endpoint.id}: {agency} → {url}")


@click.group("audit")
def audit_group() -> None:
    """Check the audit trail."""


@audit_group.command("verify")
@click.argument("tracking_id", required=False)
@with_appcontext
def audit_verify(tracking_id: str | None) -> None:
    """Verify the hash chain of TRACKING_ID, or of every case; print each case's first broken link.

    Exit status 1 when any chain is broken (2 for an unknown TRACKING_ID).
    """
    from engine import audit
    from engine.cases import Case

    session = db.session()
    if tracking_id is None:
        results = audit.verify_cases(session)
    else:
        case = session.scalars(sa.select(Case).where(Case.tracking_id == tracking_id)).first()
        if case is None:
            raise click.BadParameter(f"no complaint {tracking_id!r}", param_hint="TRACKING_ID")
        results = iter([(case.tracking_id, audit.verify_case(session, case))])
    checked = broken = 0
    for checked, (tid, link) in enumerate(results, start=1):  # noqa: B007  (the count is used below)
        if link is not None:
            broken += 1
            click.echo(f"{tid}: chain broken at seq {link.seq}: {link.reason}")
    click.echo(f"{checked} case(s) verified, {broken} broken")
    if broken:
        raise click.exceptions.Exit(1)


def register(app: Flask) -> None:
    from bench import bench, load_subcommands

    load_subcommands()
    for command in (bench, serve, agencies, users_group, seed_group, processes_group, timers_group, worker):
        app.cli.add_command(command)
    for command in (scheduler_command, webhooks_group, audit_group):
        app.cli.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

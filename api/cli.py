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
from engine.cases import lifecycle
from engine.cases.access import Actor, Role
from engine.db import Base
from engine.directory import agencies as directory
from engine.directory import demo, users
from engine.directory.agencies import Agency
from engine.directory.categories import Category
from engine.directory.users import User
from engine.errors import EngineError, InvalidProcess
from engine.places import Area, batam
from engine.processes import registry as processes
from engine.processes import validation


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
    start_in_process(app.extensions["aduan.host"], timer_interval)
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


@agencies.command("external")
@click.argument("code")
@click.option("--off", is_flag=True, help="the agency answers in Aduan again")
@with_appcontext
def agencies_external(code: str, off: bool) -> None:
    """Mark agency CODE as answering through its own integrated system (cases are handed over to it)."""
    with committed() as session:
        directory.set_external(session, code, not off)
    click.echo(f"agency {code} {'answers in Aduan' if off else 'is external: its cases are handed to its system'}")


@click.group("clients")
def clients_group() -> None:
    """Service accounts of integrated agency systems (OAuth2 client credentials)."""


@clients_group.command("create")
@click.option("--agency", required=True, help="the agency whose subtree the system answers for")
@click.option("--name", default="", help="what the system is (default: the agency code)")
@with_appcontext
def clients_create(agency: str, name: str) -> None:
    """Create a client; prints its id and its secret (shown only now: store it in the agency's system)."""
    from engine.channels import clients

    with committed() as session:
        client, secret = clients.create_client(session, agency, name)
    click.echo(f"client_id: {client.client_id}")
    click.echo(f"client_secret: {secret}")


@click.group("open311")
def open311_group() -> None:
    """Open311 GeoReport v2: API keys of civic apps."""


@open311_group.command("key")
@click.argument("name")
@with_appcontext
def open311_key(name: str) -> None:
    """Create the API key of the app NAME; the key is printed last (shown only now)."""
    from engine.channels import open311

    with committed() as session:
        key = open311.create_key(session, name)
    click.echo(f"Open311 key for {name} (its requests are filed as open311:{name}):")
    click.echo(key)


@clients_group.command("revoke")
@click.argument("client_id")
@with_appcontext
def clients_revoke(client_id: str) -> None:
    """Deactivate CLIENT_ID: its tokens are refused from now on."""
    from engine.channels import clients

    with committed() as session:
        clients.revoke(session, client_id)
    click.echo(f"client {client_id} revoked")


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
    ("areas", Area, batam.KECAMATAN),
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


def _read_sources(files: tuple[Path, ...]) -> dict[str, str]:
    """The files as text by base name (XML in its declared encoding), as the HTTP upload reads them."""
    findings, sources = validation.Findings(), {}
    for path in files:
        text = validation.decode(path.name, path.read_bytes(), findings)
        if text is not None:
            sources[path.name] = text
    findings.raise_if_any("invalid upload")
    return sources


@processes_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def processes_validate(files: tuple[Path, ...]) -> None:
    """Check FILES as a deploy would, storing nothing; each finding on a line, exit status 1 if any."""
    try:
        found = processes.validate_files(db.session(), _read_sources(files))
    except InvalidProcess as exc:
        found = validation.findings_of(exc)
    db.session.rollback()
    for finding in found:
        click.echo(f"{finding.file}: {finding}")
    if found:
        click.echo(f"{len(found)} finding{'s' if len(found) > 1 else ''}", err=True)
        sys.exit(1)
    click.echo("valid: no findings")


@processes_group.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "deployed_by", default="cli", show_default=True)
@click.option("--no-activate", is_flag=True, help="store the version without activating it")
@with_appcontext
def processes_deploy(files: tuple[Path, ...], deployed_by: str, no_activate: bool) -> None:
    """Deploy FILES as the next version: a lifecycle (.bpmn with its .dmn and form .json files) or one .dmn
    decision on its own. With no FILES, the shipped bpmn/ folder (its decisions/ first, each on its own)."""
    session = db.session()
    try:
        if files:
            sources = _read_sources(files)
            done = [processes.deploy_files(session, sources, deployed_by, activate=not no_activate)]
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
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW", help="an element renamed in VERSION (repeatable)")
@with_appcontext
def processes_migrate(
    key: str, version: int, dry_run: bool, statuses: tuple[str, ...], limit: int, actor: str, pairs: tuple[str, ...]
) -> None:
    """Move the running cases of KEY to VERSION, each in its own transaction and only when safe.

    Each case's moved deadlines are listed; the exit status is 1 when any case was refused."""
    session = db.session()
    owner = Actor(username=actor, role=Role.PROCESS_OWNER)
    mapping = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    if len(mapping) != len(pairs):
        raise click.BadParameter("each --map is OLD=NEW", param_hint="--map")
    try:
        reports = lifecycle.migrate_cases(
            session, owner, key, version, dry_run, list(statuses), None, limit,
            current_app.extensions["aduan.settings"], mapping,
        )  # fmt: skip
    except EngineError as exc:
        session.rollback()
        _fail_findings(exc)
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.result] = counts.get(report.result, 0) + 1
        click.echo(f"{report.tracking_id} ({report.status}, version {report.from_version}): {report.result}")
        for reason in report.reasons:
            click.echo(f"  - {reason}")
        for moved in report.deadlines:
            click.echo(f"  deadline of {moved['name']}: {moved['from']} -> {moved['to']}")
    summary = ", ".join(f"{n} {result}" for result, n in sorted(counts.items())) or "no running cases to move"
    click.echo(f"{'dry run: ' if dry_run else ''}{summary}")
    if counts.get("refused"):
        sys.exit(1)


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
    fired = scheduler.sweep_timers(app.extensions["aduan.host"], InlineDispatcher())
    click.echo(f"fired timers of {fired} case(s)")
    if not app.config.get("REDIS_URL"):
        click.echo(
            f"delivered {scheduler.relay_outbox(app.extensions['aduan.host'], InlineDispatcher())} outbox message(s)"
        )


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
    work(app.extensions["aduan.host"], burst=burst, name=name)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="one pass, then exit")
@click.option("--interval", type=float, default=None, help="seconds between passes (default SCHEDULER_INTERVAL)")
@with_appcontext
def scheduler_command(once: bool, interval: float | None) -> None:
    """Hand due timers and pending outbox rows to the workers (or run them here when there is no REDIS_URL);
    delete expired sessions and old idempotency keys every HOUSEKEEPING_INTERVAL seconds."""
    import threading

    from workers import housekeeping, scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        result = scheduler.run_once(app.extensions["aduan.host"])
        pruned = housekeeping.prune(app.extensions["aduan.host"])
        click.echo(f"due cases: {result.timers}; outbox rows: {result.outbox}; expired rows deleted: {pruned.total}")
        return
    scheduler.run(app.extensions["aduan.host"], interval or float(app.config["SCHEDULER_INTERVAL"]), threading.Event())


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
    from engine.notify import webhooks

    with committed() as session:
        endpoint = webhooks.add_endpoint(session, agency, url, secret)
    click.echo(f"webhook {endpoint.id}: {agency} → {url}")


@click.group("mail")
def mail_group() -> None:
    """The e-mail channel: complaints and replies sent to the intake address."""


@mail_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
@click.option("--lmtp", is_flag=True, help="speak LMTP (a local transport from Postfix) instead of SMTP")
@with_appcontext
def mail_serve(host: str, port: int, lmtp: bool) -> None:
    """Receive mail for MAIL_INTAKE_ADDRESS: a new mail opens a complaint, a reply threads into its case."""
    import threading

    from workers import mail_intake

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        controller = mail_intake.start(app.extensions["aduan.host"], host, port, lmtp)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    addresses = ", ".join(sorted(mail_intake.intake_addresses(app.config)))
    click.echo(f"receiving mail for {addresses} on {host}:{port} ({'LMTP' if lmtp else 'SMTP'})")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@click.group("audit")
def audit_group() -> None:
    """Check the audit trail."""


def _checkpoint_key(key_file: str | None) -> bytes:
    """The checkpoint HMAC key: --key-file, else AUDIT_CHECKPOINT_KEY_FILE, else AUDIT_CHECKPOINT_KEY.

    Never the database's: whoever can rewrite the events must not be able to re-sign the heads.
    """
    path = key_file or current_app.config.get("AUDIT_CHECKPOINT_KEY_FILE")
    if path:
        return Path(path).read_bytes().strip()
    key = current_app.config.get("AUDIT_CHECKPOINT_KEY")
    if not key:
        raise click.UsageError("set ADUAN_AUDIT_CHECKPOINT_KEY or ADUAN_AUDIT_CHECKPOINT_KEY_FILE, or pass --key-file")
    return str(key).encode()


KEY_FILE = click.option("--key-file", type=click.Path(exists=True, dir_okay=False), help="file holding the HMAC key")


@audit_group.command("checkpoint")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="directory of checkpoints.jsonl")
@KEY_FILE
@with_appcontext
def audit_checkpoint(out: str, key_file: str | None) -> None:
    """Sign the head of every case's chain and append it to OUT/checkpoints.jsonl (the operator's daily job)."""
    from engine.audit import checkpoints as audit_checkpoints

    try:
        record = audit_checkpoints.write_checkpoint(db.session(), Path(out), _checkpoint_key(key_file))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"checkpoint {record['at']}: {len(record['heads'])} chain head(s) signed into {out}")


@audit_group.command("verify")
@click.argument("tracking_id", required=False)
@click.option("--checkpoints", type=click.Path(file_okay=False, exists=True), help="also compare with these")
@KEY_FILE
@with_appcontext
def audit_verify(tracking_id: str | None, checkpoints: str | None, key_file: str | None) -> None:
    """Verify the hash chain of TRACKING_ID, or of every case; print each case's first broken link.

    With --checkpoints DIR, every case is also compared with the signed chain heads in DIR, which finds a
    rewrite whose hashes were recomputed. Exit status 1 when anything is broken (2 for an unknown TRACKING_ID).
    """
    from engine.audit import chain as audit
    from engine.cases.case import Case

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
    if checkpoints is not None:
        broken += _verify_checkpoints(Path(checkpoints), _checkpoint_key(key_file))
    if broken:
        raise click.exceptions.Exit(1)


def _verify_checkpoints(directory: Path, key: bytes) -> int:
    from engine.audit import checkpoints as audit_checkpoints

    try:
        findings = audit_checkpoints.check_against(db.session(), directory, key)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for finding in findings:
        click.echo(f"{finding.tracking_id or 'checkpoints'}: {finding.reason}")
    click.echo(f"checkpoints: {len(findings)} finding(s)")
    return len(findings)


@click.group("report")
def report_group() -> None:
    """Documents for meetings."""


@report_group.command("quarterly")
@click.option("--quarter", "quarter_text", required=True, help="the quarter (triwulan), e.g. 2024Q2")
@click.option("--agency", default=None, help="one agency's subtree (default: the whole city)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="the PDF to write")
@with_appcontext
def report_quarterly(quarter_text: str, agency: str | None, out: Path) -> None:
    """The coordination meeting's quarterly report (PDF): city and agency figures against the previous quarter."""
    from api.reports import render_pdf
    from engine.db import utcnow
    from engine.stats.figures import Quarter

    try:
        quarter = Quarter.parse(quarter_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--quarter") from exc
    if agency is not None and db.session.get(Agency, agency) is None:
        raise click.BadParameter(f"no agency {agency!r}", param_hint="--agency")
    out.write_bytes(render_pdf(db.session(), quarter, agency, utcnow()))
    click.echo(f"{out}: quarterly report {quarter}{' for ' + agency if agency else ''}")


@click.group("stats")
def stats_group() -> None:
    """The figures' snapshot (PostgreSQL): `/stats` for everything and the public figures read it."""


@stats_group.command("refresh")
@with_appcontext
def stats_refresh() -> None:
    """Rebuild the snapshot now (the scheduler does it every STATS_REFRESH_INTERVAL seconds)."""
    from engine.stats import rollup

    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("the figures' snapshot is kept on PostgreSQL only (SQLite computes them live)")
    snapshot = rollup.refresh(db.engine)
    if snapshot is None:
        raise click.ClickException("another refresh is running; try again when it ends")
    seconds = db.session.get(rollup.StatsSnapshot, snapshot)
    click.echo(f"snapshot {snapshot} in {seconds.seconds:.1f} s" if seconds else f"snapshot {snapshot}")


def register(app: Flask) -> None:
    from bench import bench, load_subcommands

    load_subcommands()
    for command in (bench, serve, agencies, users_group, seed_group, processes_group, timers_group, worker):
        app.cli.add_command(command)
    for command in (
        scheduler_command,
        webhooks_group,
        audit_group,
        mail_group,
        clients_group,
        open311_group,
        report_group,
        stats_group,
    ):
        app.cli.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

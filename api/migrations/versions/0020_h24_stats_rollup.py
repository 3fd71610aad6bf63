"""stats: a snapshot of the figures kept by a refresh, and a log of the case changes since (PostgreSQL)

Revision ID: h24_stats_rollup
Revises: h23_sparse_indexes
Create Date: 2026-11-30

`/stats` for everything (auditors) and the public figures read a snapshot plus the changes since it instead
of every case (`engine.stats.rollup`): at 1 000 000 cases the live query took 5.2 s.

* `stats_snapshot`, `stats_cell`: what `aduan stats refresh` (and the scheduler, every
  STATS_REFRESH_INTERVAL seconds) writes; empty until the first refresh (the figures are computed live
  until then).
* `stats_delta` and the trigger `stats_log_change` on `complaint` (PostgreSQL only): every insert, update
  or delete of a case logs the figures' columns as they were, the earliest deadline of its open tasks, and
  the writing transaction. One row a command (about 130 bytes) until the refresh after next drops it.
  The open tasks are looked up by the case alone (`FILTER` on the state): with `state = 'ready'` in the
  condition PostgreSQL may walk the inbox index (state first) over every open task instead, which cost
  0.6-0.8 ms of database CPU a command in `aduan bench http` (0.1-0.2 ms as written).
* `stats_window(values, half)`: the sorted values ranked within `half` of their median;
  `stats_window_median(window, n, half)`: their median (as `percentile_cont(0.5)`: lower + 0.5 * (upper - lower));
  `stats_kth(window, came, went, k)`: the k-th smallest of a window with values added and taken out.
* `ix_complaint_followup_due`: the cases still waiting for a first follow-up, by its deadline (whose
  "decided" count changes when the deadline passes). Both backends.
"""

import sqlalchemy as sa
from alembic import op

revision = "h24_stats_rollup"
down_revision = "h23_sparse_indexes"
branch_labels = None
depends_on = None

FACTS = (
    "status", "confidential", "agency", "category", "kind", "channel", "created_on", "area", "verified_at",
    "first_follow_up_at", "first_follow_up_due_at", "followup_working_days", "verification_working_days",
    "disposition_count", "rerouted_count", "rating", "escalated",
)  # fmt: skip
WAITING = sa.text("first_follow_up_at IS NULL AND first_follow_up_due_at IS NOT NULL")
COUNTS = (
    "cases", "dispositioned", "completed", "followed_up", "on_time", "followup_decided", "verified",
    "dispositions", "rerouted", "rated", "backlog", "overdue", "escalated",
)  # fmt: skip

LOG_CHANGE = f"""
CREATE FUNCTION stats_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO stats_delta (xid, case_id, existed)
        VALUES (pg_current_xact_id()::text::bigint, NEW.id, false);
    ELSE
        INSERT INTO stats_delta (xid, case_id, existed, {", ".join(FACTS)}, min_due)
        SELECT pg_current_xact_id()::text::bigint, OLD.id, true, {", ".join(f"OLD.{f}" for f in FACTS)},
               min(t.due_at) FILTER (WHERE t.state = 'ready')
        FROM task t WHERE t.case_id = OLD.id;
    END IF;
    RETURN NULL;
END
$$
"""
WINDOW = """
CREATE FUNCTION stats_window(vals double precision[], half integer) RETURNS double precision[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (array_agg(v ORDER BY v))[greatest(1, (cardinality(vals) + 1) / 2 - half)
                                     : least(cardinality(vals), (cardinality(vals) + 2) / 2 + half)]
    FROM unnest(vals) AS v
$$
"""
WINDOW_MEDIAN = """
CREATE FUNCTION stats_window_median(win double precision[], n bigint, half integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n % 2 = 1 THEN win[(n + 1) / 2 - greatest(1, (n + 1) / 2 - half) + 1]
                ELSE win[n / 2 - greatest(1, (n + 1) / 2 - half) + 1]
                     + 0.5 * (win[n / 2 - greatest(1, (n + 1) / 2 - half) + 2]
                              - win[n / 2 - greatest(1, (n + 1) / 2 - half) + 1]) END
$$
"""
KTH = """
CREATE FUNCTION stats_kth(win double precision[], came double precision[], went double precision[], k integer)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT v FROM (SELECT unnest(win) AS v UNION ALL SELECT unnest(came) EXCEPT ALL SELECT unnest(went)) AS m
    ORDER BY v OFFSET k - 1 LIMIT 1
$$
"""


def upgrade() -> None:
    timestamp = sa.DateTime(timezone=True)
    op.create_table(
        "stats_snapshot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("visible", sa.Text(), nullable=False),
        sa.Column("taken_at", timestamp, nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
    )
    floats = sa.ARRAY(sa.Double()).with_variant(sa.JSON(), "sqlite")
    op.create_table(
        "stats_cell",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("stats_snapshot.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("dim", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=True),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.Column("followup_sum", sa.Double(), nullable=True),
        sa.Column("verification_sum", sa.Double(), nullable=True),
        sa.Column("rating_sum", sa.BigInteger(), nullable=True),
        sa.Column("followup_median", sa.Double(), nullable=True),
        sa.Column("verification_median", sa.Double(), nullable=True),
        sa.Column("followup_window", floats, nullable=True),
        sa.Column("verification_window", floats, nullable=True),
    )
    op.create_index("ix_stats_cell_snapshot_id", "stats_cell", ["snapshot_id"])
    op.create_table(
        "stats_delta",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("existed", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=True),
        sa.Column("agency", sa.String(200), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=True),
        sa.Column("area", sa.String(64), nullable=True),
        sa.Column("verified_at", timestamp, nullable=True),
        sa.Column("first_follow_up_at", timestamp, nullable=True),
        sa.Column("first_follow_up_due_at", timestamp, nullable=True),
        sa.Column("followup_working_days", sa.Double(), nullable=True),
        sa.Column("verification_working_days", sa.Double(), nullable=True),
        sa.Column("disposition_count", sa.Integer(), nullable=True),
        sa.Column("rerouted_count", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=True),
        sa.Column("min_due", timestamp, nullable=True),
    )
    op.create_index(
        "ix_complaint_followup_due", "complaint", ["first_follow_up_due_at"], postgresql_where=WAITING,
        sqlite_where=WAITING,
    )  # fmt: skip
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (LOG_CHANGE, WINDOW, WINDOW_MEDIAN, KTH):
        op.execute(statement)
    op.execute(
        "CREATE TRIGGER stats_log_change AFTER INSERT OR UPDATE OR DELETE ON complaint"
        " FOR EACH ROW EXECUTE FUNCTION stats_log_change()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER stats_log_change ON complaint")
        for function in ("stats_log_change()", "stats_window(double precision[], integer)",
                         "stats_window_median(double precision[], bigint, integer)",
                         "stats_kth(double precision[], double precision[], double precision[], integer)"):  # fmt: skip
            op.execute(f"DROP FUNCTION {function}")
    op.drop_index("ix_complaint_followup_due", table_name="complaint")
    op.drop_table("stats_delta")
    op.drop_index("ix_stats_cell_snapshot_id", table_name="stats_cell")
    op.drop_table("stats_cell")
    op.drop_table("stats_snapshot")

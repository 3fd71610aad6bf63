"""storage: a complaint's body written once (out of line), not copied into every version of its row

Revision ID: h23_storage
Revises: h22_event_json
Create Date: 2026-11-30

PostgreSQL only (SQLite keeps its schema). Every command writes a new version of the case row (never a HOT
update), and each version carried the whole complaint body: closed cases took 14.1 KB each as written with
bodies of 200 characters and 14.5 KB with 600 (`aduan bench storage --body-chars N`), 9.9 KB with the
bench's one sentence (77). With the body written once: 10.3, 11.0 and 10.1 KB.

* `complaint` with toast_tuple_target 128 (was 4080): when a row version is over 2 KB (the workflow state is
  2-3 KB while a case runs) PostgreSQL moves the columns still marked EXTENDED out of line into the table's
  TOAST, and an UPDATE that leaves them unchanged keeps the same out-of-line value: the body is written once,
  each later version holds an 18-byte pointer to it. Only `body` stays EXTENDED.
* Every other variable-length column of `complaint` is marked MAIN: kept in the row (PostgreSQL moves MAIN
  columns out of line only when a row would not fit in a page, about 8 KB). They are short, or change with
  the commands (`status`, `agency`, `event_hash`: out of line, each change would write a TOAST value of its
  own), or are read with every row of a list (`title`, `tracking_id`). Moving the reporter's other write-once
  columns (`reporter`, `location`, `attributes`, `media_url`) out as well cost more than it saved: a TOAST
  value and its index entry each (10.2 KB with the short body, 11.1 KB with 600 characters).
  `state` was MAIN already (h14_storage).
* The fillfactor stays 70 (h21_storage): 80 measured the same, 90 left one case per page (14.1 KB).

Reading the body costs PostgreSQL one TOAST lookup (an index probe and a page), also when a command loads its
case and when a new row version gets its full-text index entry. Rows written before this migration keep
their layout until a command writes them again.
"""

from alembic import op

revision = "h23_storage"
down_revision = "h22_event_json"
branch_labels = None
depends_on = None

IN_ROW = (
    "tracking_id", "reporter_token_hash", "serializer_version", "status", "kind", "category", "agency", "desk",
    "title", "area", "channel", "reporter_username", "contact_phone", "contact_email", "entered_by",
    "close_reason", "event_hash", "location", "attributes", "reporter", "media_url",
)  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in IN_ROW:
        op.execute(f"ALTER TABLE complaint ALTER COLUMN {column} SET STORAGE MAIN")
    op.execute("ALTER TABLE complaint SET (toast_tuple_target = 128)")  # rows written from now on


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE complaint SET (toast_tuple_target = 4080)")  # as h21_storage left it
    for column in IN_ROW:
        op.execute(f"ALTER TABLE complaint ALTER COLUMN {column} SET STORAGE EXTENDED")

"""Aduan's engine: SpiffWorkflow, persistence and the domain rules of a complaint; no HTTP, Flask or rq.

Sub-packages by concept, each with a face (`__init__.py`) naming the modules others may import:

- `engine.cases.case`      a complaint's row, its lifecycle commands, tasks, timers, forms, attachments, visibility
- `engine.processes.registry`  deployed lifecycles: registry, validation, dry run, migration, scripting, serialization
- `engine.audit.chain`      the hash-chained trail, timelines and exports
- `engine.notify.delivery`     notifications: templates and channels, the outbox, webhooks
- `engine.directory.agencies`  agencies, staff and reporters, categories, the demo directory
- `engine.calendar.working_days`   working days ("hari kerja") and the days an admin configures
- `engine.stats.figures`      KPI facts kept on every save and the figures aggregated from them

Beside them: `config` (the service configuration), `db` (base and column types), `errors` (what the API
maps to statuses), `models` (every table, for the metadata and migrations) and `settings`.
"""

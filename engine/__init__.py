"""Aduan's engine: SpiffWorkflow, persistence and the domain rules of a complaint; no HTTP, Flask or rq.

Sub-packages by concept, each with a face (`__init__.py`) naming the modules others may import:

- `engine.cases`      a complaint's row, its lifecycle commands, tasks, timers, forms, attachments, visibility
- `engine.processes`  deployed lifecycles: registry, validation, dry run, migration, scripting, sandbox,
                      incidents
- `engine.audit`      the hash-chained trail, timelines and exports
- `engine.notify`     notifications: templates and channels, the outbox, webhooks
- `engine.directory`  agencies, staff and reporters, categories, the demo directory
- `engine.calendar`   working days ("hari kerja") and the days an admin configures
- `engine.stats`      KPI facts kept on every save and the figures aggregated from them
- `engine.conversation`  the thread of messages of a case
- `engine.citizens`    registered reporters' accounts: registration, "my reports", claiming a guest complaint
- `engine.channels`    SMS/WhatsApp, e-mail, counters, agency systems and Open311: translators into commands

Beside them: `faces` (lazy package faces), `config` (the service configuration), `db` (base and column
types), `errors` (what the API maps to statuses), `models` (every table, for the metadata and migrations)
and `settings`.
"""

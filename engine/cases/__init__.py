"""Cases: a complaint and everything that happens to it.

- `case`         the case row (`Case`, `FollowUp`, `Status`), tracking ids and reporter tokens
- `lifecycle`    the commands: start, claim, complete a task, reporter reply, fire timers, migrate
- `tasks`        the task read model (inbox, due dates, roles)
- `timers`       `next_timer_at`: timers as rows
- `forms`        task forms (JSON Schema) and validation of submitted data
- `attachments`  files attached to a case, content-addressed and checked
- `access`       who is acting (`Actor`, roles) and which tasks they may do
- `visibility`   who sees which case and how much of it (`get_for`, scopes, fitted views)
"""

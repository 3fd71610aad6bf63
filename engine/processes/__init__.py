"""Processes: the lifecycles process owners deploy, and the machinery that runs them.

- `registry`       deploy, version and activate lifecycles (BPMN + DMN + forms) and shared decisions
- `validation`     checking an upload before anything is stored
- `dry_run`        driving an upload's new workflows along its paths in memory
- `migration`      what changed between versions; moving running cases
- `scripting`      the services a diagram may call and the script engine that offers them
- `serialization`  a case's workflow state without its spec, and back
- `checks`         rules read from the XML and forms alone (gateway coverage, routing agencies, platform needs)
- `sandbox`        the restricted (RestrictedPython) environment of everything a diagram evaluates; isolation
- `incidents`      a case the engine could not carry on: recorded, listed, retried, resolved
"""

"""Rules a diagram must follow before it is deployed, read from its XML and form schemas (no engine run).

`engine.processes.validation` runs these beside SpiffWorkflow's parser and the dry run, so a process owner gets
every finding of an upload in one answer. Each rule yields `Issue`s (file, element, line, message) in
words a process owner can act on; none of them evaluates an expression of the diagram.

Others may import: `Issue`, `diagram_issues`, `decision_outputs`, `routing_issues`, `platform_issues`, `LIFECYCLE_KEY`.
"""

from engine.processes.checks.diagram import Issue, diagram_issues
from engine.processes.checks.platform import LIFECYCLE_KEY, platform_issues
from engine.processes.checks.routing import decision_outputs, routing_issues

__all__ = ["LIFECYCLE_KEY", "Issue", "decision_outputs", "diagram_issues", "platform_issues", "routing_issues"]

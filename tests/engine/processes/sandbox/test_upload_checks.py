"""Before any dry run, every piece of code an upload holds is compiled for the sandbox: a refusal is a
finding naming the file, the element and the line, found without running anything."""

from __future__ import annotations

import pytest

from engine.errors import InvalidProcess
from engine.processes import registry as processes
from engine.processes import validation
from tests.data import shipped_bundle

ROUTING = processes.shared_files(processes.DEFAULT_BPMN_DIR)["routing.dmn"]
BAD = "__import__('os').getcwd()"
PLACES = {
    "DMN input entry": ("deadlines.dmn", '<text>"aspiration"</text>', f"<text>{BAD}</text>",
                        "deadlines_aspiration_in", "decision expression"),
    "DMN input expression": ("deadlines.dmn", "<text>kind</text>", f"<text>{BAD}</text>",
                             "deadlines_in_expr", "decision expression"),
    "task property": ("complaint.bpmn", 'name="dueAt" value="verify_due"', f'name="dueAt" value="{BAD}"',
                      "verify", "property dueAt"),
}  # fmt: skip


@pytest.mark.parametrize("place", list(PLACES))
def test_code_that_cannot_compile_for_the_sandbox_is_a_finding_at_its_element(place: str) -> None:
    file, old, new, element, what = PLACES[place]
    files = shipped_bundle()
    files[file] = files[file].replace(old, new.replace("'", "&apos;"), 1)
    line = files[file][: files[file].index(new.replace("'", "&apos;"))].count("\n") + 1
    with pytest.raises(InvalidProcess) as error:
        validation.parse_process(files, {"route_category": ROUTING})
    (finding,) = error.value.errors[file]
    assert finding.startswith(f"line {line}, element '{element}': {what} is not allowed in diagram code: ")
    assert '"__import__" is an invalid variable name' in finding

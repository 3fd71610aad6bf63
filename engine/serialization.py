"""A case's workflow state without its spec, and back against cached spec objects.

SpiffWorkflow's serializer embeds the whole spec in every instance; a case stores only its task tree,
data and events (`serializer_version` beside it), compressed, and is rebuilt against the spec objects
its process version caches. State written by an older serializer is migrated through SpiffWorkflow's
own migrations with the stored spec dicts merged back in.
"""

from __future__ import annotations

import json
import zlib
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)
SERIALIZER_VERSION = VERSION
_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, REGISTRY)


def state_dict(wf: BpmnWorkflow) -> dict[str, Any]:
    """The instance part of `wf` (tasks, data, subprocesses, pending events) without any spec."""
    dct: dict[str, Any] = WorkflowConverter.to_dict(_CONVERTER, wf)
    dct["subprocesses"] = _CONVERTER.mapping_to_dict(wf.subprocesses)
    dct["bpmn_events"] = REGISTRY.convert(wf.bpmn_events)
    return dct


def dump(wf: BpmnWorkflow) -> bytes:
    """Compressed JSON of `state_dict(wf)`; what a case row stores."""
    # keep insertion order: task data is stored as deltas, restored parent before child
    dct = state_dict(wf)
    try:
        text = orjson.dumps(dct, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses (an integer beyond 64 bits) the standard library still writes
        text = json.dumps(dct, separators=(",", ":")).encode()
    # level 1: a third of level 6's CPU for about 10 % more bytes (docs/performance.md)
    return zlib.compress(text, 1)


def load(
    blob: bytes,
    version: str,
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    engine: PythonScriptEngine,
    spec_dicts: dict[str, Any] | None = None,
) -> BpmnWorkflow:
    """Rebuild a workflow from stored state; `spec_dicts` are needed only to migrate older state."""
    dct = orjson.loads(zlib.decompress(blob))
    if version != SERIALIZER_VERSION:
        if spec_dicts is None:
            raise ValueError(f"state of serializer version {version} needs the stored spec to migrate")
        return load_with_spec_dicts(dct, version, engine, spec_dicts)
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=engine, deserializing=True)
    wf.tasks = _CONVERTER.mapping_from_dict(dct["tasks"], UUID, workflow=wf)
    wf.task_tree = wf.tasks.get(UUID(dct["root"]))
    _CONVERTER.set_default_attributes(wf, dct)
    _CONVERTER.subprocesses_from_dict(dct["subprocesses"], wf)
    wf.bpmn_events = REGISTRY.restore(dct.get("bpmn_events", []))
    return wf


def load_with_spec_dicts(
    dct: dict[str, Any], version: str, engine: PythonScriptEngine, spec_dicts: dict[str, Any]
) -> BpmnWorkflow:
    """The slow, general path: merge the stored spec dicts back in and let SpiffWorkflow migrate and restore."""
    full = {**dct, **spec_dicts, "typename": "BpmnWorkflow", SERIALIZER.VERSION_KEY: version}
    SERIALIZER.migrate(full)
    wf: BpmnWorkflow = SERIALIZER.from_dict(full)
    wf.script_engine = engine
    return wf

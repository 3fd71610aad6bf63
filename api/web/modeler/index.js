// The process owner's modeler, bundled by build.mjs (run by `npm ci`): bpmn-js with its properties panel
// (names, timers, conditions, lanes) and the Aduan group (forms, agency, deadline, called decision).
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import AduanPropertiesModule from "./aduan-properties.js";
import spiffworkflow from "./spiffworkflow.json";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";

export function create(container, panel) {
  return new BpmnModeler({
    container,
    propertiesPanel: { parent: panel },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, AduanPropertiesModule],
    moddleExtensions: { spiffworkflow },
  });
}

// The "Aduan" group of the properties panel: what the engine reads from a task besides BPMN itself
// (spiffworkflow:property entries of a user task, the decision a business rule task calls).
import { TextFieldEntry, isTextFieldEntryEdited } from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";
import { html } from "htm/preact";

// property name → label; the form is the JSON Schema file among the version's files
const USER_TASK_PROPERTIES = [
  ["formJsonSchemaFilename", "Form (JSON Schema file)"],
  ["agency", "Agency (expression)"],
  ["dueAt", "Deadline (expression)"],
  ["proposal", "Proposal (expression)"],
  ["reassigns", "Reassigns task"],
];

function extension(bo, type) {
  const values = (bo.extensionElements && bo.extensionElements.get("values")) || [];
  return values.find((value) => is(value, type));
}

function propertyValue(element, name) {
  const properties = extension(getBusinessObject(element), "spiffworkflow:Properties");
  const found = properties && properties.get("values").find((p) => p.name === name);
  return found ? found.value : "";
}

function ensureExtension(element, type, injector, attrs) {
  const bo = getBusinessObject(element);
  const moddle = injector.get("moddle");
  const modeling = injector.get("modeling");
  let extensions = bo.extensionElements;
  if (!extensions) {
    extensions = moddle.create("bpmn:ExtensionElements", { values: [] });
    extensions.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: extensions });
  }
  let found = extension(bo, type);
  if (!found) {
    found = moddle.create(type, attrs);
    found.$parent = extensions;
    modeling.updateModdleProperties(element, extensions, { values: [...extensions.get("values"), found] });
  }
  return found;
}

function setPropertyValue(element, name, value, injector) {
  const modeling = injector.get("modeling");
  const properties = ensureExtension(element, "spiffworkflow:Properties", injector, { values: [] });
  const existing = properties.get("values").find((p) => p.name === name);
  if (existing) {
    modeling.updateModdleProperties(element, existing, { value: value || "" });
    return;
  }
  const created = injector.get("moddle").create("spiffworkflow:Property", { name, value: value || "" });
  created.$parent = properties;
  modeling.updateModdleProperties(element, properties, { values: [...properties.get("values"), created] });
}

function PropertyEntry(props) {
  const { element, id, name, label } = props;
  const injector = useService("injector");
  const debounce = useService("debounceInput");
  return html`<${TextFieldEntry}
    element=${element}
    id=${id}
    label=${label}
    debounce=${debounce}
    getValue=${() => propertyValue(element, name)}
    setValue=${(value) => setPropertyValue(element, name, value, injector)}
  />`;
}

function DecisionEntry(props) {
  const { element, id } = props;
  const injector = useService("injector");
  const debounce = useService("debounceInput");
  const getValue = () => {
    const called = extension(getBusinessObject(element), "spiffworkflow:CalledDecisionId");
    return called ? called.value : "";
  };
  const setValue = (value) => {
    const called = ensureExtension(element, "spiffworkflow:CalledDecisionId", injector, { value: "" });
    injector.get("modeling").updateModdleProperties(element, called, { value: value || "" });
  };
  return html`<${TextFieldEntry}
    element=${element} id=${id} label="Decision (id)" debounce=${debounce} getValue=${getValue} setValue=${setValue}
  />`;
}

function entries(element) {
  if (is(element, "bpmn:UserTask")) {
    return USER_TASK_PROPERTIES.map(([name, label]) => ({
      id: "aduan-" + name,
      component: PropertyEntry,
      isEdited: isTextFieldEntryEdited,
      name,
      label,
    }));
  }
  if (is(element, "bpmn:BusinessRuleTask")) {
    return [{ id: "aduan-decision", component: DecisionEntry, isEdited: isTextFieldEntryEdited }];
  }
  return [];
}

class AduanPropertiesProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(500, this);
  }

  getGroups(element) {
    return (groups) => {
      const found = entries(element);
      if (found.length) groups.splice(1, 0, { id: "aduan", label: "Aduan", entries: found });
      return groups;
    };
  }
}
AduanPropertiesProvider.$inject = ["propertiesPanel"];

export default {
  __init__: ["aduanPropertiesProvider"],
  aduanPropertiesProvider: ["type", AduanPropertiesProvider],
};

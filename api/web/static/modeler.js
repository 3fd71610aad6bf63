// The process owner's editors: a diagram in bpmn-js with its properties panel, or a decision table in
// dmn-js. "Check" validates the edit with the version's other files; "Deploy" stores it as a new version
// that is not active yet; findings are listed and marked on their elements (shapes, or table cells).
(function () {
  "use strict";
  var container = document.getElementById("modeler");
  var config = JSON.parse(document.getElementById("editor-data").textContent);
  var text = JSON.parse(document.getElementById("editor-labels").textContent);
  var status = document.getElementById("deploy-status");
  var list = document.getElementById("findings");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var editor = config.kind === "dmn" ? dmnEditor() : bpmnEditor();
  if (!editor) return;
  window.aduanModeler = editor.modeler; // for the browser console and the browser tests

  function bpmnEditor() {
    var modeler;
    if (window.AduanBpmn) modeler = window.AduanBpmn.create(container, document.getElementById("properties"));
    else if (window.BpmnJS) modeler = new window.BpmnJS({ container: container });
    else return null;
    var marked = [];
    modeler.importXML(config.xml).then(function () {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      container.setAttribute("data-ready", "true");
    });
    return {
      modeler: modeler,
      save: function () { return modeler.saveXML({ format: true }); },
      mark: function (findings) {
        var canvas = modeler.get("canvas");
        var registry = modeler.get("elementRegistry");
        marked.forEach(function (id) { canvas.removeMarker(id, "finding"); });
        marked = [];
        return findings.map(function (finding) {
          var element = finding.element && registry.get(finding.element);
          if (!element) return null;
          canvas.addMarker(finding.element, "finding");
          marked.push(finding.element);
          return function () {
            modeler.get("selection").select(element);
            canvas.scrollToElement(element);
          };
        });
      }
    };
  }

  function dmnEditor() {
    if (!window.DmnJS) return null;
    var modeler = new window.DmnJS({ container: container, common: { keyboard: { bindTo: window } } });
    modeler.importXML(config.xml).then(function () {
      var table = modeler.getViews().filter(function (view) { return view.type === "decisionTable"; })[0];
      return table ? modeler.open(table) : null;
    }).then(function () { container.setAttribute("data-ready", "true"); });
    return {
      modeler: modeler,
      save: function () { return modeler.saveXML({ format: true }); },
      mark: function (findings) {
        Array.prototype.forEach.call(container.querySelectorAll(".finding"), function (cell) {
          cell.classList.remove("finding");
        });
        return findings.map(function (finding) {
          var cell = finding.element && container.querySelector('[data-element-id="' + CSS.escape(finding.element) + '"]');
          if (!cell) return null;
          cell.classList.add("finding");
          return function () { cell.scrollIntoView({ block: "center" }); };
        });
      }
    };
  }

  function show(findings) {
    var focus = editor.mark(findings);
    list.innerHTML = "";
    if (!findings.length) {
      var none = document.createElement("li");
      none.textContent = text.none;
      list.appendChild(none);
    }
    findings.forEach(function (finding, index) {
      var item = document.createElement("li");
      var where = [finding.file];
      if (finding.element) where.push(text.element + " " + finding.element);
      if (finding.line) where.push(text.line + " " + finding.line);
      var head = document.createElement("strong");
      head.textContent = where.join(", ");
      item.appendChild(head);
      item.appendChild(document.createTextNode(": " + finding.message));
      if (focus[index]) {
        item.classList.add("linked");
        item.setAttribute("data-element", finding.element);
        item.tabIndex = 0;
        item.addEventListener("click", focus[index]);
      }
      list.appendChild(item);
    });
  }

  function send(url) {
    return editor.save().then(function (result) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ file: config.file, xml: result.xml })
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    });
  }

  document.getElementById("validate").addEventListener("click", function () {
    status.textContent = text.checking;
    send(config.validate).then(function (answer) {
      var findings = answer.body.findings || [];
      status.textContent = answer.ok && answer.body.valid ? text.valid : text.invalid;
      status.setAttribute("data-valid", String(Boolean(answer.ok && answer.body.valid)));
      show(findings);
    }).catch(function () { status.textContent = text.error; });
  });

  document.getElementById("deploy").addEventListener("click", function () {
    status.textContent = text.deploying;
    send(config.deploy).then(function (answer) {
      if (answer.ok) { window.location.assign(answer.body.url); return; }
      status.textContent = text.failed + " " + (answer.body.message || "");
      show(answer.body.findings || []);
    }).catch(function () { status.textContent = text.error; });
  });

  document.getElementById("download").addEventListener("click", function () {
    editor.save().then(function (result) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([result.xml], { type: "application/xml" }));
      link.download = config.file;
      link.click();
    });
  });
})();

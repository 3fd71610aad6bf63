// The process owner's editor (bpmn-js modeler): deploy the edited diagram and mark the findings on it.
(function () {
  "use strict";
  var container = document.getElementById("modeler");
  var config = JSON.parse(document.getElementById("editor-data").textContent);
  var text = JSON.parse(document.getElementById("editor-labels").textContent);
  var status = document.getElementById("deploy-status");
  var list = document.getElementById("findings");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  if (!container || !window.BpmnJS) return;
  var modeler = new window.BpmnJS({ container: container });
  window.aduanModeler = modeler; // for the browser console and the browser tests
  var marked = [];

  modeler.importXML(config.xml).then(function () {
    modeler.get("canvas").zoom("fit-viewport", "auto");
    container.setAttribute("data-ready", "true");
  });

  function clearMarks() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) { canvas.removeMarker(id, "finding"); });
    marked = [];
  }

  function show(findings) {
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    clearMarks();
    list.innerHTML = "";
    if (!findings.length) {
      var none = document.createElement("li");
      none.textContent = text.none;
      list.appendChild(none);
    }
    findings.forEach(function (finding) {
      var item = document.createElement("li");
      var where = [finding.file];
      if (finding.element) where.push(text.element + " " + finding.element);
      if (finding.line) where.push(text.line + " " + finding.line);
      var head = document.createElement("strong");
      head.textContent = where.join(", ");
      item.appendChild(head);
      item.appendChild(document.createTextNode(": " + finding.message));
      var element = finding.element && registry.get(finding.element);
      if (element) {
        canvas.addMarker(finding.element, "finding");
        marked.push(finding.element);
        item.classList.add("linked");
        item.setAttribute("data-element", finding.element);
        item.tabIndex = 0;
        item.addEventListener("click", function () {
          modeler.get("selection").select(element);
          canvas.scrollToElement(element);
        });
      }
      list.appendChild(item);
    });
  }

  document.getElementById("deploy").addEventListener("click", function () {
    status.textContent = text.checking;
    modeler.saveXML({ format: true }).then(function (result) {
      return fetch(config.deploy, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ file: config.file, xml: result.xml })
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (answer.ok) { window.location.assign(answer.body.url); return; }
      status.textContent = text.failed + " " + (answer.body.message || "");
      show(answer.body.findings || []);
    }).catch(function () { status.textContent = text.error; });
  });

  document.getElementById("download").addEventListener("click", function () {
    modeler.saveXML({ format: true }).then(function (result) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([result.xml], { type: "application/xml" }));
      link.download = config.file;
      link.click();
    });
  });
})();

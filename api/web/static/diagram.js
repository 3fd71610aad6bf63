// Read-only diagram (bpmn-js viewer): the path a case took, its open tasks, or what a version changed.
(function () {
  "use strict";
  var dataNode = document.getElementById("viewer-data");
  var container = document.getElementById("diagram");
  if (!dataNode || !container || !window.BpmnJS) return;
  var data = JSON.parse(dataNode.textContent);
  if (!data.xml) return;
  var viewer = new window.BpmnJS({ container: container });
  window.aduanViewer = viewer; // for the browser console and the browser tests
  var MARKERS = ["taken", "current", "overdue", "added", "changed"];

  // A wide diagram gets a box of its own proportions (no empty bands), within 60 % of the window's height.
  function fitHeight(canvas) {
    canvas.zoom("fit-viewport", "auto");
    var inner = canvas.viewbox().inner;
    if (inner.width > 0) {
      var wanted = container.clientWidth * inner.height / inner.width + 48;
      container.style.height = Math.round(Math.max(260, Math.min(wanted, window.innerHeight * 0.6))) + "px";
      canvas.resized();
      canvas.zoom("fit-viewport", "auto");
    }
  }

  viewer.importXML(data.xml).then(function () {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    fitHeight(canvas);
    MARKERS.forEach(function (marker) {
      (data[marker] || []).forEach(function (id) {
        if (registry.get(id)) canvas.addMarker(id, marker);
      });
    });
    // Hovering an event of the timeline highlights the elements it passed.
    document.querySelectorAll("[data-elements]").forEach(function (entry) {
      var ids = JSON.parse(entry.getAttribute("data-elements")).filter(function (id) { return registry.get(id); });
      entry.addEventListener("mouseenter", function () { ids.forEach(function (id) { canvas.addMarker(id, "focus"); }); });
      entry.addEventListener("mouseleave", function () { ids.forEach(function (id) { canvas.removeMarker(id, "focus"); }); });
    });
    container.setAttribute("data-ready", "true");
  }).catch(function (error) {
    container.setAttribute("data-error", String(error && error.message || error));
  });
})();

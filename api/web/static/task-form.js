// Task forms: show which conditionally required fields (JSON Schema if/then) are required right now.
(function () {
  "use strict";
  var form = document.getElementById("task-form");
  if (!form) return;
  var dependents = Array.prototype.slice.call(form.querySelectorAll("[data-required-when]"));

  function valueOf(name) {
    var input = form.elements[name];
    if (!input) return undefined;
    if (input.type === "checkbox") return input.checked;
    return input.value;
  }

  function update() {
    dependents.forEach(function (field) {
      var conditions = JSON.parse(field.getAttribute("data-required-when"));
      var holds = Object.keys(conditions).every(function (name) {
        return conditions[name].map(String).indexOf(String(valueOf(name))) >= 0;
      });
      var control = field.querySelector("input, select, textarea");
      var marker = field.querySelector(".when-required");
      field.classList.toggle("needed", holds);
      if (marker) marker.hidden = !holds;
      if (control) control.required = holds;
    });
  }

  form.addEventListener("change", update);
  update();
})();

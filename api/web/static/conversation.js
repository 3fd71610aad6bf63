// Every page: counters that show a field's limit while typing, a copy button for the secret code, a
// check of chosen files against the size limit before anything is sent (the server checks again), and
// forms that keep what was typed: a form marked data-keep saves its fields in the tab's sessionStorage
// when sent, and a page the server marks with <meta name="aduan-restore"> (the request was too large to
// read) puts them back.
(function () {
  "use strict";
  var KEEP = "aduan.keep.";
  var restoring = document.querySelector("meta[name=aduan-restore]");

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && ["file", "hidden", "password", "submit"].indexOf(el.type) < 0;
    });
  }

  function save(form) {
    var values = {};
    fields(form).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        values[el.name] = values[el.name] || [];
        if (el.checked) values[el.name].push(el.value);
      } else {
        values[el.name] = el.value;
      }
    });
    try { sessionStorage.setItem(KEEP + form.getAttribute("data-keep"), JSON.stringify(values)); } catch (e) {}
  }

  function restore(form) {
    var saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(KEEP + form.getAttribute("data-keep")) || "null"); } catch (e) {}
    if (!saved) return;
    fields(form).forEach(function (el) {
      if (!(el.name in saved)) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = saved[el.name].indexOf(el.value) >= 0;
      else el.value = saved[el.name];
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-keep]"), function (form) {
    form.addEventListener("submit", function () { save(form); });
    if (restoring && restoring.getAttribute("content") === form.getAttribute("data-keep")) restore(form);
  });
  var meta = document.querySelector("meta[name=aduan-counter]");
  var left = meta ? meta.getAttribute("content") : "%(n)s / %(max)s";

  function counter(field) {
    var max = parseInt(field.getAttribute("maxlength"), 10);
    var out = document.createElement("small");
    out.className = "counter muted";
    out.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", out);
    function update() {
      out.textContent = left.replace("%(n)s", field.value.length).replace("%(max)s", max);
      out.classList.toggle("near", field.value.length > max * 0.9);
    }
    field.addEventListener("input", update);
    update();
  }
  Array.prototype.forEach.call(document.querySelectorAll("textarea[maxlength]"), counter);

  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).textContent;
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = button.getAttribute("data-copied");
      });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-max-bytes]"), function (input) {
    var note = document.createElement("small");
    note.className = "error";
    note.setAttribute("role", "alert");
    input.insertAdjacentElement("afterend", note);
    input.addEventListener("change", function () {
      var max = parseInt(input.getAttribute("data-max-bytes"), 10);
      var big = Array.prototype.filter.call(input.files, function (f) { return f.size > max; });
      note.textContent = big.length ? input.getAttribute("data-too-big") + " " +
        big.map(function (f) { return f.name; }).join(", ") : "";
      input.setCustomValidity(big.length ? note.textContent : "");
    });
  });
})();

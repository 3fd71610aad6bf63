// Every page: counters that show a field's limit while typing, a copy button for the secret code, and a
// check of chosen files against the size limit before anything is sent (the server checks again).
(function () {
  "use strict";
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

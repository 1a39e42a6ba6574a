// hoso — small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Ask before applying the school seal: it creates a new signed version that cannot be undone.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  // A large upload takes a while (three verified copies): say so, and stop a second click sending it twice.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = form.getAttribute("data-busy"); }
    });
  });
  // "Select all" in a list of records to sign: ticks every box of that table.
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      var table = all.closest("table");
      table.querySelectorAll("input[name=" + all.getAttribute("data-select-all") + "]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
});

// Progressive enhancement only: every page works without this file.
// - the error summary takes focus so a screen reader announces it;
// - a form's submit button is disabled once pressed (a tired officer double-clicks).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0); });
    });
  });
});

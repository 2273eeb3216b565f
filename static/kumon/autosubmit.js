// A <select data-autosubmit> submits its form when changed: the language switcher, the gaps
// page's unit filter. In a file rather than onchange="…", which the Content-Security-Policy
// (kumon/csp.py) does not run.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target && target.matches && target.matches("select[data-autosubmit]") && target.form) {
    target.form.submit();
  }
});

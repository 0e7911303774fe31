// Atelier tablet: small behaviours, no framework (htmx does the requests).
(function () {
  "use strict";
  // Keyboard-wedge barcode scanners type the code then press Enter. In a field marked
  // data-scan, Enter moves to the next empty field of the form instead of submitting early;
  // in the last one it submits as usual.
  document.addEventListener("keydown", function (e) {
    var el = e.target;
    if (e.key !== "Enter" || !el.matches || !el.matches("input[data-scan]")) return;
    var fields = Array.prototype.slice.call(el.form.querySelectorAll("input:not([type=hidden]), select"));
    var next = fields.slice(fields.indexOf(el) + 1).find(function (f) { return !f.value; });
    if (next) { e.preventDefault(); next.focus(); }
  });
  // Idle timeout: the server refuses the session after it anyway; this leaves the page so
  // that the next person does not act under the previous operator's name.
  var timer = null;
  function arm() {
    var idle = document.getElementById("idle");
    if (timer) clearTimeout(timer);
    timer = null;
    if (!idle) return;
    timer = setTimeout(function () { window.location.href = idle.dataset.expiredUrl; },
                       parseInt(idle.dataset.idleS, 10) * 1000);
  }
  // A panel that refreshes itself (hx-trigger filter) must not be swapped under the operator's
  // finger: not while focus is inside it, nor once a reason has been chosen in it.
  window.atelierQuiet = function (id) {
    var el = document.getElementById(id);
    if (!el || el.contains(document.activeElement)) return false;
    return !Array.prototype.some.call(el.querySelectorAll("select"), function (s) { return s.value; });
  };
  // The sticky flash message sits just under the sticky header, whose height depends on how
  // its content wraps (portrait tablets: two rows).
  function barHeight() {
    var bar = document.querySelector(".bar");
    if (bar) document.documentElement.style.setProperty("--bar-h", bar.offsetHeight + "px");
  }
  window.addEventListener("resize", barHeight);
  document.addEventListener("DOMContentLoaded", barHeight);
  document.addEventListener("htmx:afterSettle", barHeight);
  ["pointerdown", "keydown"].forEach(function (t) { document.addEventListener(t, arm, true); });
  document.addEventListener("DOMContentLoaded", arm);
  document.addEventListener("htmx:afterSettle", arm);
})();

// 关怀版 and text size on the public pages (适老化, GB/T 37668-2019).
//
// The reader's choice is kept in this browser only (localStorage), so the
// pages stay one cached copy for everyone. The classes go on <html> as
// soon as this script runs in <head>, before the page paints; the buttons
// are hidden in the HTML and shown here, so a browser without scripts never
// shows buttons that do nothing.
(function () {
  "use strict";
  var root = document.documentElement;
  var SIZES = ["", "size-1", "size-2"];
  function read(key) {
    try { return window.localStorage.getItem(key) || ""; } catch (e) { return ""; }
  }
  function write(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: this page only */ }
  }
  function apply() {
    var size = parseInt(read("zq-size"), 10) || 0;
    SIZES.forEach(function (c, i) { if (c) root.classList.toggle(c, i === size); });
    root.classList.toggle("care", read("zq-care") === "1");
    var buttons = document.querySelectorAll(".access button");
    for (var i = 0; i < buttons.length; i++) {
      var b = buttons[i];
      var on = b.hasAttribute("data-care") ? root.classList.contains("care") : parseInt(b.getAttribute("data-size"), 10) === size;
      b.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }
  apply();
  document.addEventListener("DOMContentLoaded", function () {
    var bar = document.querySelector(".access");
    if (!bar) return;
    bar.hidden = false;
    bar.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) return;
      if (b.hasAttribute("data-care")) write("zq-care", root.classList.contains("care") ? "" : "1");
      else write("zq-size", b.getAttribute("data-size"));
      apply();
    });
    apply();
  });
})();

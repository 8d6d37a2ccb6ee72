// Small progressive enhancements; every form also works without this file.
(function () {
  "use strict";
  var text = document.getElementById("draft-text");
  var cursor = document.getElementById("cursor");
  var count = document.getElementById("char-count");
  var dirty = false;
  if (text) {
    var remember = function () { if (cursor) { cursor.value = String(text.selectionStart); } };
    ["keyup", "click", "select", "focus"].forEach(function (ev) { text.addEventListener(ev, remember); });
    text.addEventListener("input", function () {
      dirty = true;
      remember();
      if (count) { count.textContent = String(text.value.length); }
    });
    var form = document.getElementById("draft-form");
    if (form) { form.addEventListener("submit", function () { dirty = false; }); }
    window.addEventListener("beforeunload", function (e) {
      if (dirty) { e.preventDefault(); e.returnValue = ""; }
    });
  }
  // While a draft or a send is in progress, reload when the question changes.
  var poll = document.body.getAttribute("data-poll");
  if (poll) {
    var version = document.body.getAttribute("data-version");
    var tick = function () {
      fetch(poll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (state && String(state.version) !== version && !dirty) { window.location.reload(); }
          else { window.setTimeout(tick, 2000); }
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    };
    window.setTimeout(tick, 2000);
  }
})();

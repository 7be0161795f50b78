// Keeps a job's progress bar moving without a manual reload (issue 20). Served as a static file:
// the admin's CSP allows no inline script. Each element with data-progress-url is polled every
// two seconds; when the job stops running the page reloads once to show its results.
(function () {
  "use strict";
  var EVERY_MS = 2000;

  function watch(box) {
    var url = box.getAttribute("data-progress-url");
    if (!url) { return; }
    var bar = box.querySelector("progress");
    var text = box.querySelector(".job-progress-text");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!state) { return; }  // signed out or refused: leave the page as it is
          if (bar) { bar.value = state.percent; bar.textContent = state.percent + " %"; }
          if (text) { text.textContent = state.text; }
          if (state.running) {
            window.setTimeout(poll, EVERY_MS);
          } else {
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, EVERY_MS * 5); });
    }
    window.setTimeout(poll, EVERY_MS);
  }

  function start() {
    var boxes = document.querySelectorAll("[data-progress-url]");
    for (var i = 0; i < boxes.length; i++) { watch(boxes[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// Follows a background job (an import being written) and reloads the page once it is
// finished. Not a <meta http-equiv="refresh">: a page that reloads itself on a timer
// takes focus and reading position from screen-reader users (WCAG 2.2.1); this one
// reloads once, when there is something new to read.
(function () {
  "use strict";
  var box = document.querySelector("[data-follow]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-follow");
  // Every 2 seconds at first, then less often (up to every 30 s) while nothing happens.
  var pause = 2000;
  function later() {
    window.setTimeout(look, pause);
    pause = Math.min(pause * 1.25, 30000);
  }
  function look() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.text(); })
      .then(function (state) {
        if (state.trim() === "running") {
          later();
        } else {
          window.location.reload();
        }
      })
      .catch(later);
  }
  later();
}());

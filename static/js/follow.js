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
  function look() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.text(); })
      .then(function (state) {
        if (state.trim() === "running") {
          window.setTimeout(look, 2000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(look, 5000); });
  }
  window.setTimeout(look, 2000);
}());

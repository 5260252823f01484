// Freigabe without reloading the page: each decision is sent in the background and its
// item leaves the list. Only an enhancement: without this script the forms post and the
// page reloads as usual. Loaded from this site only (CSP script-src 'self').
(function () {
  "use strict";
  var message = document.getElementById("review-message");
  // The menu counts every open decision; the page counts those of its (filtered) list.
  var overall = document.querySelectorAll("[data-open-count]");
  var listed = document.querySelectorAll("[data-list-count]");

  function say(text, ok) {
    if (!message) { return; }
    message.hidden = false;
    message.className = "flash " + (ok ? "flash-success" : "flash-error");
    message.textContent = text;
  }

  function count(open) {
    overall.forEach(function (el) { el.textContent = String(open); });
    listed.forEach(function (el) {
      el.textContent = String(Math.max(0, parseInt(el.textContent, 10) - 1));
    });
  }

  document.querySelectorAll("form[data-decide]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) { return; }
      event.preventDefault();
      var body = new FormData(form, event.submitter || undefined);
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.action, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return [response.ok, data]; });
      }).then(function (result) {
        var ok = result[0], data = result[1];
        var inline = form.querySelector("[data-decide-error]");
        if (!ok && inline) {  // where the eyes are: beside the button just pressed
          inline.hidden = false;
          inline.textContent = data.message;
        } else {
          say(data.message, ok);
        }
        if (ok && typeof data.open === "number") { count(data.open); }
        var item = form.closest("[data-review-item]");
        if (ok && item) {
          var next = item.nextElementSibling;
          item.remove();
          var focus = next && next.querySelector("h2 a");
          if (focus) { focus.focus(); }
        } else {
          buttons.forEach(function (b) { b.disabled = false; });
        }
      }).catch(function () {
        form.submit();  // the server decides; the page reloads as without the script
      });
    });
  });
}());

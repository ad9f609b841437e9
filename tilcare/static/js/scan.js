/* The scan page with a hand scanner (keyboard wedge): the scanner types the label and presses
   Enter, which submits the form; the answer replaces #scan-result. Then the input is cleared and
   focused again for the next label. Nothing here makes a sound.
   The Content-Security-Policy forbids inline scripts, so this file is linked from the page. */
(function () {
  "use strict";

  function scanInput() {
    return document.querySelector("[data-scan-input]");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var input = scanInput();
    if (input) {
      input.focus();
      input.select();
    }
  });

  // An Enter on an empty input (a scanner's stray suffix, a double press) checks nothing.
  document.addEventListener("keydown", function (event) {
    var input = scanInput();
    if (event.key !== "Enter" || event.target !== input) return;
    if (!input.value.trim()) {
      event.preventDefault();
    }
  });

  // While a scan is being checked the input is disabled (hx-disabled-elt), so nothing typed in
  // the meantime can be cleared away unseen. After each answer: empty input, cursor back in it,
  // ready for the next label. After a failure the text stays, so it can be sent again.
  var answered = false;
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "scan-result") answered = true;
  });
  document.addEventListener("htmx:afterRequest", function () {
    var input = scanInput();
    if (!input) return;
    // htmx re-enables the input after this event; focus once it has.
    window.setTimeout(function () {
      if (answered) input.value = "";
      answered = false;
      input.focus();
    }, 0);
  });

  // If the answer could not be fetched, say so plainly: the scan was not checked.
  function notChecked(event, reason) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "scan-result") return;
    target.innerHTML = "";
    var panel = document.createElement("div");
    panel.className = "scan-panel scan-panel-refused";
    panel.setAttribute("role", "alert");
    var title = document.createElement("p");
    title.className = "scan-panel-title";
    title.textContent = "Not checked";
    var text = document.createElement("p");
    text.className = "scan-panel-next";
    text.textContent = reason + " Do not proceed: scan again, or reload the page.";
    panel.appendChild(title);
    panel.appendChild(text);
    target.appendChild(panel);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    notChecked(event, "The scan could not be checked (error " + status + ").");
  });
  document.addEventListener("htmx:sendError", function (event) {
    notChecked(event, "The server could not be reached.");
  });
})();

/* tilcare page behaviour.
   The Content-Security-Policy forbids inline scripts, inline styles and inline event handlers,
   so all behaviour lives here and is attached through data-* attributes.
   Messages are never auto-dismissed: a clinical message stays until the page changes. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx: send Django's CSRF token with every request htmx makes.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // data-confirm="Question?" on a <form>, or on a submit button or link, asks before going on.
  // Forms: checked on submit (covers Enter key and every submit button).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || isHtmxElement(form)) return;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Links and non-submit buttons with data-confirm (submit buttons are handled above,
  // so they are not asked twice). Elements driven by htmx are handled by htmx:confirm below.
  document.addEventListener("click", function (event) {
    var el = event.target instanceof Element ? event.target.closest("[data-confirm]") : null;
    if (!el || el.tagName === "FORM") return;
    if (el.form && (el.type === "submit" || el.type === "image")) return;
    if (isHtmxElement(el)) return;
    if (!window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // htmx requests: ask via htmx's own confirm hook, so the request waits for the answer.
  document.addEventListener("htmx:confirm", function (event) {
    var el = event.detail.elt;
    var trigger = event.detail.triggeringEvent;
    var submitter = trigger && trigger.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) ||
      (el && el.getAttribute && el.getAttribute("data-confirm"));
    if (!message) return;
    event.preventDefault();
    if (window.confirm(message)) {
      event.detail.issueRequest(true);
    }
  });

  var HTMX_VERBS = ["hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"];
  function isHtmxElement(el) {
    for (var i = 0; i < HTMX_VERBS.length; i++) {
      if (el.hasAttribute(HTMX_VERBS[i]) || el.hasAttribute("data-" + HTMX_VERBS[i])) return true;
    }
    return false;
  }

  // Buttons with data-disable-on-submit are disabled once their (non-htmx) form is submitted,
  // to stop a double click from recording the same administration twice.
  // htmx forms should use hx-disabled-elt instead, which htmx re-enables after the response.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented || isHtmxElement(form)) return;
    var buttons = form.querySelectorAll("[data-disable-on-submit]");
    window.setTimeout(function () {
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    }, 0);
  });

  // Coming back with the browser's Back button restores the page from cache: re-enable.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    var buttons = document.querySelectorAll("[data-disable-on-submit]");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = false;
  });
})();

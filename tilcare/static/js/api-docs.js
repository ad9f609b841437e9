// Starts the vendored Swagger UI on /api/v1/docs. Kept out of the page because the
// Content-Security-Policy allows no inline script. The page passes the OpenAPI URL and the CSRF
// token as data attributes; the token lets "Try it out" make POST/PATCH calls with the session.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  var csrfToken = root.getAttribute("data-csrf-token") || "";
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
    // No calls to the public validator service: hospital networks are closed.
    validatorUrl: null,
    requestInterceptor: function (request) {
      if (csrfToken && !request.headers.Authorization) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
})();

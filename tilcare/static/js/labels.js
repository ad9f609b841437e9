/* Item labels: when a label copy has been printed (htmx response header
   HX-Trigger: {"label-printed": {"url": "..."}}), open its PDF so the file downloads.
   The server sends the PDF as an attachment, so the page stays where it is. */
(function () {
  "use strict";
  document.addEventListener("label-printed", function (event) {
    var url = event.detail && event.detail.url;
    if (typeof url === "string" && url.charAt(0) === "/") {
      window.location.assign(url);
    }
  });
})();

/* Calculator charts: draws the chart whose data the server put in the element's data-chart
   attribute (JSON), after a full page load and after each htmx swap of the result panel.
   No inline script: the Content-Security-Policy forbids it. Display only; the numbers are in
   the working beside the chart. */
(function () {
  "use strict";

  var COLOURS = {
    points: ["#1d5ba4", "#7a4d00", "#7a4d00"],
    line: "#1d5ba4",
    limit: "#176b32"
  };

  function draw(container) {
    var read = window.tilcareChart.read(container);
    if (!read) return;
    var chart = read.chart;
    var series = read.series;
    var pointIndex = 0;
    chart.series.forEach(function (s) {
      if (s.kind === "points") {
        var colour = COLOURS.points[Math.min(pointIndex, COLOURS.points.length - 1)];
        pointIndex += 1;
        series.push({ label: s.label, stroke: colour, width: 0, points: { show: true, size: 9, fill: colour } });
      } else if (s.kind === "limit") {
        series.push({ label: s.label, stroke: COLOURS.limit, width: 1.5, dash: [6, 4], points: { show: false } });
      } else {
        series.push({ label: s.label, stroke: COLOURS.line, width: 2, points: { show: !chart.y_log, size: 8 } });
      }
    });
    var width = Math.max(280, container.clientWidth);
    new window.uPlot({
      width: width,
      height: 260,
      scales: { x: { time: false }, y: chart.y_log ? { distr: 3 } : { range: function (u, min, max) { return [0, max * 1.1]; } } },
      axes: [{ label: chart.x_label }, { label: chart.y_label, size: 70 }],
      series: series
    }, read.data, container);
    container.setAttribute("data-drawn", "1");
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // After an outerHTML swap the event target is the old, detached panel: look at the document.
  document.addEventListener("htmx:afterSettle", function () { drawAll(document); });
})();

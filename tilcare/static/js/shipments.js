/* Shipment temperature chart: draws the log the server put in the element's
   data-temperature-chart attribute (JSON), with the acceptable range as a shaded band and the
   readings outside it as red points. Times are shown in the organization's time zone (sent in
   the JSON). No inline script: the Content-Security-Policy forbids it. Display only: the figures
   are in the summary beside the chart. */
(function () {
  "use strict";

  var COLOURS = {
    line: "#1d5ba4",
    outside: "#b0261c",
    limit: "#176b32",
    band: "rgba(23, 107, 50, 0.10)"
  };

  function toNumber(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  function constant(value, length) {
    var values = [];
    for (var i = 0; i < length; i += 1) values.push(value);
    return values;
  }

  function draw(container) {
    if (container.getAttribute("data-drawn") === "1" || !window.uPlot) return;
    var chart = JSON.parse(container.getAttribute("data-temperature-chart"));
    var count = chart.x.length;
    var low = Number(chart.range_min);
    var high = Number(chart.range_max);
    var data = [
      chart.x,
      chart.temperature.map(toNumber),
      chart.outside.map(toNumber),
      constant(high, count),
      constant(low, count)
    ];
    var options = {
      width: Math.max(280, container.clientWidth),
      height: 280,
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), chart.time_zone); },
      scales: {
        x: { time: true },
        y: {
          range: function (u, min, max) {
            var bottom = Math.min(min, low);
            var top = Math.max(max, high);
            var pad = (top - bottom) * 0.1 || 1;
            return [bottom - pad, top + pad];
          }
        }
      },
      axes: [{}, { label: "°C", size: 60 }],
      legend: { live: false },
      series: [
        { label: "Time" },
        { label: "Temperature (°C)", stroke: COLOURS.line, width: 2, points: { show: count <= 200, size: 5 } },
        { label: "Outside range", stroke: COLOURS.outside, width: 0, points: { show: true, size: 9, fill: COLOURS.outside } },
        { label: "Range maximum", stroke: COLOURS.limit, width: 1.5, dash: [6, 4], points: { show: false } },
        { label: "Range minimum", stroke: COLOURS.limit, width: 1.5, dash: [6, 4], points: { show: false } }
      ],
      bands: [{ series: [3, 4], fill: COLOURS.band }]
    };
    new window.uPlot(options, data, container);
    container.setAttribute("data-drawn", "1");
  }

  function drawAll() {
    document.querySelectorAll("[data-temperature-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSettle", drawAll);
})();

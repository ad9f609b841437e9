/* The batch page's growth chart: REP counts, the growth fit, the forecast interval (shaded band
   from the last count to the planned harvest) and the protocol's dose range, drawn with uPlot
   from the JSON the server put in the element's data-chart attribute. No inline script: the
   Content-Security-Policy forbids it. Display only; the numbers are in the tables beside it. */
(function () {
  "use strict";

  var STYLE = {
    points: { stroke: "#1d5ba4", width: 0, points: { show: true, size: 9, fill: "#1d5ba4" } },
    line: { stroke: "#1d5ba4", width: 2, points: { show: false } },
    band_lower: { stroke: "#6a3fb0", width: 1, dash: [3, 3], points: { show: false } },
    band_upper: { stroke: "#6a3fb0", width: 1, dash: [3, 3], points: { show: false } },
    forecast: { stroke: "#6a3fb0", width: 0, points: { show: true, size: 11, fill: "#6a3fb0" } },
    limit: { stroke: "#176b32", width: 1.5, dash: [6, 4], points: { show: false } }
  };

  function draw(container) {
    var read = window.tilcareChart.read(container);
    if (!read) return;
    var chart = read.chart;
    var series = read.series;
    var lower = -1;
    var upper = -1;
    chart.series.forEach(function (s, i) {
      var style = STYLE[s.kind] || STYLE.line;
      var entry = { label: s.label, spanGaps: s.kind === "line" };
      Object.keys(style).forEach(function (key) { entry[key] = style[key]; });
      series.push(entry);
      if (s.kind === "band_lower") lower = i + 1;
      if (s.kind === "band_upper") upper = i + 1;
    });
    var options = {
      width: Math.max(280, container.clientWidth),
      height: 280,
      scales: { x: { time: false }, y: { distr: chart.y_log ? 3 : 1 } },
      axes: [{ label: chart.x_label }, { label: chart.y_label, size: 70 }],
      series: series
    };
    if (lower > 0 && upper > 0) {
      options.bands = [{ series: [upper, lower], fill: "rgba(106, 63, 176, 0.14)" }];
    }
    var plot = new window.uPlot(options, read.data, container);
    container.setAttribute("data-drawn", "1");
    var width = options.width;
    if (window.ResizeObserver) {
      new window.ResizeObserver(function () {
        var now = Math.max(280, container.clientWidth);
        if (now !== width) {
          width = now;
          plot.setSize({ width: now, height: 280 });
        }
      }).observe(container);
    }
  }

  function drawAll() {
    document.querySelectorAll(".batch-chart[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();

/* Read by the pages' chart scripts (calculators.js, batch.js): the chart the server put in an
   element's data-chart attribute (JSON), as uPlot's data and the start of its series list. Each
   page script then styles the series its own way. No inline script: the Content-Security-Policy
   forbids it. */
window.tilcareChart = (function () {
  "use strict";

  function toNumber(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  // null when the element's chart is drawn already or uPlot did not load; otherwise the chart,
  // uPlot's data (the x values, then each series' values) and its series list with the x axis.
  function read(container) {
    if (container.getAttribute("data-drawn") === "1" || !window.uPlot) return null;
    var chart = JSON.parse(container.getAttribute("data-chart"));
    var data = [chart.x.map(Number)];
    chart.series.forEach(function (s) { data.push(s.values.map(toNumber)); });
    return { chart: chart, data: data, series: [{ label: chart.x_label }] };
  }

  return { read: read };
})();

// KPI charts (Chart.js): follow-up speed and completion rate by agency, and both by month.
(function () {
  "use strict";
  var dataNode = document.getElementById("chart-data");
  if (!dataNode || !window.Chart) return;
  var data = JSON.parse(dataNode.textContent);
  var text = JSON.parse(document.getElementById("chart-labels").textContent);
  var BLUE = "#1f6fb2", TEAL = "#1a9c8a", ORANGE = "#e07b00", GREY = "#9aa5b1";
  var base = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } };

  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  }

  chart("chart-agency-speed", {
    type: "bar",
    data: { labels: data.agencies, datasets: [
      { label: text.speed_mean, data: data.agency_speed, backgroundColor: BLUE },
      { label: text.speed_median, data: data.agency_speed_median, backgroundColor: GREY }
    ] },
    options: base
  });
  chart("chart-agency-completion", {
    type: "bar",
    data: { labels: data.agencies, datasets: [
      { label: text.completion, data: data.agency_completion, backgroundColor: TEAL },
      { label: text.on_time, data: data.agency_on_time, backgroundColor: ORANGE }
    ] },
    options: Object.assign({}, base, { scales: { y: { min: 0, max: 100 } } })
  });
  chart("chart-month", {
    data: { labels: data.months, datasets: [
      { type: "bar", label: text.cases, data: data.month_cases, backgroundColor: GREY, yAxisID: "count" },
      { type: "line", label: text.speed, data: data.month_speed, borderColor: BLUE, backgroundColor: BLUE, yAxisID: "days" },
      { type: "line", label: text.completion + " (%)", data: data.month_completion, borderColor: TEAL, backgroundColor: TEAL, yAxisID: "percent" }
    ] },
    options: Object.assign({}, base, { scales: {
      count: { position: "left", beginAtZero: true },
      days: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
      percent: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } }
    } })
  });
  document.body.setAttribute("data-charts", "ready");
})();

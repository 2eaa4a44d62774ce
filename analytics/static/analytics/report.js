// The day-by-day chart and table of an analytics report, from the JSON the page carries.
(function () {
  "use strict";

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = String(text);
    row.appendChild(td);
  }

  function draw() {
    var source = document.getElementById("analytics-chart-data");
    var target = document.getElementById("analytics-chart");
    if (!source || !target) return;
    var data = JSON.parse(source.textContent);
    var body = document.getElementById("analytics-days");
    data.labels.forEach(function (label, i) {
      var row = document.createElement("tr");
      cell(row, label);
      cell(row, data.delivered[i]);
      cell(row, data.tappers[i]);
      cell(row, data.clickers[i]);
      cell(row, data.blocked[i]);
      body.appendChild(row);
    });
    if (!data.x.length) {
      target.textContent = "No events rolled up yet.";
      return;
    }
    if (typeof uPlot === "undefined") return;
    var options = {
      width: Math.min(target.clientWidth || 900, 1100),
      height: 300,
      padding: [12, 48, 0, 8],
      series: [
        { label: "Day", value: function (u, i) { return i == null ? "--" : data.labels[i] || ""; } },
        { label: "Delivered", stroke: "#06C755", width: 2 },
        { label: "New tappers", stroke: "#1f77b4", width: 2 },
        { label: "New link clickers", stroke: "#9467bd", width: 2 },
        { label: "Blocked within 24 h", stroke: "#d62728", width: 2 },
      ],
      // Days of the report's zone, not instants of the browser's: the x axis counts days and shows their dates.
      scales: { x: { time: false } },
      axes: [
        {
          incrs: [1],
          values: function (u, splits) {
            return splits.map(function (i) { return data.labels[i] || ""; });
          },
        },
        {},
      ],
    };
    var days = data.labels.map(function (_, i) { return i; });
    new uPlot(options, [days, data.delivered, data.tappers, data.clickers, data.blocked], target);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

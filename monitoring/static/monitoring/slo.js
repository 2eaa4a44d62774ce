// Burn-down charts of the SLO page: the data is in a JSON script element, never in inline code.
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("slo-charts");
    if (!source || typeof window.uPlot !== "function") {
      return;
    }
    var charts = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var series = charts[el.getAttribute("data-chart")];
      if (!series || series.t.length < 2) {
        el.textContent = "Not enough samples yet for a chart.";
        return;
      }
      var width = Math.max(el.clientWidth, 300);
      new window.uPlot(
        {
          width: width,
          height: 160,
          scales: { y: { range: function (u, min, max) { return [Math.min(min, 0), Math.max(max, 100)]; } } },
          series: [{}, { label: "Budget left %", stroke: "#1a73e8", width: 2 }],
          axes: [{}, { values: function (u, ticks) { return ticks.map(function (v) { return v + "%"; }); } }],
        },
        [series.t, series.v],
        el
      );
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

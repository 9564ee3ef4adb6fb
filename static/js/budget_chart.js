// Draws a budget's chart from its <script type="application/json"> data (no inline scripts):
// cumulative actual spend, the budget line, and the forecast with its band.
(function () {
  "use strict";

  // The palette is light-dark() pairs, which a custom property reads back as written (Chart.js
  // would paint them black): the canvas itself, coloured with the property for a moment, says
  // which colour the theme resolves it to.
  function themeColour(canvas, name) {
    canvas.style.color = "var(" + name + ")";
    const resolved = getComputedStyle(canvas).color;
    canvas.style.color = "";
    return resolved;
  }

  // "rgb(r, g, b)" as see-through paint, for the forecast's band.
  function translucent(colour, alpha) {
    const rgb = colour.match(/[\d.]+/g) || ["0", "0", "0"];
    return "rgba(" + rgb.slice(0, 3).join(", ") + ", " + alpha + ")";
  }

  // The payload carries exact decimal strings; numbers only to draw them.
  function numbers(values) {
    return values.map((value) => (value === null ? null : Number(value)));
  }

  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumSignificantDigits: 6 });

  function draw() {
    if (!window.Chart) return; // the table beside the chart carries every number
    document.querySelectorAll("canvas[data-budget-chart]").forEach((canvas) => {
      const holder = document.querySelector("template.chart-data");
      const source = holder && holder.content.getElementById(canvas.dataset.budgetChart);
      if (!source) return;
      const data = JSON.parse(source.textContent);
      const existing = Chart.getChart(canvas);
      if (existing) existing.destroy();
      const accent = themeColour(canvas, "--accent");
      const warn = themeColour(canvas, "--up");
      const muted = themeColour(canvas, "--muted");
      Chart.defaults.color = muted;
      new Chart(canvas, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Spent (cumulative)", data: numbers(data.actual), borderColor: accent, backgroundColor: accent, pointRadius: 0, tension: 0.2 },
            { label: "Budget", data: numbers(data.budget), borderColor: warn, backgroundColor: warn, borderDash: [6, 4], pointRadius: 0 },
            { label: "Forecast", data: numbers(data.forecast), borderColor: accent, backgroundColor: accent, borderDash: [3, 3], pointRadius: 0 },
            { label: "Forecast low", data: numbers(data.low), borderColor: "transparent", pointRadius: 0, fill: false },
            { label: "Forecast band", data: numbers(data.high), borderColor: "transparent", backgroundColor: translucent(accent, 0.2), pointRadius: 0, fill: "-1" },
          ],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          spanGaps: false,
          plugins: {
            legend: { position: "bottom", labels: { filter: (item) => item.text !== "Forecast low" } },
            tooltip: { callbacks: { label: (item) => item.dataset.label + ": " + money.format(item.parsed.y) } },
          },
          scales: {
            x: { grid: { display: false }, ticks: { autoSkip: true, autoSkipPadding: 16, maxRotation: 0 } },
            y: { beginAtZero: true, ticks: { callback: (v) => money.format(v) }, grid: { color: themeColour(canvas, "--border") } },
          },
        },
      });
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", draw);
  }
})();

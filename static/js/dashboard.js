// Draws every dashboard chart from its <script type="application/json"> data (no inline scripts),
// again after each htmx swap or history restore, in the current theme's colours.
(function () {
  "use strict";
  const live = new Set();
  const loader = document.currentScript.dataset;
  // A CDN that neither answers nor fails would leave the cards blank for minutes.
  const LOAD_TIMEOUT_MS = 8000;

  function loadScript(src, integrity) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      const timer = setTimeout(() => reject(new Error("no answer within " + LOAD_TIMEOUT_MS / 1000 + " s")), LOAD_TIMEOUT_MS);
      script.onload = () => {
        clearTimeout(timer);
        if (window.Chart) resolve(window.Chart);
        else reject(new Error("it loaded but is not Chart.js"));
      };
      script.onerror = () => {
        clearTimeout(timer);
        reject(new Error("the request failed: offline, blocked (network, proxy or an extension), not found, or not the file its integrity hash pins"));
      };
      if (integrity) {
        script.integrity = integrity;
        script.crossOrigin = "anonymous";
      }
      script.src = src;
      document.head.appendChild(script);
    });
  }

  // CHARTJS_URL first, then this server's copy of the same pinned file; the reasons are kept so
  // the page can say why neither worked.
  const failures = [];
  const library = loadScript(loader.chartjsUrl, loader.chartjsSri).catch((error) => {
    failures.push(loader.chartjsUrl + ": " + error.message);
    if (!loader.chartjsFallbackUrl) throw error;
    return loadScript(loader.chartjsFallbackUrl, loader.chartjsFallbackSri).catch((fallbackError) => {
      failures.push("this server's copy, " + loader.chartjsFallbackUrl + ": " + fallbackError.message);
      throw fallbackError;
    });
  });

  // Without Chart.js every number is still in the tables: open them, hide the empty plots and say why.
  function showTablesInstead() {
    const message = document.getElementById("charts-unavailable");
    if (message) {
      message.textContent =
        "The charts could not be drawn: Chart.js did not load (" + failures.join("; ") + "). " +
        "Every figure is in the tables below, opened for you. An operator can check CHARTJS_URL or run bin/fetch-chartjs.";
      message.hidden = false;
    }
    document.querySelectorAll(".chart-box").forEach((box) => (box.hidden = true));
    document.querySelectorAll("details.chart-table").forEach((details) => (details.open = true));
  }

  // The palette is light-dark() pairs, and a custom property reads back as written: the colour
  // the theme resolves a value to ("var(--series-3)", or any CSS colour) is read from a real
  // colour property of an element in the page. Chart.js needs the resolved rgb() text.
  function resolvedColour(value) {
    const probe = document.createElement("span");
    probe.style.color = value;
    document.body.appendChild(probe);
    const colour = getComputedStyle(probe).color;
    probe.remove();
    return colour;
  }

  function themeColour(name) {
    return resolvedColour("var(" + name + ")");
  }

  // A chart's colours, one string or one per bar, in the current theme (one probe per distinct value).
  function paint(value, cache) {
    if (Array.isArray(value)) return value.map((each) => paint(each, cache));
    if (typeof value !== "string") return value;
    if (!cache.has(value)) cache.set(value, resolvedColour(value));
    return cache.get(value);
  }

  // The running bucket's paint: the series colour (resolved), see-through.
  function partialColour(colour) {
    const rgb = colour.match(/[\d.]+/g);
    return "rgba(" + rgb.slice(0, 3).join(", ") + ", 0.35)";
  }

  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumSignificantDigits: 6 });
  const plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

  function formatter(spec) {
    if (spec.money) return (value) => money.format(value);
    if (spec.unit) return (value) => plain.format(value) + " " + spec.unit;
    return (value) => plain.format(value);
  }

  // A long name on a narrow chart: without its "vendor/" prefix, cut with "…" (the tooltip has it whole).
  function shorten(label, narrow) {
    let text = String(label);
    if (narrow && text.includes("/")) text = text.slice(text.lastIndexOf("/") + 1);
    const most = narrow ? 16 : 32;
    return text.length > most ? text.slice(0, most - 1) + "…" : text;
  }

  function legendLabels(spec, narrow) {
    const own = Chart.overrides[spec.type] && Chart.overrides[spec.type].plugins && Chart.overrides[spec.type].plugins.legend;
    const generate = (own && own.labels && own.labels.generateLabels) || Chart.defaults.plugins.legend.labels.generateLabels;
    return {
      boxWidth: narrow ? 10 : 40,
      padding: narrow ? 6 : 10,
      generateLabels: (chart) => generate(chart).map((item) => Object.assign(item, { text: shorten(item.text, narrow) })),
    };
  }

  function config(spec, narrow) {
    const format = formatter(spec);
    const round = spec.type === "doughnut";
    const colours = new Map();
    const datasets = spec.datasets.map((raw) => {
      const dataset = Object.assign({}, raw, { backgroundColor: paint(raw.backgroundColor, colours) });
      const copy = Object.assign({}, dataset);
      // The bucket still running (spec.partial) would read as a drop: drawn dashed or see-through.
      const partial = spec.partial;
      if (spec.type === "line") {
        copy.borderColor = dataset.backgroundColor;
        copy.tension = 0; // straight: a smoothed line overshoots between points
        copy.pointRadius = spec.labels.length > 60 ? 0 : 2;
        copy.fill = false;
        if (partial !== null && partial !== undefined) {
          copy.segment = { borderDash: (context) => (context.p1DataIndex === partial ? [6, 5] : undefined) };
        }
      } else if (partial !== null && partial !== undefined && typeof dataset.backgroundColor === "string") {
        const faded = partialColour(dataset.backgroundColor);
        copy.backgroundColor = dataset.data.map((value, index) => (index === partial ? faded : dataset.backgroundColor));
      }
      if (round) copy.borderColor = themeColour("--surface");
      return copy;
    });
    const options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: round || datasets.length > 1, position: round && !narrow ? "right" : "bottom", labels: legendLabels(spec, narrow) },
        tooltip: {
          callbacks: {
            title: (items) => items.map((item) => item.label + (item.dataIndex === spec.partial ? " (partial, still running)" : "")),
            // A percentile means little without how many requests it is taken from.
            footer: (items) => (spec.requests && items.length ? spec.requests[items[0].dataIndex].toLocaleString("en-US") + " requests measured" : ""),
            label: (item) => {
              const value = round ? item.parsed : spec.horizontal ? item.parsed.x : item.parsed.y;
              return (round ? item.label : item.dataset.label) + ": " + format(value);
            },
          },
        },
      },
      onClick: (event, elements) => {
        if (elements.length && spec.links && spec.links[elements[0].index]) {
          window.location.href = spec.links[elements[0].index];
        }
      },
      onHover: (event, elements) => {
        event.native.target.style.cursor = elements.length ? "pointer" : "default";
      },
    };
    if (!round) {
      const valueAxis = { beginAtZero: true, stacked: !!spec.stacked, ticks: { callback: (v) => format(v), precision: spec.counts ? 0 : undefined }, grid: { color: themeColour("--border") } };
      const ticks = spec.rotate_labels ? { autoSkip: false, maxRotation: 45, minRotation: 30 } : { autoSkip: true, maxRotation: 0 };
      // Names (not dates) along the axis: shortened, so a narrow chart shows them whole, not clipped.
      if (spec.rotate_labels || spec.horizontal) {
        ticks.callback = function (value) {
          return shorten(this.getLabelForValue(value), narrow);
        };
      }
      const categoryAxis = { stacked: !!spec.stacked, grid: { display: false }, ticks: ticks };
      options.indexAxis = spec.horizontal ? "y" : "x";
      options.scales = spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
    }
    return { type: spec.type, data: { labels: spec.labels, datasets: datasets }, options: options };
  }

  function chartSource(id) {
    for (const holder of document.querySelectorAll("template.chart-data")) {
      const found = holder.content.getElementById(id);
      if (found) return found;
    }
    return null;
  }

  function drawAll() {
    library.then(drawCharts, showTablesInstead);
  }

  function drawCharts() {
    for (const chart of Array.from(live)) {
      if (!chart.canvas || !chart.canvas.isConnected) {
        chart.destroy();
        live.delete(chart);
      }
    }
    Chart.defaults.color = themeColour("--muted");
    Chart.defaults.borderColor = themeColour("--border");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const existing = Chart.getChart(canvas);
      if (existing) existing.destroy();
      const source = chartSource(canvas.dataset.chart);
      if (!source) return;
      const narrow = canvas.parentElement.clientWidth < 520;
      const chart = new Chart(canvas, config(JSON.parse(source.textContent), narrow));
      live.add(chart);
    });
  }

  // htmx:load fires on new content (an outerHTML swap's old target is detached, so its
  // afterSwap/afterSettle never reach the document).
  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:load", drawAll);
  document.addEventListener("htmx:historyRestore", drawAll);
  // htmx keeps a copy of the page's HTML to restore on Back; the inline sizes Chart.js put on
  // each canvas would come back as style="" attributes, which the CSP (style-src 'self')
  // blocks with a console error. drawAll sizes the canvases again after the restore.
  document.addEventListener("htmx:beforeHistorySave", (event) => {
    for (const chart of Array.from(live)) {
      chart.destroy();
      live.delete(chart);
    }
    event.detail.historyElt.querySelectorAll("[style]").forEach((element) => element.removeAttribute("style"));
  });
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", drawAll);
  }
})();

/*
 * The handoff report: the figures of GET /console/api/report drawn as inline SVG charts, each
 * with a title, a description and its numbers as a table for screen readers.
 *
 * Plain JavaScript, no library. The SVG is built with DOM calls; every label is a text node.
 */
(() => {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const WIDTH = 560;
  const MAX_LABEL_CHARS = 24;
  const REASONS = {
    requested: "Asked for a person",
    low_confidence: "Bot unsure",
    frustration: "Frustration",
    sensitive_intent: "Sensitive topic",
    failed_flow: "Task failed",
    repeated_question: "Repeated question",
  };

  const main = document.querySelector("[data-api-url]");
  if (!main) {
    return;
  }
  const { byId, h } = window.StaffDom;
  const status = byId("report-status");
  const charts = byId("report-charts");
  const tablesButton = byId("report-tables");
  const refreshButton = byId("report-refresh");
  let showTables = false;
  let uid = 0;

  // ---------------------------------------------------------------- helpers

  function s(tag, attributes, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (value !== null && value !== undefined && value !== false) {
        node.setAttribute(name, String(value));
      }
    });
    append(node, children);
    return node;
  }

  function append(node, children) {
    children.flat(Infinity).forEach((child) => {
      if (child !== null && child !== undefined && child !== false) {
        node.appendChild(typeof child === "string" || typeof child === "number"
          ? document.createTextNode(String(child)) : child);
      }
    });
  }

  function nextId(prefix) {
    uid += 1;
    return `${prefix}-${uid}`;
  }

  function text(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function humanise(name) {
    const words = text(name).replace(/[_:.-]+/g, " ").trim();
    return words ? words.charAt(0).toUpperCase() + words.slice(1) : "(none)";
  }

  function number(value) {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : 0;
  }

  /** The API gives every rate as a fraction of conversations, 0 to 1: as a percentage. */
  function asPercent(rate) {
    return Math.min(100, Math.max(0, number(rate) * 100));
  }

  function formatPercent(value) {
    const rounded = Math.round(value * 10) / 10;
    return `${rounded.toLocaleString(undefined, { maximumFractionDigits: 1 })} %`;
  }

  function formatCount(value) {
    return number(value).toLocaleString();
  }

  function formatSeconds(seconds) {
    const value = Math.round(number(seconds));
    if (value < 60) {
      return `${value} s`;
    }
    const minutes = Math.floor(value / 60);
    const rest = value % 60;
    if (minutes < 60) {
      return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
    }
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function shorten(label) {
    return label.length > MAX_LABEL_CHARS ? `${label.slice(0, MAX_LABEL_CHARS - 1)}…` : label;
  }

  /** Round a maximum up to 1, 2 or 5 times a power of ten, and the step between 5 ticks. */
  function niceScale(maximum, integer) {
    const top = maximum > 0 ? maximum : 1;
    const rough = top / 5;
    const power = 10 ** Math.floor(Math.log10(rough));
    let step = [1, 2, 2.5, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough);
    if (integer) {
      step = Math.max(1, Math.ceil(step));
    }
    return { max: Math.ceil(top / step - 1e-9) * step, step };
  }

  function quantile(sorted, fraction) {
    if (!sorted.length) {
      return 0;
    }
    const position = (sorted.length - 1) * fraction;
    const low = Math.floor(position);
    const high = Math.ceil(position);
    return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
  }

  // ---------------------------------------------------------------- chart frames

  /** A figure: heading, caption, the chart (or a line saying there is no data), its table. */
  function chartCard(options) {
    const headingId = nextId("chart-heading");
    const figure = h("figure", {
      class: "ac-chart-card", "data-testid": options.testid, "aria-labelledby": headingId,
    },
    h("h2", { id: headingId }, options.heading),
    options.caption ? h("figcaption", null, options.caption) : null);
    if (options.empty) {
      figure.appendChild(h("p", { class: "ac-chart-empty", "data-testid": "chart-empty" }, options.empty));
    } else {
      figure.appendChild(options.svg);
      if (options.legend) {
        figure.appendChild(options.legend);
      }
    }
    if (options.table) {
      figure.appendChild(options.table);
    }
    return figure;
  }

  function svgRoot(height, title, description) {
    const titleId = nextId("svg-title");
    const descId = nextId("svg-desc");
    return s("svg", {
      class: "ac-chart", viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height,
      role: "img", "aria-labelledby": `${titleId} ${descId}`, preserveAspectRatio: "xMinYMin meet",
    },
    s("title", { id: titleId }, title),
    s("desc", { id: descId }, description));
  }

  /** The chart's numbers as a table: hidden from sight (not from screen readers) until asked. */
  function dataTable(caption, headers, rows, testid) {
    return h("div", { class: `ac-table-wrap${showTables ? "" : " ac-visually-hidden"}` }, h("table", {
      class: "ac-data-table", "data-testid": testid,
    },
    h("caption", null, caption),
    h("thead", null, h("tr", null, headers.map((header, index) => h("th", {
      scope: "col", class: index ? "ac-number" : null,
    }, header)))),
    h("tbody", null, rows.map((row) => h("tr", null, row.map((cell, index) => (index
      ? h("td", { class: "ac-number" }, cell) : h("th", { scope: "row" }, cell))))))));
  }

  /** Horizontal bars: one row per category, value on a 0..max axis below. */
  function horizontalBars(options) {
    const { rows, title, description, xLabel, format, integer } = options;
    const left = 170;
    const right = WIDTH - 70;
    const rowHeight = 28;
    const top = 8;
    const plotHeight = rows.length * rowHeight;
    const height = top + plotHeight + 46;
    const scale = niceScale(Math.max(...rows.map((row) => row.value), 0), integer);
    const x = (value) => left + (right - left) * (value / scale.max);
    const svg = svgRoot(height, title, description);

    const grid = s("g", { "aria-hidden": "true" });
    for (let tick = 0; tick <= scale.max + 1e-9; tick += scale.step) {
      grid.appendChild(s("line", {
        class: "ac-grid", x1: x(tick), x2: x(tick), y1: top, y2: top + plotHeight,
      }));
      grid.appendChild(s("text", {
        x: x(tick), y: top + plotHeight + 16, "text-anchor": "middle",
      }, format(tick)));
    }
    grid.appendChild(s("line", { class: "ac-axis", x1: left, x2: left, y1: top, y2: top + plotHeight }));
    grid.appendChild(s("text", {
      class: "ac-axis-title", x: (left + right) / 2, y: height - 6, "text-anchor": "middle",
    }, xLabel));
    svg.appendChild(grid);

    rows.forEach((row, index) => {
      const y = top + index * rowHeight;
      const barWidth = Math.max(row.value > 0 ? 2 : 0, x(row.value) - left);
      svg.appendChild(s("g", { class: "ac-bar-row" },
        s("text", { x: left - 8, y: y + rowHeight / 2 + 4, "text-anchor": "end" },
          s("title", null, row.label), shorten(row.label)),
        s("rect", {
          class: "ac-bar-a", x: left, y: y + 5, width: barWidth, height: rowHeight - 10, rx: 3,
        }, s("title", null, `${row.label}: ${row.display}`)),
        s("text", { class: "ac-bar-value", x: left + barWidth + 6, y: y + rowHeight / 2 + 4 }, row.display)));
    });
    return svg;
  }

  /** Vertical bars in groups: categories along x, one bar per series in each. */
  function verticalBars(options) {
    const { categories, series, title, description, xLabel, yLabel, format, gap, integer, edges } = options;
    const left = 56;
    const right = WIDTH - 12;
    const top = 12;
    const plotHeight = 200;
    const height = top + plotHeight + 54;
    const all = series.flatMap((one) => one.values);
    const scale = niceScale(Math.max(...all, 0), integer);
    const y = (value) => top + plotHeight - plotHeight * (value / scale.max);
    const band = (right - left) / Math.max(categories.length, 1);
    const inner = band * (gap === 0 ? 1 : 0.75);
    const barWidth = inner / series.length;
    const svg = svgRoot(height, title, description);

    const grid = s("g", { "aria-hidden": "true" });
    for (let tick = 0; tick <= scale.max + 1e-9; tick += scale.step) {
      grid.appendChild(s("line", { class: "ac-grid", x1: left, x2: right, y1: y(tick), y2: y(tick) }));
      grid.appendChild(s("text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end" }, format(tick)));
    }
    grid.appendChild(s("line", {
      class: "ac-axis", x1: left, x2: right, y1: top + plotHeight, y2: top + plotHeight,
    }));
    grid.appendChild(s("text", {
      class: "ac-axis-title", x: (left + right) / 2, y: height - 6, "text-anchor": "middle",
    }, xLabel));
    grid.appendChild(s("text", {
      class: "ac-axis-title", x: -(top + plotHeight / 2), y: 14, "text-anchor": "middle",
      transform: "rotate(-90)",
    }, yLabel));
    svg.appendChild(grid);

    categories.forEach((category, index) => {
      const start = left + index * band + (band - inner) / 2;
      const group = s("g", { class: "ac-bar-group" });
      series.forEach((one, position) => {
        const value = one.values[index];
        const barTop = y(value);
        group.appendChild(s("rect", {
          class: one.className, x: start + position * barWidth + (gap === 0 ? 0.5 : 1),
          y: barTop, width: Math.max(1, barWidth - (gap === 0 ? 1 : 2)),
          height: top + plotHeight - barTop,
        }, s("title", null, `${series.length > 1 ? `${one.name}, ` : ""}${category}: ${one.display(index)}`)));
      });
      if (!edges) {
        group.appendChild(s("text", {
          x: left + index * band + band / 2, y: top + plotHeight + 16, "text-anchor": "middle",
        }, category));
      }
      svg.appendChild(group);
    });
    if (edges) {
      // A histogram: the bins' bounds under the edges between bars, thinned out when crowded.
      const every = Math.max(1, Math.ceil(44 / band));
      const marks = s("g", { "aria-hidden": "true" });
      edges.forEach((label, index) => {
        if (index % every === 0 || index === edges.length - 1) {
          marks.appendChild(s("line", {
            class: "ac-axis", x1: left + index * band, x2: left + index * band,
            y1: top + plotHeight, y2: top + plotHeight + 4,
          }));
          marks.appendChild(s("text", {
            x: left + index * band, y: top + plotHeight + 17, "text-anchor": "middle",
          }, label));
        }
      });
      svg.appendChild(marks);
    }
    return svg;
  }

  function legend(series) {
    return h("ul", { class: "ac-legend", "aria-hidden": "true" }, series.map((one) => h("li", null,
      h("span", { class: `ac-legend-swatch ${one.className}` }), one.name)));
  }

  // ---------------------------------------------------------------- the charts

  function rateChart(entries, field, options) {
    const rows = (Array.isArray(entries) ? entries : [])
      .map((entry) => ({
        label: options.label(entry[field]),
        value: asPercent(entry.rate),
        count: number(entry.count),
        conversations: number(entry.conversations),
      }))
      .sort((a, b) => b.value - a.value || b.count - a.count);
    rows.forEach((row) => {
      row.display = `${formatPercent(row.value)} (${formatCount(row.conversations)} conv.)`;
    });
    const top = rows[0];
    const description = rows.length
      ? `${rows.length} ${options.plural}. Highest: ${top.label} at ${formatPercent(top.value)} `
        + `(${formatCount(top.conversations)} conversations, ${formatCount(top.count)} handoffs).`
      : "No handoffs yet.";
    return chartCard({
      testid: options.testid,
      heading: options.heading,
      caption: options.caption,
      empty: rows.length ? null : "No handoffs yet.",
      svg: rows.length ? horizontalBars({
        rows, title: options.heading, description, xLabel: "Handoff rate (% of conversations)",
        format: (value) => formatPercent(value),
      }) : null,
      table: dataTable(options.heading, [options.column, "Conversations", "Handoffs", "Rate"],
        rows.map((row) => [row.label, formatCount(row.conversations), formatCount(row.count),
          formatPercent(row.value)]), `${options.testid}-table`),
    });
  }

  function waitChart(waits) {
    const values = (Array.isArray(waits) ? waits : []).map(number).filter((value) => value >= 0);
    const sorted = values.slice().sort((a, b) => a - b);
    const heading = "Time visitors waited for an agent";
    if (!values.length) {
      return chartCard({
        testid: "chart-wait", heading, empty: "No visitor has waited for an agent yet.",
        table: dataTable(heading, ["Wait", "Handoffs"], [], "chart-wait-table"),
      });
    }
    const longest = sorted[sorted.length - 1];
    const widths = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400];
    const width = widths.find((candidate) => longest / candidate < 12) || Math.ceil(longest / 12);
    const binCount = Math.max(1, Math.floor(longest / width) + 1);
    const counts = new Array(binCount).fill(0);
    values.forEach((value) => {
      counts[Math.min(binCount - 1, Math.floor(value / width))] += 1;
    });
    const [unit, size] = width >= 3600 ? ["h", 3600] : width >= 60 ? ["min", 60] : ["s", 1];
    const short = (seconds) => `${seconds / size} ${unit}`;
    const labels = counts.map((_, index) => `${(index * width) / size}–${((index + 1) * width) / size} ${unit}`);
    const edgeLabels = [...counts.map((_, index) => short(index * width)), short(binCount * width)];
    const median = quantile(sorted, 0.5);
    const p90 = quantile(sorted, 0.9);
    const caption = `${formatCount(values.length)} handoffs · median ${formatSeconds(median)} · `
      + `90 % waited at most ${formatSeconds(p90)} · longest ${formatSeconds(longest)}`;
    const fullest = counts.indexOf(Math.max(...counts));
    const description = `Histogram of ${values.length} waits in bins of ${formatSeconds(width)}. `
      + `Most waits (${counts[fullest]}) were ${labels[fullest]}. Median ${formatSeconds(median)}.`;
    return chartCard({
      testid: "chart-wait",
      heading,
      caption,
      svg: verticalBars({
        categories: labels,
        edges: edgeLabels,
        integer: true,
        series: [{
          name: "Handoffs", className: "ac-bar-a", values: counts,
          display: (index) => `${labels[index]}: ${counts[index]} handoffs`,
        }],
        title: heading, description, xLabel: "Wait (from the request to an agent accepting)",
        yLabel: "Handoffs", format: (value) => formatCount(value), gap: 0,
      }),
      table: dataTable(heading, ["Wait", "Handoffs"],
        labels.map((label, index) => [label, formatCount(counts[index])]), "chart-wait-table"),
    });
  }

  function satisfactionChart(satisfaction) {
    const groups = [
      { field: "bot_only", name: "Bot only", className: "ac-bar-a" },
      { field: "human", name: "With an agent", className: "ac-bar-b" },
    ].map((group) => {
      const data = (satisfaction && satisfaction[group.field]) || {};
      const distribution = [0, 1, 2, 3, 4].map((index) => number((data.distribution || [])[index]));
      const count = number(data.count) || distribution.reduce((sum, value) => sum + value, 0);
      const mean = data.mean === null || data.mean === undefined ? null : number(data.mean);
      const shares = distribution.map((value) => (count ? (value / count) * 100 : 0));
      return { ...group, distribution, count, mean, shares };
    });
    const heading = "Satisfaction ratings";
    const meanText = (group) => (group.count && group.mean !== null
      ? `${group.name}: ${group.mean.toFixed(2)} / 5 from ${formatCount(group.count)} ratings`
      : `${group.name}: no ratings`);
    const caption = groups.map(meanText).join(" · ");
    const scores = ["1", "2", "3", "4", "5"];
    const table = dataTable(heading, ["Score", ...groups.flatMap((group) => [`${group.name} (ratings)`, `${group.name} (share)`])],
      scores.map((score, index) => [
        score, ...groups.flatMap((group) => [formatCount(group.distribution[index]), formatPercent(group.shares[index])]),
      ]).concat([
        ["All scores", ...groups.flatMap((group) => [formatCount(group.count), group.count ? "100 %" : "–"])],
        ["Mean score", ...groups.flatMap((group) => [
          group.mean !== null && group.count ? group.mean.toFixed(2) : "–", ""])],
      ]),
      "chart-satisfaction-table");
    if (!groups.some((group) => group.count)) {
      return chartCard({ testid: "chart-satisfaction", heading, empty: "No ratings yet.", table });
    }
    const series = groups.map((group) => ({
      name: group.name, className: group.className, values: group.shares,
      display: (index) => `${formatPercent(group.shares[index])} (${formatCount(group.distribution[index])} ratings)`,
    }));
    return chartCard({
      testid: "chart-satisfaction",
      heading,
      caption,
      svg: verticalBars({
        categories: scores.map((score) => `${score} ★`),
        series,
        title: heading,
        description: `Share of ratings at each score from 1 (worst) to 5 (best), conversations the bot `
          + `handled alone beside those an agent handled. ${caption}.`,
        xLabel: "Score (1 = very unhappy, 5 = very happy)",
        yLabel: "Share of ratings",
        format: (value) => formatPercent(value),
      }),
      legend: legend(series),
      table,
    });
  }

  function dispositionChart(dispositions) {
    const rows = (Array.isArray(dispositions) ? dispositions : [])
      .map((entry) => ({ label: humanise(entry.disposition), value: number(entry.count) }))
      .sort((a, b) => b.value - a.value);
    rows.forEach((row) => {
      row.display = formatCount(row.value);
    });
    const heading = "How agents closed conversations";
    const total = rows.reduce((sum, row) => sum + row.value, 0);
    return chartCard({
      testid: "chart-dispositions",
      heading,
      caption: total ? `${formatCount(total)} closed by agents` : null,
      empty: rows.length ? null : "No conversation closed by an agent yet.",
      svg: rows.length ? horizontalBars({
        rows, title: heading,
        description: `${rows.map((row) => `${row.label}: ${row.display}`).join(", ")}.`,
        xLabel: "Conversations", format: (value) => formatCount(value), integer: true,
      }) : null,
      table: dataTable(heading, ["Disposition", "Conversations"],
        rows.map((row) => [row.label, row.display]), "chart-dispositions-table"),
    });
  }

  function containment(report) {
    const rate = asPercent(report.containment_rate);
    byId("containment-number").textContent = formatPercent(rate);
    byId("conversations-number").textContent = formatCount(report.conversations);
    byId("handoffs-number").textContent = formatCount(report.handoffs);
    const description = `${formatPercent(rate)} of ${formatCount(report.conversations)} conversations `
      + `ended without a person; ${formatCount(report.handed_over_conversations)} were handed to `
      + `agents (${formatCount(report.handoffs)} handoffs).`;
    const svg = s("svg", {
      class: "ac-chart", viewBox: "0 0 200 14", width: 200, height: 14, role: "img",
      preserveAspectRatio: "none",
    });
    const titleId = nextId("svg-title");
    const descId = nextId("svg-desc");
    svg.setAttribute("aria-labelledby", `${titleId} ${descId}`);
    svg.append(
      s("title", { id: titleId }, "Containment rate"),
      s("desc", { id: descId }, description),
      s("rect", { class: "ac-bar-b", x: 0, y: 2, width: 200, height: 10, rx: 5 }),
      s("rect", { class: "ac-bar-a", x: 0, y: 2, width: Math.max(0, Math.min(200, rate * 2)), height: 10, rx: 5 }),
    );
    byId("containment-chart").replaceChildren(svg,
      h("ul", { class: "ac-legend", "aria-hidden": "true" },
        h("li", null, h("span", { class: "ac-legend-swatch ac-bar-a" }), "Bot alone"),
        h("li", null, h("span", { class: "ac-legend-swatch ac-bar-b" }), "Handed to an agent")),
      dataTable("Containment", ["Figure", "Value"], [
        ["Conversations", formatCount(report.conversations)],
        ["Handed to agents (conversations)", formatCount(report.handed_over_conversations)],
        ["Handoffs (a conversation can have several)", formatCount(report.handoffs)],
        ["Contained by the bot", formatPercent(rate)],
      ], "report-containment-table"));
  }

  function render(report) {
    uid = 0;
    containment(report);
    charts.replaceChildren(
      rateChart(report.handoff_rate_by_reason, "reason", {
        testid: "chart-reasons", heading: "Handoff rate by reason", column: "Reason", plural: "reasons",
        caption: "Share of conversations handed to an agent, by what triggered the handoff",
        label: (reason) => REASONS[reason] || humanise(reason),
      }),
      rateChart(report.handoff_rate_by_intent, "intent", {
        testid: "chart-intents", heading: "Handoff rate by intent", column: "Intent", plural: "intents",
        caption: "Share of all conversations handed to an agent, by the topic recognised when it was asked",
        label: (intent) => (text(intent).trim() ? humanise(intent) : "No intent recognised"),
      }),
      waitChart(report.wait_seconds),
      satisfactionChart(report.satisfaction),
      dispositionChart(report.dispositions),
    );
  }

  // ---------------------------------------------------------------- loading

  async function load() {
    refreshButton.disabled = true;
    status.textContent = "Loading the figures…";
    let response;
    try {
      response = await fetch(main.dataset.apiUrl, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
    } catch (error) {
      status.textContent = "The server could not be reached. Try again in a moment.";
      refreshButton.disabled = false;
      return;
    }
    refreshButton.disabled = false;
    if (response.redirected && new URL(response.url).pathname.startsWith("/accounts/login")) {
      status.textContent = "Your session has ended: log in again.";
      return;
    }
    if (!response.ok) {
      status.textContent = response.status === 403
        ? "Your account may not see the report."
        : `The figures could not be loaded (status ${response.status}).`;
      return;
    }
    let report;
    try {
      report = await response.json();
    } catch (error) {
      status.textContent = "The server sent figures the page cannot read.";
      return;
    }
    render(report || {});
    status.textContent = `Updated at ${new Date().toLocaleTimeString()}.`;
    main.dataset.loaded = "true";
  }

  tablesButton.addEventListener("click", () => {
    showTables = !showTables;
    tablesButton.setAttribute("aria-pressed", showTables ? "true" : "false");
    tablesButton.textContent = showTables ? "Hide the data tables" : "Show the data tables";
    document.querySelectorAll(".ac-table-wrap").forEach((wrap) => {
      wrap.classList.toggle("ac-visually-hidden", !showTables);
    });
  });
  refreshButton.addEventListener("click", load);

  load();
})();

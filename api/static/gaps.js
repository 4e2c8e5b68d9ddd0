/*
 * Resolution and knowledge-gap view for employees: GET /v1/analytics/gaps (+ chart.png,
 * report.md) with an internal API key; its `resolution` part is drawn here as an SVG chart.
 * Plain ES2020, no dependencies; server text only ever goes through textContent, never
 * innerHTML.
 */
(() => {
  "use strict";

  const API = "/v1/analytics/gaps";
  // The chat page keeps the key under this name in sessionStorage; reusing it means an
  // employee who typed it there does not type it again.
  const KEY_STORAGE = "help-assistant:api-key";
  const REASONS = {
    refused: "refused",
    low_confidence: "low confidence",
    thumbs_down: "thumbs down",
    unresolved: "unresolved conversation",
  };
  // Outcomes in the order the chart stacks them (bottom first), with their colours.
  const OUTCOMES = [
    { key: "resolved_confirmed", label: "resolved, confirmed", colour: "#1f7a3f" },
    { key: "resolved_assumed", label: "resolved, assumed", colour: "#8cc79c" },
    { key: "escalated", label: "escalated", colour: "#e1a32a" },
    { key: "unresolved", label: "unresolved", colour: "#c0392b" },
  ];
  const RATE_COLOUR = "#2c56c9";
  const SVG = "http://www.w3.org/2000/svg";
  const TRENDS = { new: "new", up: "▲ up", down: "▼ down", flat: "= flat" };
  const els = {};
  let chartUrl = null;

  function h(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children || []) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function storedKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return "";
    }
  }

  function saveKey(value) {
    try {
      if (value) window.sessionStorage.setItem(KEY_STORAGE, value);
      else window.sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      /* storage may be off; the key then lives in the field only */
    }
  }

  function setStatus(text, isError) {
    els.status.textContent = text;
    els.status.classList.toggle("error", Boolean(isError));
  }

  async function call(path, extra) {
    const key = els.key.value.trim();
    const query = new URLSearchParams({ since: els.since.value, ...(extra || {}) });
    const response = await fetch(`${path}?${query}`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    if (!response.ok) {
      let message = `The report could not be loaded (error ${response.status}).`;
      if (response.status === 401 || response.status === 403) {
        message = "This page needs an employee (internal) API key. Check the key and try again.";
      } else {
        try {
          const body = await response.json();
          if (body && body.error && body.error.message) message = body.error.message;
        } catch {
          /* not JSON: keep the generic message */
        }
      }
      throw new Error(message);
    }
    return response;
  }

  function percent(rate) {
    return `${Math.round(rate * 100)}%`;
  }

  function reasonsText(reasons) {
    return Object.entries(reasons)
      .map(([reason, count]) => `${count} ${REASONS[reason] || reason}`)
      .join(", ");
  }

  function renderSummary(report) {
    els.summary.textContent =
      `${report.questions} questions, ${report.answered} answered (${percent(report.answer_rate)}), ` +
      `${report.refused} refused, ${report.low_confidence} with low confidence ` +
      `(below ${report.low_confidence_below}), ${report.thumbs_down} rated thumbs down, ` +
      `${report.unresolved || 0} only in unresolved conversations.`;
  }

  function outcomeText(counts) {
    return (
      `${counts.resolved} resolved (${percent(counts.resolution_rate)}: ` +
      `${counts.resolved_confirmed} confirmed, ${counts.resolved_assumed} assumed), ` +
      `${counts.escalated} escalated (${percent(counts.escalation_rate)}), ` +
      `${counts.unresolved} unresolved`
    );
  }

  function renderResolution(resolution) {
    els.resolution.hidden = !resolution;
    if (!resolution) return;
    els.resolutionSummary.textContent =
      `${resolution.conversations} conversation${resolution.conversations === 1 ? "" : "s"} ` +
      `counted: ${outcomeText(resolution)}. ${resolution.open} still open ` +
      `(a conversation ends after ${resolution.window_minutes} minutes without news).`;
    els.resolutionChart.replaceChildren(resolutionChart(resolution));
    const rows = (slices, empty) =>
      slices.map((s) => [
        s.value === null ? empty : s.value,
        s.conversations,
        `${s.resolved} (${percent(s.resolution_rate)})`,
        `${s.escalated} (${percent(s.escalation_rate)})`,
        s.unresolved,
      ]);
    const none = "No conversations counted in this period.";
    fillTable(els.byKind, rows(resolution.by_kind, "(none cited)"), none);
    fillTable(els.byMode, rows(resolution.by_mode, "(none)"), none);
    const pages = rows(resolution.by_page, "(no page sent)");
    if (resolution.more_pages) pages.push([`${resolution.more_pages} more pages`, "", "", "", ""]);
    fillTable(els.byPage, pages, none);
  }

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  /** Stacked bars of each day's outcomes, and the day's resolution rate as a line. */
  function resolutionChart(resolution) {
    const days = resolution.by_day;
    const width = 900;
    const height = 280;
    const margin = { top: 16, right: 48, bottom: 58, left: 40 };
    const plotW = width - margin.left - margin.right;
    const plotH = height - margin.top - margin.bottom;
    const most = Math.max(1, ...days.map((d) => d.conversations));
    const step = Math.max(1, Math.ceil(most / 4));
    const top = step * Math.ceil(most / step);
    const band = plotW / Math.max(days.length, 1);
    const barW = Math.max(1, Math.min(28, band * 0.7));
    const x = (i) => margin.left + band * i + band / 2;
    const y = (count) => margin.top + plotH - (count / top) * plotH;
    const yRate = (rate) => margin.top + plotH - rate * plotH;
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label":
        `Conversations per day from ${days.length ? days[0].day : "?"} to ` +
        `${days.length ? days[days.length - 1].day : "?"}: ${outcomeText(resolution)}.`,
      class: "resolution-chart",
    });

    for (let count = 0; count <= top; count += step) {
      chart.append(
        svg("line", { x1: margin.left, x2: width - margin.right, y1: y(count), y2: y(count), class: "grid" }),
        svg("text", { x: margin.left - 6, y: y(count) + 4, "text-anchor": "end", class: "tick", text: count }),
      );
    }
    for (const rate of [0, 0.5, 1]) {
      chart.append(
        svg("text", {
          x: width - margin.right + 6, y: yRate(rate) + 4, class: "tick rate-tick", text: percent(rate),
        }),
      );
    }

    const labelEvery = Math.max(1, Math.ceil(days.length / 10));
    days.forEach((day, i) => {
      let base = 0;
      for (const outcome of OUTCOMES) {
        const count = day[outcome.key];
        if (!count) continue;
        chart.append(
          svg("rect", {
            x: x(i) - barW / 2, y: y(base + count), width: barW, height: y(base) - y(base + count),
            fill: outcome.colour, class: `bar bar-${outcome.key}`,
          }, [svg("title", { text: `${day.day}: ${count} ${outcome.label}` })]),
        );
        base += count;
      }
      if (i % labelEvery === 0 || i === days.length - 1) {
        chart.append(
          svg("text", {
            x: x(i), y: height - margin.bottom + 16, "text-anchor": "middle", class: "tick",
            text: day.day.slice(5),
          }),
        );
      }
    });

    const counted = days.map((d, i) => [d, i]).filter(([d]) => d.conversations > 0);
    if (counted.length > 1) {
      chart.append(
        svg("polyline", {
          points: counted.map(([d, i]) => `${x(i)},${yRate(d.resolution_rate)}`).join(" "),
          fill: "none", stroke: RATE_COLOUR, "stroke-width": 2, class: "rate-line",
        }),
      );
    }
    for (const [d, i] of counted) {
      chart.append(
        svg("circle", {
          cx: x(i), cy: yRate(d.resolution_rate), r: 3.5, fill: RATE_COLOUR, class: "rate-point",
        }, [svg("title", { text: `${d.day}: ${percent(d.resolution_rate)} resolved` })]),
      );
    }
    if (!counted.length) {
      chart.append(
        svg("text", {
          x: margin.left + plotW / 2, y: margin.top + plotH / 2, "text-anchor": "middle",
          class: "empty-note", text: "No conversations counted in this period",
        }),
      );
    }

    const legend = [...OUTCOMES, { label: "resolution rate", colour: RATE_COLOUR, line: true }];
    let at = margin.left;
    for (const item of legend) {
      const ly = height - 14;
      chart.append(
        item.line
          ? svg("line", { x1: at, x2: at + 14, y1: ly - 4, y2: ly - 4, stroke: item.colour, "stroke-width": 2 })
          : svg("rect", { x: at, y: ly - 10, width: 12, height: 12, fill: item.colour }),
        svg("text", { x: at + 18, y: ly, class: "legend", text: item.label }),
      );
      at += 30 + item.label.length * 7;
    }
    return chart;
  }

  function renderGroup(group) {
    const action =
      group.action === "write"
        ? h("p", { class: "action write" }, [h("strong", { text: "No content: write it." })])
        : h("p", { class: "action fix" }, [h("strong", { text: "Fix: " }), fixTarget(group.nearest)]);
    const meta = h("p", { class: "meta" }, [
      h("span", { class: `trend trend-${group.trend}`, text: TRENDS[group.trend] || group.trend }),
      ` ${group.count} question${group.count === 1 ? "" : "s"} (${group.previous_count} in the period before) · ` +
        `${reasonsText(group.reasons)} · mostly ${group.audience} callers in ${group.mode} mode · ` +
        `id ${group.id}`,
    ]);
    const examples = h(
      "ul",
      { class: "examples", "aria-label": "Example questions" },
      group.examples.map((e) => h("li", { text: e.question })),
    );
    const exportButton = h("button", {
      type: "button",
      class: "btn btn-secondary btn-small",
      text: "Download as eval cases",
      "aria-label": `Download the questions of "${group.label}" as eval cases`,
    });
    exportButton.addEventListener("click", () =>
      download(`${API}/cases.jsonl`, `gap-${group.id}.jsonl`, { group: group.id }),
    );
    return h("li", { class: "group" }, [
      h("h3", { text: group.label }),
      meta,
      action,
      examples,
      h("p", { class: "group-actions" }, [exportButton]),
    ]);
  }

  function fixTarget(nearest) {
    if (!nearest) return document.createTextNode("the nearest content");
    const label = `${nearest.title} (${nearest.document})`;
    const safeUrl = nearest.url && /^https?:\/\//i.test(nearest.url) ? nearest.url : null;
    const target = safeUrl
      ? h("a", { href: safeUrl, target: "_blank", rel: "noopener noreferrer", text: label })
      : h("span", { text: label });
    const how = nearest.found_by === "cited" ? " — cited by these weak answers" : " — closest content";
    return h("span", {}, [target, how]);
  }

  function fillTable(table, rows, emptyText) {
    const body = table.tBodies[0];
    body.replaceChildren(...rows.map((cells) => h("tr", {}, cells.map((c) => h("td", { text: c })))));
    if (!rows.length) {
      const columns = table.tHead.rows[0].cells.length;
      body.append(h("tr", {}, [h("td", { colspan: columns, class: "empty", text: emptyText })]));
    }
  }

  function render(report) {
    renderSummary(report);
    renderResolution(report.resolution || null);
    els.groups.replaceChildren(...report.groups.map(renderGroup));
    els.noGroups.hidden = report.groups.length > 0;
    fillTable(
      els.kinds,
      report.answer_rate_by_kind.map((k) => [k.kind, k.questions, k.answered, percent(k.answer_rate)]),
      "No questions in this period.",
    );
    fillTable(
      els.cited,
      report.most_cited.map((d) => [`${d.title} (${d.document})`, d.citations]),
      "No answer cited anything in this period.",
    );
    els.never.replaceChildren(...report.never_cited.map((d) => h("li", { text: d })));
    if (!report.never_cited.length) els.never.append(h("li", { text: "Every document was cited." }));
    els.report.hidden = false;
  }

  async function loadChart(report) {
    const response = await call(`${API}/chart.png`);
    if (chartUrl) URL.revokeObjectURL(chartUrl);
    chartUrl = URL.createObjectURL(await response.blob());
    els.chart.src = chartUrl;
    els.chart.alt = report.groups.length
      ? `Bar chart of the ${Math.min(report.groups.length, 12)} largest gap groups by number of questions.`
      : "Chart: no gaps in this period.";
    els.chart.hidden = false;
    els.chartCaption.textContent = "Questions per group, split by why they count as a gap.";
  }

  async function load(event) {
    event.preventDefault();
    if (!els.key.value.trim()) {
      setStatus("Enter an employee API key first.", true);
      els.key.focus();
      return;
    }
    saveKey(els.key.value.trim());
    els.load.disabled = true;
    setStatus("Loading the report…");
    try {
      const report = await (await call(API)).json();
      render(report);
      await loadChart(report);
      setStatus(`Report for ${els.since.options[els.since.selectedIndex].text.toLowerCase()}.`);
    } catch (error) {
      els.report.hidden = true;
      setStatus(error instanceof Error ? error.message : String(error), true);
    } finally {
      els.load.disabled = false;
    }
  }

  async function download(path, filename, extra) {
    try {
      const blob = await (await call(path, extra)).blob();
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: filename });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      setStatus(error instanceof Error ? error.message : String(error), true);
    }
  }

  function init() {
    for (const [name, id] of Object.entries({
      form: "controls",
      key: "api-key",
      since: "since",
      load: "load",
      status: "status",
      report: "report",
      summary: "summary",
      chart: "chart",
      chartCaption: "chart-caption",
      groups: "groups",
      noGroups: "no-groups",
      kinds: "kinds",
      cited: "cited",
      never: "never",
      download: "download-md",
      resolution: "resolution",
      resolutionSummary: "resolution-summary",
      resolutionChart: "resolution-chart",
      byKind: "by-kind",
      byMode: "by-mode",
      byPage: "by-page",
    })) {
      els[name] = document.getElementById(id);
    }
    els.key.value = storedKey();
    els.form.addEventListener("submit", load);
    els.download.addEventListener("click", () => download(`${API}/report.md`, "gaps.md"));
    if (els.key.value) els.form.requestSubmit();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

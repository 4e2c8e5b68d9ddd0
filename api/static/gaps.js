/*
 * Knowledge-gap view for employees: GET /v1/analytics/gaps (+ chart.png, report.md) with an
 * internal API key. Plain ES2020, no dependencies; server text only ever goes through
 * textContent, never innerHTML.
 */
(() => {
  "use strict";

  const API = "/v1/analytics/gaps";
  // The chat page keeps the key under this name in sessionStorage; reusing it means an
  // employee who typed it there does not type it again.
  const KEY_STORAGE = "help-assistant:api-key";
  const REASONS = { refused: "refused", low_confidence: "low confidence", thumbs_down: "thumbs down" };
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
      `(below ${report.low_confidence_below}), ${report.thumbs_down} rated thumbs down.`;
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

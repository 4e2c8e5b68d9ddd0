/*
 * Help assistant chat page (also the embedded widget panel, see widget.js).
 *
 * Plain ES2020, no dependencies, no globals: everything lives in this IIFE.
 * Server text is never passed to innerHTML; every node is built with
 * createElement/textContent.
 *
 * Flow: sendMessage() posts {"stream": true} to /v1/chat and reads the
 * Server-Sent Events (delta…, citations, done; a retraction means "discard
 * the text so far, the whole answer follows"). An AnswerView reveals the
 * received text a few words per tick, so bursts arrive as a smooth stream,
 * and renders the final answer (citation chips, feedback, agent extras) on
 * `done`. Under the latest answer in customer mode, "Contact support" posts to
 * /v1/escalations (the conversation counts as escalated) and says how to reach
 * a person; a reply to "can I talk to a human?" (an Answer with `handover`)
 * links the support page itself.
 */
(() => {
  "use strict";

  // ---------------------------------------------------------------------------
  // Configuration
  // ---------------------------------------------------------------------------

  // Characters a source chip's title shows (CSS clips it too, at the end: keep it under that).
  const CHIP_TITLE_CHARS = 48;
  const CONFLICT_WARNING = "Sources disagree:";

  const CONFIG = Object.freeze({
    endpoint: "/v1/chat",
    feedbackEndpoint: "/v1/feedback",
    escalationEndpoint: "/v1/escalations",
    defaultTitle: "Help assistant",
    modes: ["customer", "agent", "internal"],
    defaultMode: "customer",
    requestTimeoutMs: 90_000,
    maxHistory: 200,
    highlightMs: 2000,
    revealTickMs: 24,
    storageKeys: Object.freeze({
      session: "help-assistant:session-id",
      history: "help-assistant:history",
      mode: "help-assistant:mode",
      productVersion: "help-assistant:product-version",
      apiKey: "help-assistant:api-key",
    }),
    // Messages exchanged with widget.js when the page runs inside its iframe.
    messages: Object.freeze({
      open: "help-assistant:open",
      close: "help-assistant:close",
    }),
  });

  const TEXT = Object.freeze({
    network: "Could not reach the assistant. Try again.",
    timeout: "The assistant took too long to respond. Try again.",
    badResponse: "The assistant sent a response that could not be read. Try again.",
    cutOff: "The answer was cut off before it finished. Try again.",
    httpFallback: (status) => `The assistant could not answer (error ${status}). Try again.`,
    sourcesHeading: "Sources",
    newTab: " (opens in a new tab)",
    retracted: "Checking the answer against the sources…",
    feedbackQuestion: "Was this helpful?",
    feedbackUp: "Helpful",
    feedbackDown: "Not helpful",
    feedbackCommentLabel: (rating) =>
      rating === "up" ? "What helped? (optional)" : "What was missing or wrong? (optional)",
    feedbackSend: "Send feedback",
    feedbackSending: "Sending…",
    feedbackThanks: "Thanks for your feedback.",
    feedbackFailed: "Your feedback could not be sent. Try again.",
    handoverQuestion: "Need a person?",
    contactSupport: "Contact support",
    contactSending: "Contacting support…",
    contactFailed: "Your request could not be sent. Try again.",
    supportLink: "Open the support page",
    copyTicket: "Copy for ticket",
    copied: "Copied to the clipboard",
    copyFailed: "Could not copy. Select the ticket text below and copy it by hand.",
    ticketPreview: "Ticket text",
    internalHeading: "INTERNAL — not for the customer",
    internalNotesLabel: "Internal notes, not for the customer",
  });

  const SOURCE_LABELS = Object.freeze({
    kb: "KB article",
    course: "Course lesson",
    transcript: "Video",
    thread: "Forum post",
  });

  // Line icons (24x24 paths) so the kind is visible at a glance; the label says it in words.
  const SOURCE_ICONS = Object.freeze({
    kb: "M6 2h8l5 5v15H6zM14 2v5h5M9 13h7M9 17h7",
    course: "M2 9l10-5 10 5-10 5zM6 11v5c3 3 9 3 12 0v-5",
    transcript: "M8 5v14l11-7z",
    thread: "M4 4h16v12H9l-5 4z",
    other: "M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1",
  });

  const THUMB_UP =
    "M2 10h4v11H2zM8 21h9.2a2 2 0 0 0 2-1.6l1.6-7.2A2 2 0 0 0 18.8 10H14l.9-4.2A1.9 1.9 0 0 0 11.6 4L8 10z";

  // Matches [1], [12] and grouped markers such as [1, 2].
  const MARKER_RE = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;
  // An item marker alone ("3.") is an item still being written while the answer streams.
  const ORDERED_ITEM_RE = /^\s*(\d{1,2})[.)](?:\s+(.*))?$/;
  const BULLET_ITEM_RE = /^\s*[-*\u2022](?:\s+(.*))?$/;
  const INTERNAL_PREFIX_RE = /^\s*INTERNAL\b[^:]*:\s*/;

  // ---------------------------------------------------------------------------
  // State & element references
  // ---------------------------------------------------------------------------

  const params = new URLSearchParams(window.location.search);

  const state = {
    busy: false,
    controller: null, // AbortController of the in-flight request
    sessionId: null,
    mode: CONFIG.defaultMode,
    productVersion: "",
    apiKey: "",
    embedded: params.get("embed") === "1",
    hostPage: null, // in widget.js's panel: the host page's path, sent as context.page
    history: [], // [{role: "user", text}, {role: "assistant", data}]
    pendingFeedback: null, // a chosen but unsent rating: sent before the next question
    seq: 0, // unique suffix for element ids
  };

  const els = {};
  const highlightTimers = new WeakMap();

  // ---------------------------------------------------------------------------
  // Small utilities
  // ---------------------------------------------------------------------------

  /** Create an element. `attrs.text` sets textContent; children may be strings (text nodes). */
  function h(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = String(value);
        else node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    if (children !== undefined && children !== null) {
      for (const child of [].concat(children)) {
        if (child === null || child === undefined || child === false) continue;
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  const store = {
    get(area, key) {
      try {
        return window[area].getItem(key);
      } catch {
        return null;
      }
    },
    set(area, key, value) {
      try {
        if (value === null || value === undefined) window[area].removeItem(key);
        else window[area].setItem(key, value);
      } catch {
        /* storage unavailable (private mode, quota): keep working in memory */
      }
    },
  };

  function prefersReducedMotion() {
    return Boolean(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  }

  function scrollBehavior() {
    return prefersReducedMotion() ? "auto" : "smooth";
  }

  /** Only http(s) links (absolute or same-origin relative) are allowed. */
  function safeUrl(raw) {
    if (typeof raw !== "string" || !raw.trim()) return null;
    try {
      const url = new URL(raw.trim(), window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function formatTimestamp(totalSeconds) {
    const s = Math.max(0, Math.floor(totalSeconds));
    const hours = Math.floor(s / 3600);
    const minutes = Math.floor((s % 3600) / 60);
    const seconds = s % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return hours > 0 ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${minutes}:${pad(seconds)}`;
  }

  function toSeconds(value) {
    if (value === null || value === undefined || value === "") return null;
    const n = Number(value);
    return Number.isFinite(n) && n >= 0 ? n : null;
  }

  function sourceLabel(citation) {
    const type = citation.source_type;
    if (type === "transcript") {
      const start = toSeconds(citation.start_seconds);
      return start === null ? SOURCE_LABELS.transcript : `Video at ${formatTimestamp(start)}`;
    }
    return SOURCE_LABELS[type] || "Source";
  }

  function citationKey(id) {
    const n = Number(id);
    return Number.isFinite(n) ? String(n) : String(id ?? "").trim();
  }

  /** Keep well-formed citations, first occurrence of each id wins. */
  function normaliseCitations(raw) {
    if (!Array.isArray(raw)) return [];
    const seen = new Set();
    const out = [];
    for (const c of raw) {
      if (!c || typeof c !== "object") continue;
      const key = citationKey(c.id);
      if (!key || seen.has(key)) continue;
      seen.add(key);
      out.push({ ...c, key });
    }
    return out;
  }

  function nextId(prefix) {
    state.seq += 1;
    return `${prefix}-${state.seq}`;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // ---------------------------------------------------------------------------
  // Persistence (session id, transcript, settings)
  // ---------------------------------------------------------------------------

  function saveSessionId(id) {
    state.sessionId = id || null;
    store.set("sessionStorage", CONFIG.storageKeys.session, state.sessionId);
  }

  function recordHistory(entry) {
    state.history.push(entry);
    if (state.history.length > CONFIG.maxHistory) {
      state.history.splice(0, state.history.length - CONFIG.maxHistory);
    }
    store.set("sessionStorage", CONFIG.storageKeys.history, JSON.stringify(state.history));
  }

  function clearHistory() {
    state.history = [];
    store.set("sessionStorage", CONFIG.storageKeys.history, null);
  }

  function loadHistory() {
    const raw = store.get("sessionStorage", CONFIG.storageKeys.history);
    if (!raw) return [];
    try {
      const parsed = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter((e) => e && typeof e === "object") : [];
    } catch {
      return [];
    }
  }

  function saveMode(mode) {
    state.mode = CONFIG.modes.includes(mode) ? mode : CONFIG.defaultMode;
    if (!state.embedded) store.set("localStorage", CONFIG.storageKeys.mode, state.mode);
    applyModeVisibility();
  }

  function saveProductVersion(value) {
    state.productVersion = String(value ?? "").trim().slice(0, 64);
    if (!state.embedded) {
      store.set("localStorage", CONFIG.storageKeys.productVersion, state.productVersion || null);
    }
  }

  function saveApiKey(value) {
    state.apiKey = String(value ?? "").trim();
    // Session storage only: a key should not outlive the browser session.
    store.set("sessionStorage", CONFIG.storageKeys.apiKey, state.apiKey || null);
  }

  /** What an answer keeps in the saved transcript (enough to render it again). */
  function historyData(data) {
    return {
      answer: data.answer,
      citations: Array.isArray(data.citations) ? data.citations : [],
      confidence: data.confidence ?? null,
      refused: data.refused === true,
      session_id: data.session_id ?? null,
      warnings: Array.isArray(data.warnings) ? data.warnings : [],
      ticket_text: typeof data.ticket_text === "string" ? data.ticket_text : null,
      internal_notes: data.internal_notes && typeof data.internal_notes === "object"
        ? data.internal_notes
        : null,
      handover: data.handover && typeof data.handover === "object" ? data.handover : null,
    };
  }

  // ---------------------------------------------------------------------------
  // Log helpers
  // ---------------------------------------------------------------------------

  function removeEmptyState() {
    const empty = els.log.querySelector(".empty-state");
    if (empty) empty.remove();
  }

  /** True when the reader is at (or near) the bottom, so new text may scroll the log. */
  function nearBottom() {
    const log = els.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  }

  /**
   * Append a node to the log and scroll. For long answers we scroll to the
   * start of the message so the reader begins at the top, not the bottom.
   */
  function appendToLog(node, { alignStart = false, instant = false } = {}) {
    removeEmptyState();
    els.log.append(node);
    scrollToNode(node, { alignStart, instant });
    return node;
  }

  function scrollToNode(node, { alignStart = false, instant = false } = {}) {
    const log = els.log;
    let top = log.scrollHeight;
    if (alignStart && node.offsetHeight > log.clientHeight * 0.8) {
      top = Math.max(0, node.offsetTop - 12);
    }
    if (typeof log.scrollTo === "function") {
      log.scrollTo({ top, behavior: instant ? "auto" : scrollBehavior() });
    } else {
      log.scrollTop = top;
    }
  }

  function clearLog() {
    els.log.replaceChildren(els.emptyState.cloneNode(true));
  }

  // ---------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------

  function renderUserMessage(text, opts = {}) {
    const msg = h("div", { class: "msg user" }, [h("span", { class: "msg-text", text })]);
    return appendToLog(msg, opts);
  }

  /**
   * Append text to `parent`, turning [n] markers into citation buttons when
   * `makeMarker(key)` returns a node; unknown markers stay as literal text.
   */
  function appendInline(parent, text, makeMarker) {
    const str = String(text);
    if (!makeMarker) {
      parent.append(str);
      return;
    }
    let last = 0;
    MARKER_RE.lastIndex = 0;
    let match;
    while ((match = MARKER_RE.exec(str)) !== null) {
      const keys = match[1].split(",").map((k) => citationKey(k.trim()));
      const markers = keys.map((k) => makeMarker(k));
      if (markers.some((m) => !m)) continue; // leave unknown references as text
      if (match.index > last) parent.append(str.slice(last, match.index));
      for (const m of markers) parent.append(m);
      last = match.index + match[0].length;
    }
    if (last < str.length) parent.append(str.slice(last));
  }

  /** Append lines joined by <br>. */
  function appendLines(parent, lines, makeMarker) {
    lines.forEach((line, i) => {
      if (i > 0) parent.append(h("br"));
      appendInline(parent, line, makeMarker);
    });
  }

  /** Split answer text into paragraphs and (numbered / bulleted) lists. */
  function parseBlocks(text) {
    const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
    const blocks = [];
    let current = null;
    for (const line of lines) {
      const ordered = ORDERED_ITEM_RE.exec(line);
      const bullet = ordered ? null : BULLET_ITEM_RE.exec(line);
      if (ordered) {
        if (!current || current.type !== "ol") blocks.push((current = { type: "ol", items: [] }));
        current.items.push({ n: Number(ordered[1]), lines: [ordered[2] ?? ""] });
      } else if (bullet) {
        if (!current || current.type !== "ul") blocks.push((current = { type: "ul", items: [] }));
        current.items.push({ lines: [bullet[1] ?? ""] });
      } else if (!line.trim()) {
        current = null;
      } else if (current && current.type !== "p" && /^\s+/.test(line)) {
        // Indented continuation of the previous list item.
        current.items[current.items.length - 1].lines.push(line.trim());
      } else {
        if (!current || current.type !== "p") blocks.push((current = { type: "p", lines: [] }));
        current.lines.push(line);
      }
    }
    return blocks;
  }

  function renderRichText(container, text, makeMarker) {
    for (const block of parseBlocks(text)) {
      if (block.type === "p") {
        const p = h("p");
        appendLines(p, block.lines, makeMarker);
        container.append(p);
      } else {
        const list = h(block.type);
        for (const item of block.items) {
          const li = h("li");
          if (block.type === "ol" && Number.isFinite(item.n)) li.value = item.n;
          appendLines(li, item.lines, makeMarker);
          list.append(li);
        }
        container.append(list);
      }
    }
  }

  function makeMarkerFactory(citationsByKey) {
    return (key) => {
      const citation = citationsByKey.get(key);
      if (!citation) return null;
      const title = citation.title ? String(citation.title) : "";
      const button = h("button", {
        type: "button",
        class: "cite-ref",
        "data-citation-id": key,
        "aria-label": title ? `Source ${key}: ${title}` : `Source ${key}`,
        title: title || null,
        text: key,
      });
      return h("sup", { class: "cite-marker" }, [button]);
    };
  }

  /** During streaming the sources are not known yet: markers are shown, not clickable. */
  function pendingMarker(key) {
    return h("sup", { class: "cite-marker" }, [
      h("span", { class: "cite-ref is-pending", "aria-hidden": "true", text: key }),
    ]);
  }

  function audienceLabel(citation) {
    const audience = String(citation.audience ?? "public").trim().toLowerCase();
    if (audience === "public") return null;
    return audience === "partner" ? "Partner" : "Internal";
  }

  /**
   * "Course > Module > Lesson > Tips" shows its two most specific parts, "Lesson › Tips" (the
   * whole path is the chip's tooltip); a long lesson name is shortened, never the last part.
   */
  function shortTitle(title) {
    const parts = title.split(" > ").map((part) => part.trim()).filter(Boolean);
    const last = parts[parts.length - 1] || "";
    if (parts.length < 2) return clip(last, CHIP_TITLE_CHARS);
    const room = Math.max(16, CHIP_TITLE_CHARS - last.length - 3);
    return `${clip(parts[parts.length - 2], room)} › ${last}`;
  }

  function clip(text, chars) {
    return text.length <= chars ? text : `${text.slice(0, chars - 1).trimEnd()}…`;
  }

  function renderCitation(citation) {
    const url = safeUrl(citation.url);
    const title = String(citation.title ?? "").trim() || "Untitled source";
    const snippet = String(citation.snippet ?? "").trim();
    const tooltip = snippet
      ? `${title}\n\n${snippet.length > 400 ? `${snippet.slice(0, 399)}…` : snippet}`
      : title;
    const type = Object.prototype.hasOwnProperty.call(SOURCE_LABELS, citation.source_type)
      ? citation.source_type
      : "other";
    const author = String(citation.author ?? "").trim();

    const chip = h(url ? "a" : "span", {
      class: "citation",
      "data-citation-id": citation.key,
      "data-source-type": type,
      href: url,
      target: url ? "_blank" : null,
      rel: url ? "noopener" : null,
      tabindex: url ? null : "-1", // still focusable when a marker jumps to it
      title: tooltip,
    });

    // sr-only separators keep the spoken name readable ("Source 1: Title, KB article").
    const sep = (text) => h("span", { class: "sr-only", text });
    chip.append(
      h("span", { class: "citation-num" }, [sep("Source "), citation.key, sep(": ")]),
      h("span", { class: "citation-icon", "aria-hidden": "true" }, [svgIcon(SOURCE_ICONS[type], { size: 14 })]),
      h("span", { class: "citation-title", "aria-hidden": "true", text: shortTitle(title) }),
      sep(title),
      sep(", "),
      h("span", { class: `badge badge-source badge-${type}`, text: sourceLabel(citation) })
    );
    if (type === "thread" && author) {
      chip.append(sep(", "), h("span", { class: "citation-author", text: `by ${author}` }));
    }
    const reviewed = citation.reviewed !== false;
    chip.append(
      sep(", "),
      h("span", {
        class: reviewed ? "badge badge-reviewed" : "badge badge-unreviewed",
        text: reviewed ? "Reviewed" : "Unreviewed",
        title: reviewed ? "Checked by the content team" : "Not yet checked by the content team",
      })
    );
    const audience = audienceLabel(citation);
    if (audience) chip.append(sep(", "), h("span", { class: "badge badge-internal", text: audience }));
    if (url) chip.append(h("span", { class: "sr-only", text: TEXT.newTab }));
    return chip;
  }

  /** Build the citation chip list; returns null when there is nothing to show. */
  function renderCitations(list, heading = TEXT.sourcesHeading) {
    if (!list.length) return null;
    const headingId = nextId("sources");
    const ul = h("ul", { class: "citation-list", "aria-labelledby": headingId });
    for (const citation of list) ul.append(h("li", null, [renderCitation(citation)]));
    return h("div", { class: "citations" }, [
      h("p", { class: "citations-heading", id: headingId, text: heading }),
      ul,
    ]);
  }

  function renderConfidence(confidence) {
    const n = Number(confidence);
    if (confidence === null || confidence === undefined || confidence === "" || !Number.isFinite(n)) {
      return null;
    }
    const pct = Math.round(Math.min(1, Math.max(0, n)) * 100);
    return h("p", { class: "meta confidence", text: `Confidence ${pct}%` });
  }

  function renderWarnings(warnings) {
    const list = (Array.isArray(warnings) ? warnings : []).filter(
      (w) => typeof w === "string" && w.trim()
    );
    if (!list.length) return null;
    return h(
      "ul",
      { class: "meta warnings", "aria-label": "Warnings" },
      list.map((w) => h("li", { text: w }))
    );
  }

  /** Answer text with [n] markers that jump to their chips, followed by the chips. */
  function renderCitedText(container, text, citations, heading) {
    const byKey = new Map(citations.map((c) => [c.key, c]));
    const body = h("div", { class: "answer-text" });
    renderRichText(body, text, citations.length ? makeMarkerFactory(byKey) : null);
    container.append(body);
    const chips = renderCitations(citations, heading);
    if (chips) container.append(chips);
  }

  /** Agent mode: the INTERNAL findings, visibly apart from the customer-ready answer. */
  function renderInternalNotes(notes) {
    if (!notes || typeof notes !== "object" || typeof notes.text !== "string") return null;
    const headingId = nextId("internal");
    const box = h("section", {
      class: "internal-notes",
      "aria-labelledby": headingId,
      "data-internal": "true",
    });
    box.append(
      h("h2", { class: "internal-heading", id: headingId }, [
        h("span", { class: "badge badge-internal-strong", text: "INTERNAL" }),
        h("span", { class: "sr-only", text: " " }),
        h("span", { text: TEXT.internalHeading.replace(/^INTERNAL\s*/, "") }),
      ])
    );
    const citations = normaliseCitations(notes.citations);
    renderCitedText(box, notes.text.replace(INTERNAL_PREFIX_RE, ""), citations, "Internal sources");
    return box;
  }

  /** Agent mode: "Copy for ticket" plus a preview of exactly what gets copied. */
  function renderTicket(ticketText) {
    if (typeof ticketText !== "string" || !ticketText.trim()) return null;
    const status = h("span", { class: "copy-status", role: "status" });
    const button = h("button", {
      type: "button",
      class: "btn btn-secondary btn-small copy-ticket",
      "data-ticket-text": ticketText,
      text: TEXT.copyTicket,
    });
    button.addEventListener("click", async () => {
      const ok = await copyText(ticketText);
      status.textContent = ok ? TEXT.copied : TEXT.copyFailed;
      button.classList.toggle("is-copied", ok);
      if (!ok) preview.open = true;
      setTimeout(() => {
        status.textContent = "";
        button.classList.remove("is-copied");
      }, 4000);
    });
    const preview = h("details", { class: "ticket-preview" }, [
      h("summary", { text: TEXT.ticketPreview }),
      h("pre", { class: "ticket-text", text: ticketText }),
    ]);
    return h("div", { class: "ticket" }, [h("div", { class: "ticket-row" }, [button, status]), preview]);
  }

  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch {
      /* permission refused or not focused: fall back below */
    }
    const area = h("textarea", { class: "sr-only", readonly: true, "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    const active = document.activeElement;
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    if (active && typeof active.focus === "function") active.focus();
    return ok;
  }

  /** A small inline SVG icon (decorative: screen readers get the text label instead). */
  function svgIcon(d, { fill = false, size = 16 } = {}) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("fill", fill ? "currentColor" : "none");
    if (!fill) {
      svg.setAttribute("stroke", "currentColor");
      svg.setAttribute("stroke-width", "2");
      svg.setAttribute("stroke-linejoin", "round");
      svg.setAttribute("stroke-linecap", "round");
    }
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }

  /**
   * Thumbs up/down for the session's latest answer. Choosing a thumb opens an
   * optional comment box; "Send feedback" posts both. A chosen but unsent
   * rating is sent when the next question is asked.
   */
  function renderFeedback(sessionId) {
    if (!sessionId) return null;
    const group = h("div", { class: "feedback", "data-session-id": sessionId });
    const questionId = nextId("feedback-q");
    const thumbs = h("div", { class: "feedback-row", role: "group", "aria-labelledby": questionId }, [
      h("span", { class: "feedback-question", id: questionId, text: TEXT.feedbackQuestion }),
    ]);
    const buttons = {};
    for (const rating of ["up", "down"]) {
      const label = rating === "up" ? TEXT.feedbackUp : TEXT.feedbackDown;
      buttons[rating] = h("button", {
        type: "button",
        class: `thumb thumb-${rating}`,
        "data-rating": rating,
        "aria-pressed": "false",
        "aria-label": label,
        title: label,
      });
      buttons[rating].append(svgIcon(THUMB_UP, { fill: true, size: 18 }));
      thumbs.append(buttons[rating]);
    }

    const commentId = nextId("feedback-comment");
    const commentLabel = h("label", { for: commentId, class: "feedback-label" });
    const comment = h("textarea", {
      id: commentId,
      class: "feedback-text",
      rows: "2",
      maxlength: "2000",
    });
    const send = h("button", { type: "submit", class: "btn btn-secondary btn-small", text: TEXT.feedbackSend });
    const form = h("form", { class: "feedback-form", hidden: true, novalidate: true }, [
      commentLabel,
      comment,
      h("div", { class: "feedback-actions" }, [send]),
    ]);
    const status = h("p", { class: "feedback-status", role: "status" });
    group.append(thumbs, form, status);

    const pending = { sessionId, rating: null, submit: () => submit() };

    for (const rating of ["up", "down"]) {
      buttons[rating].addEventListener("click", () => {
        pending.rating = rating;
        for (const r of ["up", "down"]) buttons[r].setAttribute("aria-pressed", String(r === rating));
        commentLabel.textContent = TEXT.feedbackCommentLabel(rating);
        form.hidden = false;
        state.pendingFeedback = pending;
        comment.focus();
      });
    }

    comment.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit();
      }
    });

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });

    let sending = false;
    async function submit() {
      if (sending || !pending.rating) return;
      sending = true;
      send.disabled = true;
      send.textContent = TEXT.feedbackSending;
      status.textContent = "";
      const body = { session_id: sessionId, rating: pending.rating };
      const text = comment.value.trim();
      if (text) body.comment = text.slice(0, 2000);
      try {
        const response = await fetch(CONFIG.feedbackEndpoint, {
          method: "POST",
          headers: requestHeaders("application/json"),
          body: JSON.stringify(body),
          credentials: "same-origin",
        });
        if (!response.ok) throw new AssistantError(await errorMessage(response));
        if (state.pendingFeedback === pending) state.pendingFeedback = null;
        const hadFocus = group.contains(document.activeElement);
        group.classList.add("is-done");
        group.replaceChildren(
          h("p", { class: "feedback-status feedback-thanks", role: "status", tabindex: "-1" }, [
            h("span", { "aria-hidden": "true", text: "\u2713 " }),
            TEXT.feedbackThanks,
          ])
        );
        if (hadFocus) group.firstChild.focus();
      } catch (err) {
        status.textContent = err instanceof AssistantError ? err.message : TEXT.feedbackFailed;
        send.disabled = false;
        send.textContent = TEXT.feedbackSend;
      } finally {
        sending = false;
      }
    }
    return group;
  }

  /** Only the latest answer of a session can be rated: drop unrated rows of older ones. */
  function retireFeedback() {
    for (const row of els.log.querySelectorAll(".feedback:not(.is-done)")) row.remove();
    for (const row of els.log.querySelectorAll(".handover:not(.is-done)")) row.remove();
  }

  /** A link to the support page (ASSISTANT_SUPPORT_URL), when the server has one. */
  function supportLink(url) {
    const href = safeUrl(url);
    if (!href) return null;
    const link = h("a", {
      class: "btn btn-secondary btn-small support-link",
      href,
      target: "_blank",
      rel: "noopener noreferrer",
    }, [TEXT.supportLink]);
    link.append(h("span", { class: "sr-only", text: TEXT.newTab }));
    return link;
  }

  /**
   * "Contact support" under the session's latest answer: records the request
   * for a person (any chosen but unsent rating goes first) and shows how to
   * reach support, as the server words it.
   */
  function renderContactSupport(sessionId) {
    if (!sessionId) return null;
    const questionId = nextId("handover-q");
    const button = h("button", {
      type: "button",
      class: "btn btn-secondary btn-small contact-support",
      "aria-describedby": questionId,
      text: TEXT.contactSupport,
    });
    const status = h("p", { class: "feedback-status", role: "status" });
    const group = h("div", { class: "handover" }, [
      h("div", { class: "feedback-row" }, [
        h("span", { class: "feedback-question", id: questionId, text: TEXT.handoverQuestion }),
        button,
      ]),
      status,
    ]);

    let sending = false;
    button.addEventListener("click", async () => {
      if (sending) return;
      sending = true;
      button.disabled = true;
      button.textContent = TEXT.contactSending;
      status.textContent = "";
      if (state.pendingFeedback) {
        const pending = state.pendingFeedback;
        state.pendingFeedback = null;
        await pending.submit();
      }
      try {
        const response = await fetch(CONFIG.escalationEndpoint, {
          method: "POST",
          headers: requestHeaders("application/json"),
          body: JSON.stringify({ session_id: sessionId }),
          credentials: "same-origin",
        });
        if (!response.ok) throw new AssistantError(await errorMessage(response));
        const receipt = await response.json();
        const hadFocus = group.contains(document.activeElement);
        const note = h("div", { class: "handover-note", role: "status", tabindex: "-1" });
        renderRichText(note, typeof receipt?.message === "string" ? receipt.message : "", null);
        const link = supportLink(receipt?.support_url);
        group.classList.add("is-done");
        group.replaceChildren(note, ...(link ? [link] : []));
        if (hadFocus) note.focus();
      } catch (err) {
        status.textContent = err instanceof AssistantError ? err.message : TEXT.contactFailed;
        button.disabled = false;
        button.textContent = TEXT.contactSupport;
      } finally {
        sending = false;
      }
    });
    return group;
  }

  /** Fill an assistant message element with a finished answer. */
  function fillAnswer(msg, data, { feedback = true } = {}) {
    const refused = data.refused === true;
    msg.className = refused ? "msg assistant refused" : "msg assistant";
    msg.replaceChildren();
    msg.setAttribute("data-state", "done");
    msg.removeAttribute("aria-busy");

    const content = h("div", { class: "msg-content" });
    msg.append(content);
    if (refused) {
      const body = h("div", { class: "answer-text" });
      renderRichText(body, data.answer, null);
      content.append(body);
    } else {
      const citations = normaliseCitations(data.citations);
      renderCitedText(content, data.answer, citations, TEXT.sourcesHeading);
      // A reply without sources ("hi" -> "Hello! …") has no confidence worth showing.
      const conf = citations.length ? renderConfidence(data.confidence) : null;
      if (conf) content.append(conf);
    }
    // A note the answer text already says ("Part of your question is not covered …") is not
    // repeated; nor is "Sources disagree: …", since the answer itself then says which source
    // said what (assistant/conflicts.py writes both).
    const text = typeof data.answer === "string" ? data.answer : "";
    const warnings = renderWarnings(
      (Array.isArray(data.warnings) ? data.warnings : []).filter(
        (w) => !text.includes(w) && !(w.startsWith(CONFLICT_WARNING) && /\[\d+\]/.test(text))
      )
    );
    if (warnings) content.append(warnings);
    const ticket = renderTicket(data.ticket_text);
    if (ticket) content.append(ticket);
    const notes = renderInternalNotes(data.internal_notes);
    if (notes) content.append(notes);
    if (data.handover && typeof data.handover === "object") {
      const link = supportLink(data.handover.support_url);
      if (link) content.append(h("p", { class: "handover-link" }, [link]));
    }
    if (feedback) {
      const row = renderFeedback(data.session_id);
      if (row) content.append(row);
      // Someone who just asked for a person has been told how to reach one.
      if (state.mode === "customer" && !data.handover) {
        const contact = renderContactSupport(data.session_id);
        if (contact) content.append(contact);
      }
    }
    return msg;
  }

  /** Render a saved answer (transcript restore). */
  function renderAnswer(data, opts = {}) {
    const msg = fillAnswer(h("div"), data, { feedback: opts.feedback !== false });
    return appendToLog(msg, { alignStart: true, instant: opts.instant });
  }

  function renderError(message) {
    const notice = h("div", { class: "msg error", role: "alert" }, [
      h("span", { class: "error-text", text: String(message || TEXT.network) }),
    ]);
    return appendToLog(notice);
  }

  function focusCitation(msgEl, key, scope) {
    if (!msgEl) return;
    const root = scope || msgEl;
    const chip = Array.from(root.querySelectorAll(".citation")).find(
      (c) => c.getAttribute("data-citation-id") === key
    );
    if (!chip) return;
    chip.scrollIntoView({ block: "nearest", behavior: scrollBehavior() });
    chip.focus({ preventScroll: true });
    chip.classList.remove("is-highlighted");
    void chip.offsetWidth; // restart the highlight animation
    chip.classList.add("is-highlighted");
    clearTimeout(highlightTimers.get(chip));
    highlightTimers.set(
      chip,
      setTimeout(() => chip.classList.remove("is-highlighted"), CONFIG.highlightMs)
    );
  }

  // ---------------------------------------------------------------------------
  // A streaming answer
  // ---------------------------------------------------------------------------

  /**
   * An assistant message that grows while the answer streams in. Received text
   * is revealed a few words per tick (all at once with reduced motion), so a
   * burst of events still reads as a stream; finish() waits for the reveal to
   * catch up, then renders the whole answer.
   */
  class AnswerView {
    constructor() {
      this.received = "";
      this.shown = 0;
      this.timer = null;
      this.drainWaiters = [];
      this.body = h("div", { class: "answer-text" });
      this.note = h("p", { class: "meta stream-note", hidden: true });
      this.msg = h("div", {
        class: "msg assistant is-streaming",
        "data-state": "waiting",
        "aria-busy": "true",
      }, [h("div", { class: "msg-content" }, [this.body, this.note])]);
    }

    attach() {
      appendToLog(this.msg);
    }

    append(text) {
      if (!text) return;
      this.received += text;
      this.note.hidden = true;
      els.thinking.hidden = true;
      this.schedule();
    }

    /** The server discarded what it sent: clear it and wait for the whole answer. */
    retract() {
      this.received = "";
      this.shown = 0;
      this.msg.setAttribute("data-state", "retracted");
      this.note.textContent = TEXT.retracted;
      this.note.hidden = false;
      this.render();
    }

    schedule() {
      if (this.timer !== null) return;
      if (prefersReducedMotion()) {
        this.shown = this.received.length;
        this.render();
        this.settle();
        return;
      }
      this.timer = setTimeout(() => this.tick(), CONFIG.revealTickMs);
    }

    tick() {
      this.timer = null;
      const backlog = this.received.length - this.shown;
      if (backlog > 0) {
        // Reveal a fifth of the backlog (at least a few characters), up to a word end.
        let end = this.shown + Math.max(6, Math.ceil(backlog / 5));
        const space = this.received.slice(end).search(/\s/);
        end = space < 0 ? this.received.length : end + space;
        this.shown = Math.min(end, this.received.length);
        this.render();
      }
      if (this.shown < this.received.length) this.schedule();
      else this.settle();
    }

    render() {
      const stick = nearBottom();
      this.msg.setAttribute("data-state", this.shown ? "streaming" : this.msg.getAttribute("data-state"));
      this.body.replaceChildren();
      renderRichText(this.body, this.received.slice(0, this.shown), pendingMarker);
      if (this.shown) {
        const block = this.body.lastElementChild;
        const host = block && block.tagName !== "P" ? block.lastElementChild || block : block;
        (host || this.body).append(h("span", { class: "stream-caret", "aria-hidden": "true" }));
      }
      if (stick) scrollToNode(this.msg, { instant: true });
    }

    settle() {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }

    /** Resolves once everything received so far is on screen. */
    drained() {
      if (this.shown >= this.received.length && this.timer === null) return Promise.resolve();
      return new Promise((resolve) => this.drainWaiters.push(resolve));
    }

    async finish(data, opts) {
      // The done event carries the whole answer: show the rest of it before the final render.
      if (typeof data.answer === "string" && data.answer.startsWith(this.received)) {
        this.append(data.answer.slice(this.received.length));
      }
      await this.drained();
      this.msg.classList.remove("is-streaming");
      fillAnswer(this.msg, data, opts);
    }

    /** Stop revealing (conversation reset or error); keeps what is shown. */
    stop() {
      clearTimeout(this.timer);
      this.timer = null;
      this.msg.classList.remove("is-streaming");
      this.msg.removeAttribute("aria-busy");
      this.msg.setAttribute("data-state", "stopped");
      for (const caret of this.msg.querySelectorAll(".stream-caret")) caret.remove();
      if (!this.shown) this.msg.remove();
      this.settle();
    }
  }

  // ---------------------------------------------------------------------------
  // Transport
  // ---------------------------------------------------------------------------

  class AssistantError extends Error {}

  function requestHeaders(accept) {
    const headers = { "Content-Type": "application/json", Accept: accept };
    if (state.apiKey) headers.Authorization = `Bearer ${state.apiKey}`;
    return headers;
  }

  /** The API's error message ({"error": {"message"}}), or a generic one for the status. */
  async function errorMessage(response) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    const message = data?.error?.message ?? (typeof data?.detail === "string" ? data.detail : null);
    return typeof message === "string" && message.trim()
      ? message
      : TEXT.httpFallback(response.status);
  }

  /** Split a Server-Sent Events buffer into complete events; returns [events, rest]. */
  function parseEvents(buffer) {
    const events = [];
    // A "\r" at the very end may be the first half of a "\r\n" split across chunks.
    const blocks = buffer.replace(/\r\n/g, "\n").replace(/\r(?!$)/g, "\n").split("\n\n");
    const rest = blocks.pop();
    for (const block of blocks) {
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) events.push({ name, data: data.join("\n") });
    }
    return [events, rest];
  }

  /**
   * POST the question with "stream": true and feed the events to `view`.
   * Resolves with the Answer object of the `done` event; throws AssistantError.
   */
  async function streamAnswer(payload, view, signal) {
    const failure = () =>
      new AssistantError(signal.reason === "timeout" ? TEXT.timeout : TEXT.network);
    let response;
    try {
      response = await fetch(CONFIG.endpoint, {
        method: "POST",
        headers: requestHeaders("text/event-stream"),
        body: JSON.stringify({ ...payload, stream: true }),
        signal,
        credentials: "same-origin",
      });
    } catch {
      throw failure(); // aborts by "New conversation" are ignored by the caller
    }
    if (!response.ok) throw new AssistantError(await errorMessage(response));

    const type = response.headers.get("content-type") || "";
    if (!type.includes("text/event-stream") || !response.body) {
      // A server that ignores "stream" answers with plain JSON: render that.
      let data;
      try {
        data = await response.json();
      } catch {
        throw signal.aborted ? failure() : new AssistantError(TEXT.badResponse);
      }
      if (!data || typeof data.answer !== "string") throw new AssistantError(TEXT.badResponse);
      return data;
    }

    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        throw failure();
      }
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      const [events, rest] = parseEvents(buffer);
      buffer = rest;
      for (const event of events) {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          throw new AssistantError(TEXT.badResponse);
        }
        if (event.name === "delta" && typeof data?.text === "string") view.append(data.text);
        else if (event.name === "retraction") view.retract(data?.reason);
        else if (event.name === "error") {
          throw new AssistantError(data?.error?.message || data?.message || TEXT.network);
        } else if (event.name === "done") {
          if (!data || typeof data.answer !== "string") throw new AssistantError(TEXT.badResponse);
          reader.cancel().catch(() => {});
          return data;
        }
        // `citations` arrives just before `done`, which repeats it in the Answer object.
      }
    }
    throw new AssistantError(TEXT.cutOff);
  }

  // ---------------------------------------------------------------------------
  // Controller
  // ---------------------------------------------------------------------------

  function setBusy(busy) {
    state.busy = busy;
    els.send.disabled = busy;
    els.thinking.hidden = !busy;
    els.form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function autoGrow() {
    const q = els.question;
    q.style.height = "auto";
    q.style.height = `${q.scrollHeight + 2}px`; // + borders; CSS caps with max-height
  }

  function chatPayload(message) {
    const payload = { message, mode: state.mode };
    if (state.sessionId) payload.session_id = state.sessionId;
    if (state.productVersion) payload.product_version = state.productVersion;
    if (state.hostPage) payload.context = { page: state.hostPage.slice(0, 500) };
    return payload;
  }

  async function sendMessage(rawText) {
    if (state.busy) return;
    const message = String(rawText ?? "").trim();
    if (!message) {
      els.question.focus();
      return;
    }

    renderUserMessage(message);
    recordHistory({ role: "user", text: message });
    els.question.value = "";
    autoGrow();
    setBusy(true);
    if (state.pendingFeedback) {
      // A chosen thumb counts even without "Send feedback"; it rates the answer it sits on,
      // so it is sent before the next answer becomes the session's latest.
      const pending = state.pendingFeedback;
      state.pendingFeedback = null;
      await pending.submit();
    }

    const controller = new AbortController();
    state.controller = controller;
    const timer = setTimeout(() => controller.abort("timeout"), CONFIG.requestTimeoutMs);
    const view = new AnswerView();
    view.attach();

    try {
      const data = await streamAnswer(chatPayload(message), view, controller.signal);
      if (state.controller !== controller) return; // conversation was reset meanwhile
      els.thinking.hidden = true;
      if (typeof data.session_id === "string" && data.session_id) saveSessionId(data.session_id);
      retireFeedback();
      await view.finish(data, { feedback: true });
      if (state.controller !== controller) return;
      recordHistory({ role: "assistant", data: historyData(data) });
    } catch (err) {
      view.stop();
      if (state.controller !== controller) return;
      renderError(err instanceof AssistantError ? err.message : TEXT.network);
      // Let the user retry without retyping.
      if (!els.question.value) {
        els.question.value = message;
        autoGrow();
      }
    } finally {
      clearTimeout(timer);
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false);
        const active = document.activeElement;
        if (!active || active === document.body || active === els.question) els.question.focus();
      }
    }
  }

  function newConversation() {
    if (state.controller) {
      const controller = state.controller;
      state.controller = null;
      controller.abort();
    }
    state.pendingFeedback = null;
    setBusy(false);
    saveSessionId(null);
    clearHistory();
    clearLog();
    els.question.focus();
  }

  function restoreHistory() {
    const entries = loadHistory();
    const lastAnswer = entries.map((e) => e.role).lastIndexOf("assistant");
    entries.forEach((entry, i) => {
      if (entry.role === "user" && typeof entry.text === "string") {
        renderUserMessage(entry.text, { instant: true });
        state.history.push(entry);
      } else if (entry.role === "assistant" && entry.data && typeof entry.data.answer === "string") {
        renderAnswer(entry.data, { instant: true, feedback: i === lastAnswer });
        state.history.push(entry);
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------

  function applyTitle() {
    const host = document.querySelector("[data-title]");
    const fromPage = host && host.getAttribute("data-title").trim();
    const title = (state.embedded && params.get("title")) || fromPage || CONFIG.defaultTitle;
    if (els.title) els.title.textContent = title;
    document.title = title;
  }

  /** Agent and internal mode show the API key field; internal mode the knowledge-gap link. */
  function applyModeVisibility() {
    if (els.apiKeyField) els.apiKeyField.hidden = state.mode === "customer";
    if (els.gapsLink) els.gapsLink.hidden = state.mode !== "internal";
  }

  function bindEvents() {
    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendMessage(els.question.value);
    });

    els.question.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        sendMessage(els.question.value);
      }
    });

    els.question.addEventListener("input", autoGrow);

    if (els.newConversation) els.newConversation.addEventListener("click", newConversation);
    if (els.mode) els.mode.addEventListener("change", () => saveMode(els.mode.value));
    if (els.productVersion) {
      els.productVersion.addEventListener("input", () => saveProductVersion(els.productVersion.value));
    }
    if (els.apiKey) els.apiKey.addEventListener("input", () => saveApiKey(els.apiKey.value));

    // Citation markers: one delegated handler for the whole log.
    els.log.addEventListener("click", (event) => {
      const marker = event.target.closest(".cite-ref");
      if (!marker || marker.tagName !== "BUTTON" || !els.log.contains(marker)) return;
      event.preventDefault();
      focusCitation(
        marker.closest(".msg"),
        marker.getAttribute("data-citation-id"),
        marker.closest(".internal-notes")
      );
    });

    if (state.embedded) bindEmbedMessages();
  }

  /** Inside widget.js's iframe: the host page tells us its path; we ask it to close. */
  function bindEmbedMessages() {
    window.addEventListener("message", (event) => {
      if (event.source !== window.parent || !event.data || typeof event.data !== "object") return;
      if (event.data.type === CONFIG.messages.open) {
        if (typeof event.data.page === "string" && event.data.page) state.hostPage = event.data.page;
        els.question.focus();
      }
    });
    const close = () => window.parent.postMessage({ type: CONFIG.messages.close }, "*");
    if (els.close) els.close.addEventListener("click", close);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented) close();
    });
  }

  function init() {
    els.title = document.getElementById("app-title");
    els.log = document.getElementById("log");
    els.form = document.getElementById("chat-form") || document.getElementById("question")?.form;
    els.question = document.getElementById("question");
    els.send = document.getElementById("send");
    els.thinking = document.getElementById("thinking");
    els.newConversation = document.getElementById("new-conversation");
    els.close = document.getElementById("close-widget");
    els.mode = document.getElementById("mode");
    els.productVersion = document.getElementById("product-version");
    els.apiKey = document.getElementById("api-key");
    els.apiKeyField = document.getElementById("api-key-field");
    els.gapsLink = document.getElementById("gaps-link");
    if (!els.log || !els.form || !els.question || !els.send) return;

    if (!els.thinking) {
      els.thinking = h("div", { id: "thinking", class: "thinking", role: "status", hidden: true }, "Thinking…");
      els.form.prepend(els.thinking);
    }

    const existingEmpty = els.log.querySelector(".empty-state");
    els.emptyState = existingEmpty ? existingEmpty.cloneNode(true) : h("div", { class: "empty-state" });

    if (state.embedded) {
      state.hostPage = params.get("page") || null;
      document.documentElement.classList.add("embed");
      if (els.close) els.close.hidden = false;
    }
    applyTitle();

    // An embedding page decides mode and product version (widget.js data attributes).
    const storedMode = state.embedded
      ? params.get("mode")
      : store.get("localStorage", CONFIG.storageKeys.mode);
    state.mode = CONFIG.modes.includes(storedMode) ? storedMode : CONFIG.defaultMode;
    if (els.mode) els.mode.value = state.mode;
    state.productVersion = (state.embedded
      ? params.get("product_version")
      : store.get("localStorage", CONFIG.storageKeys.productVersion)) || "";
    if (els.productVersion) els.productVersion.value = state.productVersion;
    state.apiKey = store.get("sessionStorage", CONFIG.storageKeys.apiKey) || "";
    if (els.apiKey) els.apiKey.value = state.apiKey;
    applyModeVisibility();

    state.sessionId = store.get("sessionStorage", CONFIG.storageKeys.session) || null;
    restoreHistory();

    bindEvents();
    setBusy(false);
    autoGrow();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init, { once: true });
  } else {
    init();
  }
})();

/*
 * Help assistant chat page.
 *
 * Plain ES2020, no dependencies, no globals: everything lives in this IIFE.
 * Server text is never passed to innerHTML; every node is built with
 * createElement/textContent.
 *
 * Extension points:
 *   - requestAnswer(): the transport. A streaming (SSE) variant can replace it
 *     and call renderAnswer()/updateAnswer() incrementally.
 *   - renderAnswer() returns the message element, so feedback buttons can be
 *     appended to it (see the "msg-actions" placeholder comment).
 */
(() => {
  "use strict";

  // ---------------------------------------------------------------------------
  // Configuration
  // ---------------------------------------------------------------------------

  const CONFIG = Object.freeze({
    endpoint: "/v1/chat",
    defaultTitle: "Help assistant",
    modes: ["customer", "agent", "internal"],
    defaultMode: "customer",
    requestTimeoutMs: 90_000,
    maxHistory: 200,
    highlightMs: 2000,
    storageKeys: Object.freeze({
      session: "help-assistant:session-id",
      history: "help-assistant:history",
      mode: "help-assistant:mode",
    }),
  });

  const TEXT = Object.freeze({
    network: "Could not reach the assistant. Try again.",
    timeout: "The assistant took too long to respond. Try again.",
    badResponse: "The assistant sent a response that could not be read. Try again.",
    httpFallback: (status) => `The assistant could not answer (error ${status}). Try again.`,
    sourcesHeading: "Sources",
    newTab: " (opens in a new tab)",
  });

  const SOURCE_LABELS = Object.freeze({
    kb: "KB article",
    course: "Course lesson",
    transcript: "Video",
    thread: "Forum post",
  });

  // Matches [1], [12] and grouped markers such as [1, 2].
  const MARKER_RE = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;
  const ORDERED_ITEM_RE = /^\s*(\d{1,2})[.)]\s+(.*)$/;
  const BULLET_ITEM_RE = /^\s*[-*\u2022]\s+(.*)$/;

  // ---------------------------------------------------------------------------
  // State & element references
  // ---------------------------------------------------------------------------

  const state = {
    busy: false,
    controller: null, // AbortController of the in-flight request
    sessionId: null,
    mode: CONFIG.defaultMode,
    history: [], // [{role: "user", text}, {role: "assistant", data}]
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

  function isInternal(citation) {
    return String(citation.audience ?? "").trim().toLowerCase() !== "public";
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

  // ---------------------------------------------------------------------------
  // Persistence (session id, transcript, mode)
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
    store.set("localStorage", CONFIG.storageKeys.mode, state.mode);
  }

  // ---------------------------------------------------------------------------
  // Log helpers
  // ---------------------------------------------------------------------------

  function removeEmptyState() {
    const empty = els.log.querySelector(".empty-state");
    if (empty) empty.remove();
  }

  /**
   * Append a node to the log and scroll. For long answers we scroll to the
   * start of the message so the reader begins at the top, not the bottom.
   */
  function appendToLog(node, { alignStart = false, instant = false } = {}) {
    removeEmptyState();
    els.log.append(node);
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
    return node;
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
        current.items.push({ n: Number(ordered[1]), lines: [ordered[2]] });
      } else if (bullet) {
        if (!current || current.type !== "ul") blocks.push((current = { type: "ul", items: [] }));
        current.items.push({ lines: [bullet[1]] });
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

  function renderCitation(citation) {
    const url = safeUrl(citation.url);
    const title = String(citation.title ?? "").trim() || "Untitled source";
    const snippet = String(citation.snippet ?? "").trim();
    const type = Object.prototype.hasOwnProperty.call(SOURCE_LABELS, citation.source_type)
      ? citation.source_type
      : "other";

    const chip = h(url ? "a" : "span", {
      class: "citation",
      "data-citation-id": citation.key,
      "data-source-type": type,
      href: url,
      target: url ? "_blank" : null,
      rel: url ? "noopener" : null,
      tabindex: url ? null : "-1", // still focusable when a marker jumps to it
      title: snippet ? (snippet.length > 400 ? `${snippet.slice(0, 399)}…` : snippet) : null,
    });

    // sr-only separators keep the spoken name readable ("Source 1: Title, KB article").
    const sep = (text) => h("span", { class: "sr-only", text });
    chip.append(
      h("span", { class: "citation-num" }, [sep("Source "), citation.key, sep(": ")]),
      h("span", { class: "citation-title", text: title }),
      sep(", "),
      h("span", { class: `badge badge-source badge-${type}`, text: sourceLabel(citation) })
    );
    if (isInternal(citation)) {
      chip.append(sep(", "), h("span", { class: "badge badge-internal", text: "Internal" }));
    }
    if (url) chip.append(h("span", { class: "sr-only", text: TEXT.newTab }));
    return chip;
  }

  /** Build the citation chip list; returns null when there is nothing to show. */
  function renderCitations(citations) {
    const list = normaliseCitations(citations);
    if (!list.length) return null;
    const headingId = `sources-${++state.seq}`;
    const ul = h("ul", { class: "citation-list", "aria-labelledby": headingId });
    for (const citation of list) ul.append(h("li", null, [renderCitation(citation)]));
    return h("div", { class: "citations" }, [
      h("p", { class: "citations-heading", id: headingId, text: TEXT.sourcesHeading }),
      ul,
    ]);
  }

  function renderConfidence(confidence) {
    const n = Number(confidence);
    if (confidence === null || confidence === undefined || confidence === "" || !Number.isFinite(n)) {
      return null;
    }
    const pct = Math.round(Math.min(1, Math.max(0, n)) * 100);
    return h("p", { class: "meta confidence", text: `confidence ${pct}%` });
  }

  /**
   * Render an assistant answer ({answer, citations, confidence, refused}) and
   * return its message element.
   */
  function renderAnswer(data, opts = {}) {
    const refused = data.refused === true;
    const citations = refused ? [] : normaliseCitations(data.citations);
    const byKey = new Map(citations.map((c) => [c.key, c]));

    const msg = h("div", { class: refused ? "msg assistant refused" : "msg assistant" });

    const body = h("div", { class: "answer-text" });
    renderRichText(body, data.answer, refused ? null : makeMarkerFactory(byKey));
    msg.append(body);

    if (!refused) {
      const chips = renderCitations(citations);
      if (chips) msg.append(chips);
      const conf = renderConfidence(data.confidence);
      if (conf) msg.append(conf);
    }
    // Future: msg.append(renderFeedback(data)) — a ".msg-actions" row.

    return appendToLog(msg, { alignStart: true, ...opts });
  }

  function renderError(message) {
    const notice = h("div", { class: "msg error" }, [
      h("span", { class: "error-text", text: String(message || TEXT.network) }),
    ]);
    return appendToLog(notice);
  }

  function focusCitation(msgEl, key) {
    if (!msgEl) return;
    const chip = Array.from(msgEl.querySelectorAll(".citation")).find(
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
  // Transport
  // ---------------------------------------------------------------------------

  class AssistantError extends Error {}

  /** POST the question; resolves with the parsed answer or throws AssistantError. */
  async function requestAnswer(payload, signal) {
    let response;
    try {
      response = await fetch(CONFIG.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
        signal,
        credentials: "same-origin",
      });
    } catch {
      // Aborts by "New conversation" are ignored by the caller.
      throw new AssistantError(signal.reason === "timeout" ? TEXT.timeout : TEXT.network);
    }

    let data = null;
    try {
      const raw = await response.text();
      data = raw ? JSON.parse(raw) : null;
    } catch {
      if (signal.aborted) {
        throw new AssistantError(signal.reason === "timeout" ? TEXT.timeout : TEXT.network);
      }
      data = null;
    }

    if (!response.ok) {
      const serverMessage =
        data?.error?.message ?? (typeof data?.detail === "string" ? data.detail : null);
      throw new AssistantError(
        typeof serverMessage === "string" && serverMessage.trim()
          ? serverMessage
          : TEXT.httpFallback(response.status)
      );
    }
    if (!data || typeof data !== "object" || typeof data.answer !== "string") {
      throw new AssistantError(TEXT.badResponse);
    }
    return data;
  }

  // ---------------------------------------------------------------------------
  // Controller
  // ---------------------------------------------------------------------------

  function setBusy(busy) {
    state.busy = busy;
    els.send.disabled = busy;
    els.question.disabled = busy;
    els.thinking.hidden = !busy;
    els.form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function autoGrow() {
    const q = els.question;
    q.style.height = "auto";
    q.style.height = `${q.scrollHeight + 2}px`; // + borders; CSS caps with max-height
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

    const controller = new AbortController();
    state.controller = controller;
    const timer = setTimeout(() => controller.abort("timeout"), CONFIG.requestTimeoutMs);

    const payload = { message, mode: state.mode };
    if (state.sessionId) payload.session_id = state.sessionId;

    try {
      const data = await requestAnswer(payload, controller.signal);
      if (state.controller !== controller) return; // conversation was reset meanwhile
      if (typeof data.session_id === "string" && data.session_id) saveSessionId(data.session_id);
      renderAnswer(data);
      recordHistory({
        role: "assistant",
        data: {
          answer: data.answer,
          citations: Array.isArray(data.citations) ? data.citations : [],
          confidence: data.confidence ?? null,
          refused: data.refused === true,
        },
      });
    } catch (err) {
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
    setBusy(false);
    saveSessionId(null);
    clearHistory();
    clearLog();
    els.question.focus();
  }

  function restoreHistory() {
    const entries = loadHistory();
    for (const entry of entries) {
      if (entry.role === "user" && typeof entry.text === "string") {
        renderUserMessage(entry.text, { instant: true });
        state.history.push(entry);
      } else if (entry.role === "assistant" && entry.data && typeof entry.data.answer === "string") {
        renderAnswer(entry.data, { alignStart: false, instant: true });
        state.history.push(entry);
      }
    }
  }

  // ---------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------

  function applyTitle() {
    const host = document.querySelector("[data-title]");
    const title = (host && host.getAttribute("data-title").trim()) || CONFIG.defaultTitle;
    if (els.title) els.title.textContent = title;
    document.title = title;
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

    // Citation markers: one delegated handler for the whole log.
    els.log.addEventListener("click", (event) => {
      const marker = event.target.closest(".cite-ref");
      if (!marker || !els.log.contains(marker)) return;
      event.preventDefault();
      focusCitation(marker.closest(".msg"), marker.getAttribute("data-citation-id"));
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
    els.mode = document.getElementById("mode");
    if (!els.log || !els.form || !els.question || !els.send) return;

    if (!els.thinking) {
      els.thinking = h("div", { id: "thinking", class: "thinking", role: "status", hidden: true }, "Thinking…");
      els.form.prepend(els.thinking);
    }

    const existingEmpty = els.log.querySelector(".empty-state");
    els.emptyState = existingEmpty ? existingEmpty.cloneNode(true) : h("div", { class: "empty-state" });

    applyTitle();

    const storedMode = store.get("localStorage", CONFIG.storageKeys.mode);
    state.mode = CONFIG.modes.includes(storedMode) ? storedMode : CONFIG.defaultMode;
    if (els.mode) els.mode.value = state.mode;

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

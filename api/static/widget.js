/*
 * Help assistant widget: one tag in any site adds a launcher button and a chat panel.
 *
 *   <script src="https://help.example.com/widget.js" defer
 *           data-title="Ledgerly Help" data-label="Help"
 *           data-mode="customer" data-product-version="4.2" data-position="right"></script>
 *
 * Every data-* attribute is optional. The panel is an iframe of the assistant's own chat
 * page in its embed layout (/?embed=1), so questions go to the API from the API's origin
 * (no CORS setup) and the host page's styles cannot leak in. The host page's path goes
 * along as context.page, updated each time the panel opens (single-page apps change it).
 *
 * Plain ES2020, no dependencies; the only global is a guard against loading it twice.
 */
(() => {
  "use strict";

  const script =
    document.currentScript || document.querySelector('script[src$="/widget.js"], script[src*="/widget.js?"]');
  if (!script || window.__helpAssistantWidget) return;
  window.__helpAssistantWidget = true;

  const MESSAGES = { open: "help-assistant:open", close: "help-assistant:close" };
  // The chat page lives where widget.js is served from (/widget.js or /static/widget.js).
  const base = new URL(script.src, window.location.href).href.replace(/(static\/)?widget\.js(\?.*)?$/, "");
  const origin = new URL(base).origin;
  const data = script.dataset;
  const config = {
    title: (data.title || "Help assistant").trim(),
    label: (data.label || "Help").trim(),
    mode: (data.mode || "customer").trim(),
    productVersion: (data.productVersion || "").trim(),
    left: data.position === "left",
  };

  const STYLE = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .launcher {
      position: fixed; bottom: 1.25rem; ${config.left ? "left" : "right"}: 1.25rem;
      z-index: 2147483000;
      display: inline-flex; align-items: center; gap: 0.5rem;
      min-height: 3rem; padding: 0.65rem 1.1rem;
      font: 600 15px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
      color: #fff; background: #2c56c9;
      border: 0; border-radius: 999px; cursor: pointer;
      box-shadow: 0 4px 14px rgba(20, 28, 40, 0.25);
    }
    .launcher:hover { background: #2347a8; }
    .launcher:focus-visible { outline: 3px solid #1b2129; outline-offset: 3px; }
    .launcher svg { width: 20px; height: 20px; fill: currentColor; }
    .panel {
      position: fixed; bottom: 5.25rem; ${config.left ? "left" : "right"}: 1.25rem;
      z-index: 2147483000;
      width: min(26rem, calc(100vw - 2.5rem));
      height: min(40rem, calc(100vh - 7rem));
      background: #fff;
      border: 1px solid #dfe3e9; border-radius: 14px; overflow: hidden;
      box-shadow: 0 12px 40px rgba(20, 28, 40, 0.25);
    }
    .panel[hidden] { display: none; }
    iframe { display: block; width: 100%; height: 100%; border: 0; }
    @media (max-width: 30rem) {
      .panel { inset: 0; width: 100vw; height: 100vh; border-radius: 0; border: 0; }
    }
  `;

  function hostPage() {
    return window.location.pathname || "/";
  }

  function frameUrl() {
    const url = new URL(base);
    url.searchParams.set("embed", "1");
    url.searchParams.set("page", hostPage());
    url.searchParams.set("title", config.title);
    url.searchParams.set("mode", config.mode);
    if (config.productVersion) url.searchParams.set("product_version", config.productVersion);
    return url.href;
  }

  const root = document.createElement("div");
  root.id = "help-assistant-widget";
  const shadow = root.attachShadow({ mode: "open" });

  const style = document.createElement("style");
  style.textContent = STYLE;

  const panel = document.createElement("div");
  panel.className = "panel";
  panel.id = "help-assistant-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", config.title);
  panel.hidden = true;

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", panel.id);
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  icon.append(path);
  const launcherText = document.createElement("span");
  launcherText.textContent = config.label;
  launcher.append(icon, launcherText);

  shadow.append(style, panel, launcher);

  let frame = null;
  let frameReady = false;

  function tellFrame() {
    if (frame && frameReady) {
      frame.contentWindow.postMessage({ type: MESSAGES.open, page: hostPage() }, origin);
    }
  }

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = frameUrl();
      frame.title = config.title;
      frame.setAttribute("allow", "clipboard-write");
      frame.addEventListener("load", () => {
        frameReady = true;
        tellFrame();
      });
      panel.append(frame);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcherText.textContent = "Close";
    frame.focus();
    tellFrame();
  }

  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcherText.textContent = config.label;
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));

  // The chat page asks to close (its close button, or Escape inside the panel).
  window.addEventListener("message", (event) => {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    if (event.data && event.data.type === MESSAGES.close) close();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) close();
  });

  function mount() {
    document.body.append(root);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();

/* Live updates for the agent inbox: one EventSource per page. No build step.
 *
 * Connects to <body data-events-url> (optionally `data-events-after`, the
 * outbox id the page was rendered at) and, for each outbox event:
 *
 * - dispatches `inbox:event` on document, detail = {type, id, eventId,
 *   conversationId, timestamp, data} (`id` is the outbox id, `data` the
 *   resource, as in a webhook). Events can arrive twice after a reconnect
 *   (the server re-reads a short window so nothing is missed); repeats are
 *   dropped here, but a page that renders something from an event should
 *   still key it on its own id (a message's id) — the page itself may have
 *   rendered it already.
 * - re-fetches every element with `data-live-refresh="<url>"` (empty: the
 *   current URL), debounced, with `HX-Request: true`, swapped through htmx
 *   when present (out-of-band swaps, hx- attributes) or innerHTML. Options:
 *   `data-live-events` (space-separated types or "prefix." patterns;
 *   default "conversation. message. contact."), `data-live-conversation`
 *   (only that conversation's events), `data-live-swap` (innerHTML or
 *   outerHTML). Checked boxes, focus and scroll survive the swap; a region
 *   whose text field has focus waits until the field loses it. A cancelable
 *   `inbox:live-refresh` event fires on the element first. With no such
 *   element, `window.inboxUI.refreshList()` is called if it exists.
 *
 * Control events: `unread` keeps the "(N) " tab-title prefix in step
 * (`inboxUI.setUnreadCount` when present) and fires `inbox:unread`; `reset`
 * fires `inbox:reset` and refreshes every region; `closed` (session ended,
 * membership removed) stops for good and fires `inbox:live-closed`.
 *
 * The connection state is on <body data-live-state> (connecting, open,
 * reconnecting, closed) and, in words, in a polite live region
 * ([data-live-status], created if the page has none). EventSource
 * reconnects by itself with Last-Event-ID; when the browser gives up (an
 * HTTP error from a proxy during a deploy) this script starts a new one
 * with `?after=<last id>`, backing off up to 30 s.
 *
 * window.inboxLive = {state, lastEventId, connect(), close()} for tests and
 * other scripts.
 */
(function () {
  "use strict";

  if (window.inboxLive) return; // loaded twice: keep one connection

  // Listened to before the server's `ready` event lists the types.
  const KNOWN_TYPES = [
    "message.received", "message.sent", "message.delivered", "message.read",
    "message.failed", "message.updated", "message.deleted",
    "conversation.created", "conversation.updated", "conversation.assigned",
    "conversation.transferred", "conversation.closed", "conversation.reopened",
    "contact.created", "contact.updated", "contact.merged", "contact.deleted",
  ];
  const DEFAULT_REFRESH_EVENTS = "conversation. message. contact.";
  const REFRESH_DEBOUNCE_MS = 150;
  const STATUS_DELAY_MS = 1500; // quick reconnects (the server recycles streams) stay silent
  const MAX_BACKOFF_MS = 30000;
  const SEEN_LIMIT = 2000;

  const live = {
    state: "connecting",
    lastEventId: null,
    source: null,
    stopped: false,
    listening: new Set(),
    seen: new Set(),
    seenOrder: [],
    backoff: 1000,
    retryTimer: null,
    statusTimer: null,
    wasDown: false,
    timers: new Map(),
    inflight: new Set(),
    again: new Set(),
    waitingForBlur: new Set(),
  };

  // --- Connection state --------------------------------------------------------
  function statusElement() {
    let el = document.querySelector("[data-live-status]");
    if (!el) {
      el = document.createElement("p");
      el.setAttribute("data-live-status", "");
      el.className = "live-status";
      el.setAttribute("role", "status");
      el.setAttribute("aria-live", "polite");
      // Set through the CSSOM (allowed by a strict CSP), so the status shows
      // even where the page's stylesheet has no rule for it.
      el.style.position = "fixed";
      el.style.left = "1rem";
      el.style.bottom = "1rem";
      el.style.margin = "0";
      el.style.zIndex = "1000";
      el.style.borderRadius = "0.4rem";
      el.style.background = "#1f2937";
      el.style.color = "#fff";
      el.style.font = "inherit";
      el.style.fontSize = "0.9rem";
      document.body.appendChild(el);
    }
    return el;
  }

  function say(text) {
    const el = statusElement();
    el.textContent = text;
    if (el.classList.contains("live-status")) el.style.padding = text ? "0.4rem 0.8rem" : "0";
  }

  function setState(state) {
    live.state = state;
    document.body.dataset.liveState = state;
  }

  function announceDown(text) {
    window.clearTimeout(live.statusTimer);
    live.statusTimer = window.setTimeout(function () {
      live.wasDown = true;
      say(text);
    }, STATUS_DELAY_MS);
  }

  function announceUp() {
    window.clearTimeout(live.statusTimer);
    if (live.wasDown) {
      live.wasDown = false;
      say("Live updates reconnected.");
      live.statusTimer = window.setTimeout(function () { say(""); }, 4000);
    }
  }

  // --- Connecting ----------------------------------------------------------------
  function streamUrl() {
    const base = document.body.dataset.eventsUrl;
    if (!base) return null;
    const url = new URL(base, window.location.href);
    const after = live.lastEventId || document.body.dataset.eventsAfter;
    if (after) url.searchParams.set("after", after);
    return url.toString();
  }

  function connect() {
    const url = streamUrl();
    if (!url || !window.EventSource || live.stopped) return;
    if (live.source) live.source.close();
    window.clearTimeout(live.retryTimer);
    live.listening = new Set();
    const source = new EventSource(url);
    live.source = source;
    setState(live.wasDown ? "reconnecting" : "connecting");
    source.addEventListener("open", function () {
      live.backoff = 1000;
      setState("open");
      announceUp();
    });
    source.addEventListener("error", function () {
      if (live.stopped || source !== live.source) return;
      setState("reconnecting");
      announceDown("Connection lost. Reconnecting…");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error or a non-stream answer).
        scheduleReconnect();
      }
    });
    source.addEventListener("ready", function (event) {
      const info = parse(event.data);
      (info && Array.isArray(info.types) ? info.types : []).forEach(listen);
    });
    source.addEventListener("unread", function (event) {
      const info = parse(event.data);
      if (info) setUnread(info.unreadConversations);
    });
    source.addEventListener("reset", onReset);
    source.addEventListener("closed", onClosed);
    KNOWN_TYPES.forEach(listen);
  }

  function listen(type) {
    if (typeof type !== "string" || live.listening.has(type) || !live.source) return;
    live.listening.add(type);
    live.source.addEventListener(type, onDomainEvent);
  }

  function scheduleReconnect() {
    if (live.source) live.source.close();
    live.source = null;
    window.clearTimeout(live.retryTimer);
    const delay = live.backoff + Math.random() * 500;
    live.backoff = Math.min(live.backoff * 2, MAX_BACKOFF_MS);
    live.retryTimer = window.setTimeout(probeThenConnect, delay);
  }

  // A stream refused with 403 means the session is gone: say so instead of
  // retrying forever. The probe reads only the status, then hangs up.
  function probeThenConnect() {
    const url = streamUrl();
    if (!url || live.stopped) return;
    const controller = window.AbortController ? new AbortController() : null;
    window.fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/event-stream" },
      signal: controller ? controller.signal : undefined,
    }).then(function (response) {
      if (controller) controller.abort();
      if (response.status === 403 || response.status === 401) {
        stop("signed-out");
      } else if (response.ok) {
        connect();
      } else {
        scheduleReconnect();
      }
    }, function () {
      if (!live.stopped) scheduleReconnect();
    });
  }

  function stop(reason) {
    live.stopped = true;
    if (live.source) live.source.close();
    live.source = null;
    window.clearTimeout(live.retryTimer);
    window.clearTimeout(live.statusTimer);
    setState("closed");
    say(reason === "signed-out" || reason === "no-membership"
      ? "Your session has ended. Reload the page to sign in again."
      : "Live updates stopped. Reload the page.");
    document.dispatchEvent(new CustomEvent("inbox:live-closed", { detail: { reason: reason } }));
  }

  // --- Events ----------------------------------------------------------------------
  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  // Remembers an event id; false when it was already seen.
  function remember(id) {
    if (!id) return true;
    if (live.seen.has(id)) return false;
    live.seen.add(id);
    live.seenOrder.push(id);
    if (live.seenOrder.length > SEEN_LIMIT) live.seen.delete(live.seenOrder.shift());
    return true;
  }

  function trackId(id) {
    // Outbox ids only grow; a replayed older one must not move the cursor back.
    if (id && (!live.lastEventId || Number(id) > Number(live.lastEventId))) live.lastEventId = id;
  }

  function onDomainEvent(event) {
    const id = event.lastEventId;
    trackId(id);
    if (!remember(id)) return;
    const envelope = parse(event.data);
    if (!envelope) return;
    const detail = {
      type: event.type,
      id: id,
      eventId: envelope.id,
      conversationId: envelope.conversationId || null,
      timestamp: envelope.timestamp,
      data: envelope.data,
    };
    document.dispatchEvent(new CustomEvent("inbox:event", { detail: detail }));
    scheduleRefreshes(detail);
  }

  function onReset(event) {
    trackId(event.lastEventId);
    const info = parse(event.data) || {};
    document.dispatchEvent(new CustomEvent("inbox:reset", { detail: { reason: info.reason, id: event.lastEventId } }));
    scheduleRefreshes(null);
  }

  function onClosed(event) {
    const info = parse(event.data) || {};
    stop(info.reason || "closed");
  }

  function setUnread(value) {
    const count = Math.max(parseInt(value, 10) || 0, 0);
    if (window.inboxUI && typeof window.inboxUI.setUnreadCount === "function") {
      window.inboxUI.setUnreadCount(count);
    } else {
      document.body.dataset.unreadCount = String(count);
      const base = document.title.replace(/^\(\d+\)\s*/, "");
      document.title = count ? "(" + count + ") " + base : base;
    }
    document.querySelectorAll("[data-unread-total]").forEach(function (el) {
      el.textContent = String(count);
    });
    document.dispatchEvent(new CustomEvent("inbox:unread", { detail: { count: count } }));
  }

  // --- Region refresh ----------------------------------------------------------------
  function matches(el, detail) {
    if (!detail) return true; // a reset refreshes everything
    const patterns = (el.dataset.liveEvents || DEFAULT_REFRESH_EVENTS).split(/\s+/).filter(Boolean);
    const typeMatches = patterns.some(function (p) {
      return p === detail.type || (p.endsWith(".") && detail.type.indexOf(p) === 0);
    });
    if (!typeMatches) return false;
    const only = el.dataset.liveConversation;
    return !only || only === detail.conversationId;
  }

  function scheduleRefreshes(detail) {
    const regions = Array.from(document.querySelectorAll("[data-live-refresh]"));
    if (!regions.length) {
      if (window.inboxUI && typeof window.inboxUI.refreshList === "function" &&
          (!detail || /^(conversation|message|contact)\./.test(detail.type))) {
        debounce(document.body, function () { window.inboxUI.refreshList(); });
      }
      return;
    }
    regions.forEach(function (el) {
      if (matches(el, detail)) debounce(el, function () { refresh(el); });
    });
  }

  function debounce(key, fn) {
    window.clearTimeout(live.timers.get(key));
    live.timers.set(key, window.setTimeout(function () {
      live.timers.delete(key);
      fn();
    }, REFRESH_DEBOUNCE_MS));
  }

  function typingIn(el) {
    const active = document.activeElement;
    if (!active || !el.contains(active)) return false;
    if (active.tagName === "TEXTAREA" || active.isContentEditable) return true;
    return active.tagName === "INPUT" &&
      !/^(checkbox|radio|button|submit|reset|image|file|range|color)$/i.test(active.type);
  }

  function refresh(el) {
    if (!el.isConnected) return;
    if (typingIn(el)) {
      // Swapping now would lose the caret; refresh once the field is left.
      if (!live.waitingForBlur.has(el)) {
        live.waitingForBlur.add(el);
        el.addEventListener("focusout", function again() {
          el.removeEventListener("focusout", again);
          live.waitingForBlur.delete(el);
          debounce(el, function () { refresh(el); });
        });
      }
      return;
    }
    if (live.inflight.has(el)) {
      live.again.add(el); // one request per region at a time; one more after it
      return;
    }
    const url = el.getAttribute("data-live-refresh") || window.location.pathname + window.location.search;
    const go = el.dispatchEvent(new CustomEvent("inbox:live-refresh", {
      bubbles: true, cancelable: true, detail: { url: url },
    }));
    if (!go) return;
    live.inflight.add(el);
    window.fetch(url, {
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-Live-Refresh": "true", Accept: "text/html" },
    }).then(function (response) {
      if (!response.ok || response.headers.get("HX-Redirect")) return null;
      return response.text();
    }).then(function (html) {
      if (html !== null && el.isConnected) swap(el, html);
    }, function () { /* offline: the next event or reset refreshes */ })
      .then(function () {
        live.inflight.delete(el);
        if (live.again.delete(el)) refresh(el);
      });
  }

  function checkboxKey(box) {
    return box.id || (box.name + "=" + box.value);
  }

  function swap(el, html) {
    const style = el.dataset.liveSwap === "outerHTML" ? "outerHTML" : "innerHTML";
    const checked = new Set();
    el.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      checked.add(checkboxKey(box));
    });
    const scrollTop = el.scrollTop;
    const active = document.activeElement && el.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = active ? focusKeyOf(active) : null;
    const parent = el.parentNode;
    const next = el.nextSibling;

    if (window.htmx && typeof window.htmx.swap === "function") {
      window.htmx.swap(el, html, { swapStyle: style, ignoreTitle: true, settleDelay: 0, swapDelay: 0 });
    } else if (style === "outerHTML") {
      const template = document.createElement("template");
      template.innerHTML = html;
      el.replaceWith(template.content);
    } else {
      el.innerHTML = html;
    }

    // With outerHTML the region is a new element where the old one was.
    let region = el;
    if (!el.isConnected && parent) {
      region = next && next.previousElementSibling ? next.previousElementSibling : parent.lastElementChild;
    }
    if (!region) return;
    let restored = null;
    region.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (checked.has(checkboxKey(box)) && !box.checked) {
        box.checked = true;
        restored = box;
      }
    });
    // Lets the page recount its selection (the bulk bar listens to `change`).
    if (restored) restored.dispatchEvent(new Event("change", { bubbles: true }));
    region.scrollTop = scrollTop;
    if (active && !active.isConnected) {
      const target = findByFocusKey(region, focusKey);
      if (target) target.focus({ preventScroll: true });
    }
  }

  const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

  // How to find "the same control" in the new markup: its id; else its
  // name and value; else its position among the controls of its row.
  function focusKeyOf(node) {
    if (node.id) return { id: node.id };
    if (node.name) return { name: node.name, value: node.value || "" };
    const row = node.closest("[data-conversation-id]");
    if (!row) return null;
    return {
      row: row.getAttribute("data-conversation-id"),
      index: Array.prototype.indexOf.call(row.querySelectorAll(FOCUSABLE), node),
    };
  }

  function findByFocusKey(region, key) {
    if (!key) return null;
    if (key.id) return document.getElementById(key.id);
    if (key.name) {
      return Array.from(region.querySelectorAll("[name]")).find(function (node) {
        return node.name === key.name && (node.value || "") === key.value;
      }) || null;
    }
    const row = region.querySelector('[data-conversation-id="' + cssEscape(key.row) + '"]');
    return row ? row.querySelectorAll(FOCUSABLE)[key.index] || null : null;
  }

  function cssEscape(value) {
    return window.CSS && window.CSS.escape ? window.CSS.escape(value) : value.replace(/["\\]/g, "\\$&");
  }

  window.inboxLive = {
    get state() { return live.state; },
    get lastEventId() { return live.lastEventId; },
    connect: function () { live.stopped = false; connect(); },
    close: function () { stop("closed-by-page"); },
  };

  function start() {
    if (!document.body || !document.body.dataset.eventsUrl) return;
    connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

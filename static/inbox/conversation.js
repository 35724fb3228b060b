/* The conversation page: thread scrolling, live messages, actions. No build step.
 *
 * - The thread opens scrolled to the newest message. The sentinel at its top
 *   loads the older page when it comes into view (htmx); the scroll position
 *   is kept while the older messages are prepended.
 * - Live updates (live.js dispatches `inbox:event` on document): a message
 *   event of this conversation fetches that one bubble
 *   (/inbox/c/<id>/messages/<msg id>/) and replaces `#msg-<id>` or appends
 *   it; a lifecycle event (assigned, closed, snoozed...) or a reconnect that
 *   missed too much (`inbox:reset`) catches up through `messages/?after=`.
 *   The header and the list refresh themselves through live.js
 *   (`data-live-refresh`); the contact sidebar is refreshed here, on its
 *   contact's events, unless it is being edited.
 * - A new inbound message while the page is in view marks the conversation
 *   read again (POST read/); a hidden page does it when it becomes visible.
 * - Actions: refusals come back with status 422 and are swapped in (htmx
 *   leaves 4xx answers alone otherwise); focus stays on the action used or
 *   moves to the error. Snooze forms carry the browser's time zone.
 * - <time data-local-time> is shown in the browser's time zone.
 *
 * Without this file the page still works: forms post and redirect, the
 * "Load older messages" link pages back.
 */
(function () {
  "use strict";

  const root = document.getElementById("conversation");
  if (!root) return;

  const conversationId = root.dataset.conversationId;
  const contactId = root.dataset.contactId;
  const messagesUrl = root.dataset.messagesUrl;
  const readUrl = root.dataset.readUrl;
  const messageUrlTemplate = root.dataset.messageUrl;
  const pagedBack = root.dataset.pagedBack === "true";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const NEAR_BOTTOM_PX = 120;
  const TIMELINE_CHANGES = ["snoozed", "unsnoozed", "status"];

  function scroller() { return document.getElementById("thread"); }
  function items() { return document.getElementById("thread-items"); }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // --- Times in the browser's zone ---------------------------------------------------
  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function localTime(date, now) {
    const clock = pad(date.getHours()) + ":" + pad(date.getMinutes());
    if (date.toDateString() === now.toDateString()) return clock;
    const day = date.getDate() + " " + MONTHS[date.getMonth()];
    return (date.getFullYear() === now.getFullYear() ? day : day + " " + date.getFullYear()) + " " + clock;
  }

  function refreshLocalTimes(scope) {
    const now = new Date();
    (scope || document).querySelectorAll("time[data-local-time][datetime]").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      el.textContent = localTime(date, now);
      el.title = date.toLocaleString();
    });
    if (window.inboxUI && window.inboxUI.refreshTimes) window.inboxUI.refreshTimes(scope);
  }

  // --- Scrolling ---------------------------------------------------------------------
  function nearBottom() {
    const el = scroller();
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    const el = scroller();
    if (el) el.scrollTop = el.scrollHeight;
  }

  // Older messages go in above what the agent is reading: keep it in place.
  let keepFromBottom = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const status = detail.xhr ? detail.xhr.status : 0;
    // Refusals of actions and forms are answered 422 with the fragment that shows them.
    if (status === 422) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
    const target = detail.target;
    if (target && target.id === "thread-older") {
      const el = scroller();
      keepFromBottom = el ? el.scrollHeight - el.scrollTop : null;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const el = scroller();
    if (keepFromBottom !== null && el) {
      el.scrollTop = el.scrollHeight - keepFromBottom;
      keepFromBottom = null;
    }
    refreshLocalTimes(event.detail.target && event.detail.target.isConnected ? event.detail.target : document);
    restoreFocus();
  });

  // --- Actions: time zone, focus -------------------------------------------------------
  let lastAction = null;

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    form.querySelectorAll("input[data-browser-tz]").forEach(function (input) {
      try {
        input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
      } catch (e) {
        input.value = "";
      }
    });
    const submitter = event.submitter;
    if (form.closest("#conv-header") || form.closest("#contact-panel")) {
      lastAction = submitter ? (submitter.id || submitter.dataset.action || null) : null;
    }
  }, true);

  // After the header or the sidebar is swapped, the button that was used is
  // gone: focus its new copy, or the error, or the heading.
  function restoreFocus() {
    const error = document.querySelector("#conv-header #action-error, #contact-panel .form-error");
    if (error && (document.activeElement === document.body || !document.activeElement)) {
      const field = document.querySelector("#contact-panel [aria-invalid=true]");
      (field || error).focus();
      lastAction = null;
      return;
    }
    if (document.activeElement && document.activeElement !== document.body) return;
    if (!lastAction) return;
    const again = document.getElementById(lastAction) ||
      document.querySelector('[data-action="' + lastAction + '"]');
    const target = again && !again.disabled ? again : document.getElementById("conv-title");
    if (target) target.focus();
    lastAction = null;
  }

  // Snooze: the earliest time the picker offers is now.
  document.addEventListener("focusin", function (event) {
    const input = event.target;
    if (input && input.id === "snooze-until") {
      const now = new Date(Date.now() + 60000);
      input.min = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) +
        "T" + pad(now.getHours()) + ":" + pad(now.getMinutes());
    }
  });

  // Menus (snooze, close options): Escape or a click elsewhere closes them.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const menu = event.target.closest && event.target.closest("details.action-menu[open]");
    if (!menu) return;
    menu.open = false;
    const summary = menu.querySelector("summary");
    if (summary) summary.focus();
    event.stopPropagation();
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.action-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  // Live refreshes of the header wait while a menu of it is open or a field has focus.
  let headerStale = false;
  document.addEventListener("inbox:live-refresh", function (event) {
    const el = event.target;
    if (el && el.id === "conv-header" && headerBusy(el)) {
      event.preventDefault();
      headerStale = true;
    }
  });

  function headerBusy(header) {
    if (header.querySelector("details[open]")) return true;
    const active = document.activeElement;
    return !!(active && header.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }

  function refreshHeader() {
    const header = document.getElementById("conv-header");
    if (!header || !window.htmx) return;
    if (headerBusy(header)) {
      headerStale = true;
      return;
    }
    headerStale = false;
    window.htmx.ajax("GET", header.dataset.liveRefresh, { target: "#conv-header", swap: "outerHTML" });
  }

  // --- The contact sidebar -----------------------------------------------------------------
  let panelStale = false;

  function refreshPanel() {
    const panel = document.getElementById("contact-panel");
    if (!panel || !window.htmx) return;
    if (panel.querySelector("details[open]")) {
      panelStale = true; // the agent is editing: never lose their input
      return;
    }
    panelStale = false;
    window.htmx.ajax("GET", panel.dataset.panelUrl, { target: "#contact-panel", swap: "outerHTML" });
  }

  document.addEventListener("toggle", function (event) {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || details.open) return;
    if (panelStale && details.closest("#contact-panel")) refreshPanel();
    if (headerStale && details.closest("#conv-header")) refreshHeader();
  }, true);

  document.addEventListener("focusout", function (event) {
    if (!headerStale) return;
    const header = document.getElementById("conv-header");
    if (header && header.contains(event.target)) window.setTimeout(refreshHeader, 0);
  });

  // --- Live messages ---------------------------------------------------------------------
  function fragmentItems(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return Array.from(template.content.children).filter(function (node) {
      return node.tagName === "LI" && node.id;
    });
  }

  // Thread order: messages by their cursor (created_at, id), system rows by
  // their time (after a message of the same instant), as the server merges them.
  function keyOf(node) {
    if (!node.dataset) return null;
    if (node.dataset.cursor) {
      try {
        const b64 = node.dataset.cursor.replace(/-/g, "+").replace(/_/g, "/");
        const raw = JSON.parse(window.atob(b64 + "===".slice((b64.length + 3) % 4)));
        return [Date.parse(String(raw.t).replace(/(\.\d{3})\d+/, "$1")), Number(raw.i)];
      } catch (e) {
        return null;
      }
    }
    if (node.dataset.at) return [Date.parse(node.dataset.at), Number.MAX_SAFE_INTEGER];
    return null;
  }

  function compareKeys(a, b) {
    return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
  }

  // Puts a bubble or system row in the thread: in place of its old copy, or
  // where it belongs in time. Live events replay a few seconds back and can
  // arrive out of order; a message older than everything shown is left to
  // the older page, which brings it in its place.
  function upsert(node) {
    const list = items();
    if (!list) return;
    const existing = document.getElementById(node.id);
    if (existing) {
      existing.replaceWith(node);
    } else {
      const key = keyOf(node);
      let before = null;
      let firstKeyed = null;
      if (key) {
        for (const child of Array.from(list.children)) {
          const childKey = keyOf(child);
          if (!childKey) continue;
          if (!firstKeyed) firstKeyed = child;
          if (compareKeys(childKey, key) > 0) {
            before = child;
            break;
          }
        }
      }
      if (before && before === firstKeyed && document.getElementById("thread-older")) return;
      const stick = !before && nearBottom();
      const empty = list.querySelector(".thread-empty");
      if (empty) empty.remove();
      list.insertBefore(node, before);
      if (stick) scrollToBottom();
    }
    if (window.htmx) window.htmx.process(node);
    refreshLocalTimes(node);
  }

  function get(url) {
    return window.fetch(url, {
      credentials: "same-origin",
      headers: { "HX-Request": "true", Accept: "text/html" },
    });
  }

  function fetchMessage(messageId) {
    if (!messageId || !messageUrlTemplate) return;
    const url = messageUrlTemplate.replace("MESSAGE_ID", encodeURIComponent(messageId));
    get(url).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html) fragmentItems(html).forEach(upsert);
    }, function () { /* offline: a reconnect catches up */ });
  }

  function newestCursor() {
    const bubbles = document.querySelectorAll("#thread-items > li[data-cursor]");
    return bubbles.length ? bubbles[bubbles.length - 1].dataset.cursor : "";
  }

  // Everything after the newest message shown (and the system events since).
  let catchingUp = false;
  let catchUpAgain = false;
  function catchUp(cursor, rounds) {
    if (pagedBack) return; // an older page is shown: nothing is appended to it
    if (catchingUp && rounds === undefined) {
      catchUpAgain = true;
      return;
    }
    catchingUp = true;
    const after = cursor !== undefined ? cursor : newestCursor();
    get(messagesUrl + "?after=" + encodeURIComponent(after)).then(function (response) {
      if (!response.ok) return null;
      return response.text().then(function (html) {
        fragmentItems(html).forEach(upsert);
        const more = response.headers.get("X-Thread-Has-More") === "true";
        const next = response.headers.get("X-Thread-Cursor");
        return more && next && (rounds || 0) < 20 ? next : null;
      });
    }).then(function (next) {
      if (next) return catchUp(next, (rounds || 0) + 1);
      catchingUp = false;
      if (catchUpAgain) {
        catchUpAgain = false;
        catchUp();
      }
    }, function () {
      catchingUp = false;
    });
  }

  // --- Read state ------------------------------------------------------------------------
  let readPending = false;
  let readTimer = null;

  function markRead() {
    if (document.visibilityState !== "visible") {
      readPending = true;
      return;
    }
    readPending = false;
    window.clearTimeout(readTimer);
    readTimer = window.setTimeout(function () {
      window.fetch(readUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      }).catch(function () { readPending = true; });
    }, 300);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && readPending) markRead();
  });

  // --- Event routing ---------------------------------------------------------------------
  function attributes(detail) {
    return (detail.data && detail.data.attributes) || {};
  }

  document.addEventListener("inbox:event", function (event) {
    const detail = event.detail || {};
    const type = detail.type || "";
    const attrs = attributes(detail);
    const eventConversation = detail.conversationId || attrs.conversationId || null;
    const ours = eventConversation === conversationId;

    if (type.indexOf("message.") === 0 && ours) {
      if (!pagedBack || document.getElementById("msg-" + (detail.data && detail.data.id))) {
        fetchMessage(detail.data && detail.data.id);
      }
      if (type === "message.received") markRead();
      return;
    }
    if (type.indexOf("conversation.") === 0) {
      if (ours) {
        const change = detail.data && detail.data.meta && detail.data.meta.change;
        if (type !== "conversation.updated" || TIMELINE_CHANGES.indexOf(change) !== -1) catchUp();
      } else if (attrs.contactId === contactId) {
        refreshPanel(); // another conversation of this contact: the sidebar lists it
      }
      return;
    }
    if (type.indexOf("contact.") === 0 && detail.data && detail.data.id === contactId) {
      refreshPanel();
    }
  });

  // The composer put the agent's own message in the thread.
  document.addEventListener("inbox:message-sent", function () {
    refreshLocalTimes(items());
  });

  document.addEventListener("inbox:reset", function () {
    catchUp();
    refreshPanel();
  });

  // --- The left-hand list keeps its view in links -----------------------------------------
  // Rows link to /inbox/c/<id>/; the list's filters ride along so the next
  // conversation shows the same list.
  function carryListQuery() {
    const list = document.getElementById("conversation-list");
    if (!list) return;
    const query = list.dataset.listQuery;
    list.querySelectorAll("a.conv-link").forEach(function (link) {
      if (query && link.getAttribute("href").indexOf("?") === -1) {
        link.setAttribute("href", link.getAttribute("href") + "?" + query);
      }
    });
    const current = list.querySelector('.conv-row[aria-current="true"]');
    if (current && current.scrollIntoView && !list.dataset.scrolled) {
      list.dataset.scrolled = "true";
      current.scrollIntoView({ block: "nearest" });
    }
  }

  function start() {
    refreshLocalTimes(document);
    carryListQuery();
    const list = document.getElementById("conversation-list");
    if (list && window.MutationObserver) {
      new MutationObserver(carryListQuery).observe(list.parentNode, { childList: true, subtree: true });
    }
    if (!pagedBack && !window.location.hash) scrollToBottom();
  }

  // A deferred script runs once the document is parsed and before
  // DOMContentLoaded, when htmx starts observing the sentinel: the first
  // look at the thread is already at the bottom.
  start();
})();

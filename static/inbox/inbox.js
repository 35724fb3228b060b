/* The agent inbox's own behaviour, on top of htmx. No build step.
 *
 * - Bulk selection: "select all shown", the "N selected" count.
 * - Relative times (<time data-ago>) refreshed every minute, same rules as
 *   the `ago` template filter.
 * - The phone-width menu drawer.
 * - window.inboxUI: small hooks for the other inbox scripts (live.js,
 *   keyboard shortcuts): setUnreadCount(n) keeps the "(N) " tab title prefix
 *   and <body data-unread-count> in step; refreshList() re-fetches the list
 *   region with the current filters.
 *
 * Everything works without this file: forms submit, links navigate.
 */
(function () {
  "use strict";

  // Styles that only make sense when this script runs (e.g. bulk actions
  // shown on selection) hang off this class.
  document.documentElement.classList.add("js");

  const MINUTE = 60 * 1000;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function ago(date, now) {
    const seconds = Math.max((now - date) / 1000, 0);
    if (seconds < 60) return "now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h";
    if (seconds < 7 * 86400) return Math.floor(seconds / 86400) + " d";
    const text = date.getDate() + " " + MONTHS[date.getMonth()];
    return seconds < 365 * 86400 ? text : text + " " + date.getFullYear();
  }

  function refreshTimes(root) {
    const now = new Date();
    (root || document).querySelectorAll("time[data-ago][datetime]").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) {
        el.textContent = ago(date, now);
        el.title = date.toLocaleString();
      }
    });
  }

  // --- Bulk selection --------------------------------------------------------
  function rowBoxes() {
    return Array.from(document.querySelectorAll("#conversation-list .row-select"));
  }

  function updateBulkState() {
    const bar = document.getElementById("bulk-form");
    if (!bar) return;
    const boxes = rowBoxes();
    const checked = boxes.filter(function (b) { return b.checked; }).length;
    const count = document.getElementById("bulk-count");
    if (count) count.textContent = checked ? checked + " selected" : "";
    bar.classList.toggle("is-idle", checked === 0);
    const all = document.getElementById("select-all");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    boxes.forEach(function (b) {
      const row = b.closest(".conv-row");
      if (row) row.classList.toggle("is-checked", b.checked);
    });
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.id === "select-all") {
      rowBoxes().forEach(function (b) { b.checked = target.checked; });
      updateBulkState();
    } else if (target.classList && target.classList.contains("row-select")) {
      updateBulkState();
    }
  });

  // --- Phone-width drawer ------------------------------------------------------
  document.addEventListener("click", function (event) {
    const toggle = event.target.closest && event.target.closest(".nav-toggle");
    if (!toggle) return;
    const sidebar = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!sidebar) return;
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    sidebar.classList.toggle("is-open", open);
    if (open) {
      const first = sidebar.querySelector("a, button, input, select");
      if (first) first.focus();
    }
  });

  // --- Hooks for the other inbox scripts ---------------------------------------
  function setUnreadCount(n) {
    const count = Math.max(parseInt(n, 10) || 0, 0);
    document.body.dataset.unreadCount = String(count);
    const base = document.title.replace(/^\(\d+\)\s*/, "");
    document.title = count ? "(" + count + ") " + base : base;
  }

  // Re-fetch the list region with the current view (live updates call this).
  // Rows the agent ticked for a bulk action stay ticked.
  function refreshList() {
    const list = document.getElementById("conversation-list");
    if (!list || !window.htmx) return Promise.resolve();
    const url = list.dataset.listUrl || window.location.pathname + window.location.search;
    const ticked = new Set(rowBoxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; }));
    return window.htmx.ajax("GET", url, { target: "#list-region", swap: "innerHTML" }).then(function () {
      rowBoxes().forEach(function (b) { if (ticked.has(b.value)) b.checked = true; });
      updateBulkState();
    });
  }

  window.inboxUI = { setUnreadCount: setUnreadCount, refreshList: refreshList, refreshTimes: refreshTimes };

  // A new view (filters, tabs) clears the previous bulk result message.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail && event.detail.elt;
    if (elt && (elt.id === "filters" || (elt.classList && elt.classList.contains("tab")))) {
      const flashes = document.getElementById("flashes");
      if (flashes) flashes.textContent = "";
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    refreshTimes(event.detail.target);
    updateBulkState();
  });

  document.addEventListener("DOMContentLoaded", function () {
    refreshTimes();
    updateBulkState();
    window.setInterval(refreshTimes, MINUTE);
  });
})();

/* The composer under a conversation (templates/inbox/conversation/_composer_form.html).
 * No build step; works on every [data-composer] section, including ones htmx
 * swaps in after a send.
 *
 * - Reply / Private note toggle: labels, sections and the 24-hour window
 *   notice follow the chosen mode. In reply mode with the window closed, the
 *   template form replaces the text box; the countdown ("Window closes in
 *   3 h") is kept current and flips to the template form when it runs out.
 * - Enter sends, Shift+Enter is a new line; nothing happens while an IME
 *   composition is in progress (isComposing, or keyCode 229 on older engines).
 * - Drafts: saved to localStorage on every change under
 *   `inbox:draft:<workspace id>:<conversation id>`, restored on load, and
 *   removed only when the server answers a composer marked data-sent (a
 *   successful send). A failed send leaves the text in place: htmx swaps in
 *   the server's 422 answer, which echoes the draft with the error.
 * - Attachments: a picker button, drag and drop onto the composer, or paste.
 *   Each file is uploaded with XMLHttpRequest to data-upload-url (progress in
 *   a <progress>); the JSON answer becomes a hidden `attachment` input that
 *   the send posts. Upload errors show the service's message on the file.
 * - Canned responses: `/` at the start of a word opens a listbox (ARIA
 *   combobox: aria-expanded, aria-activedescendant; arrows, Enter or Tab to
 *   insert, Escape to close) filled from data-canned-url?q=. The chosen text
 *   replaces the `/shortcut`; {{contact.name}}, {{contact.first_name}} and
 *   {{agent.name}} are filled in from the page.
 *
 * Everything from the server or the user is inserted with textContent or as
 * an input's value, never as HTML.
 *
 * window.inboxComposer.focus("reply" | "note") is for the keyboard shortcuts
 * (`r`, `n`).
 */
(function () {
  "use strict";

  if (window.inboxComposer) return; // loaded twice (swapped-in script tags): keep one

  const CANNED_DEBOUNCE_MS = 120;
  const WINDOW_TICK_MS = 30 * 1000;
  const TRIGGER = /(^|\s)\/([a-z0-9_-]{0,32})$/i;
  const state = new WeakMap(); // section -> {canned, uploads}
  const cannedCache = new Map(); // url -> results

  // --- Small helpers -------------------------------------------------------------
  function $(root, selector) { return root.querySelector(selector); }
  function $$(root, selector) { return Array.from(root.querySelectorAll(selector)); }

  function formatSize(bytes) {
    if (bytes == null || isNaN(bytes)) return "";
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function storageKey(section) {
    return "inbox:draft:" + section.dataset.workspaceId + ":" + section.dataset.conversationId;
  }

  function storage() {
    try { return window.localStorage; } catch (e) { return null; } // blocked in some privacy modes
  }

  function csrfToken(section) {
    const input = $(section, 'input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function announce(section, text) {
    const status = $(section, "[data-composer-status]");
    if (status) status.textContent = text;
  }

  function showError(section, text) {
    const box = $(section, ".composer-error");
    if (!box) return;
    box.textContent = "";
    if (text) {
      const p = document.createElement("p");
      p.textContent = text;
      box.appendChild(p);
    }
  }

  // --- Mode, sections, window ----------------------------------------------------------
  function currentMode(section) {
    const checked = $(section, 'input[name="mode"]:checked');
    return checked ? checked.value : "reply";
  }

  function applyMode(section) {
    const mode = currentMode(section);
    section.dataset.mode = mode;
    section.classList.toggle("composer-mode-note", mode === "note");
    section.classList.toggle("composer-mode-reply", mode !== "note");
    $$(section, "[data-label-reply]").forEach(function (el) { el.hidden = mode === "note"; });
    $$(section, "[data-label-note]").forEach(function (el) { el.hidden = mode !== "note"; });
    const closed = section.dataset.window === "closed";
    const template = $(section, '[data-section="template"]');
    const useTemplate = mode === "reply" && closed && !!template;
    const text = $(section, '[data-section="text"]');
    if (text) text.hidden = useTemplate;
    if (template) template.hidden = !useTemplate;
    const notice = $(section, "[data-window-notice]");
    if (notice) notice.hidden = mode === "note";
  }

  function windowText(section) {
    const closes = new Date(section.dataset.windowCloses || "");
    if (isNaN(closes)) return null;
    const left = (closes - new Date()) / 1000;
    if (left <= 0) return null;
    if (left >= 3600) return Math.floor(left / 3600) + " h";
    if (left >= 60) return Math.floor(left / 60) + " min";
    return "less than a minute";
  }

  function tickWindow(section) {
    if (section.dataset.window !== "open") return;
    const notice = $(section, "[data-window-notice]");
    const remaining = windowText(section);
    if (remaining) {
      const span = notice && $(notice, "[data-window-remaining]");
      if (span) span.textContent = "Window closes in " + remaining;
      return;
    }
    section.dataset.window = "closed";
    if (notice) {
      notice.classList.remove("is-open");
      notice.classList.add("is-closed");
      notice.textContent = "The " + (section.dataset.windowHours || "24") + "-hour window is closed: send a template.";
    }
    applyMode(section);
  }

  // --- Drafts ------------------------------------------------------------------------
  function saveDraft(section) {
    const store = storage();
    const textarea = $(section, "[data-composer-text]");
    if (!store || !textarea) return;
    const key = storageKey(section);
    if (textarea.value.trim()) {
      store.setItem(key, JSON.stringify({ text: textarea.value, mode: currentMode(section), at: Date.now() }));
    } else {
      store.removeItem(key);
    }
  }

  function restoreDraft(section) {
    const store = storage();
    const textarea = $(section, "[data-composer-text]");
    if (!store || !textarea) return;
    const key = storageKey(section);
    if (section.dataset.sent === "true") {
      store.removeItem(key);
      return;
    }
    if (textarea.value) {
      saveDraft(section); // the server echoed a draft (a failed send): it is the newest
      return;
    }
    let saved = null;
    try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }
    if (!saved || typeof saved.text !== "string") return;
    textarea.value = saved.text;
    const radio = $(section, 'input[name="mode"][value="' + (saved.mode === "note" ? "note" : "reply") + '"]');
    if (radio && !radio.disabled) radio.checked = true;
  }

  // --- Sending -----------------------------------------------------------------------
  function uploading(section) {
    return $$(section, '.attachment-item[data-state="uploading"]').length > 0;
  }

  function submit(section) {
    const form = $(section, "form");
    const button = $(section, "[data-composer-send]");
    if (!form || !button || button.disabled) return;
    if (uploading(section)) {
      showError(section, "Wait for the files to finish uploading, then send.");
      return;
    }
    if (form.requestSubmit) form.requestSubmit(button);
    else button.click();
  }

  function setBusy(section, busy) {
    $$(section, 'button[type="submit"]').forEach(function (b) { b.disabled = busy; });
    const textarea = $(section, "[data-composer-text]");
    // Read-only rather than disabled: the text stays in the request and on screen.
    if (textarea) textarea.readOnly = busy;
    section.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // --- Attachments ---------------------------------------------------------------------
  function attachmentItem(section, file) {
    const li = document.createElement("li");
    li.className = "attachment-item";
    li.dataset.state = "uploading";
    const name = document.createElement("span");
    name.className = "attachment-name";
    name.textContent = file.name || "file";
    const size = document.createElement("span");
    size.className = "attachment-size";
    size.textContent = formatSize(file.size);
    const progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", "Uploading " + (file.name || "file"));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button button-small button-link attachment-remove";
    remove.setAttribute("data-attachment-remove", "");
    remove.textContent = "Remove";
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + (file.name || "file");
    remove.appendChild(hidden);
    li.append(name, " ", size, " ", progress, " ", remove);
    return li;
  }

  function uploadFile(section, file) {
    const list = $(section, "[data-attachments]");
    if (!list) return;
    const li = attachmentItem(section, file);
    list.appendChild(li);
    const progress = $(li, "progress");
    const xhr = new XMLHttpRequest();
    li._xhr = xhr;
    xhr.open("POST", section.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken(section));
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.responseType = "json";
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
    };
    function fail(message) {
      li.dataset.state = "error";
      progress.remove();
      const error = document.createElement("span");
      error.className = "attachment-error";
      error.setAttribute("role", "alert");
      error.textContent = message;
      li.insertBefore(error, $(li, "[data-attachment-remove]"));
      refreshSendState(section);
    }
    xhr.onload = function () {
      li._xhr = null;
      const body = xhr.response || {};
      if (xhr.status === 201 && body.url) {
        li.dataset.state = "done";
        progress.remove();
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "attachment";
        input.value = JSON.stringify({ url: body.url, type: body.type, filename: body.filename, size: body.size });
        li.appendChild(input);
        $(li, ".attachment-size").textContent = formatSize(body.size);
        announce(section, (file.name || "File") + " attached.");
        refreshSendState(section);
      } else if (xhr.status === 401 || xhr.status === 403) {
        fail("Your session has ended; sign in again to attach files.");
      } else {
        fail((body.error && body.error.message) || "The upload failed (" + xhr.status + ").");
      }
    };
    xhr.onerror = function () { li._xhr = null; fail("The upload failed: the server could not be reached."); };
    const data = new FormData();
    data.append("file", file, file.name);
    xhr.send(data);
    refreshSendState(section);
  }

  function refreshSendState(section) {
    const busy = uploading(section);
    const button = $(section, "[data-composer-send]");
    if (button) button.setAttribute("aria-disabled", busy ? "true" : "false");
    section.classList.toggle("is-uploading", busy);
  }

  function addFiles(section, files) {
    if (currentMode(section) === "reply" && section.dataset.window === "closed") {
      showError(section, "The 24-hour window is closed: files can only go in a private note.");
      return;
    }
    Array.from(files || []).forEach(function (file) { uploadFile(section, file); });
  }

  // --- Canned responses ------------------------------------------------------------------
  function canned(section) { return state.get(section).canned; }

  function fillVariables(section, text) {
    const contact = section.dataset.contactName || "";
    const agent = section.dataset.agentName || "";
    const values = {
      "contact.name": contact,
      "contact.first_name": contact.split(/\s+/)[0] || "",
      "agent.name": agent,
    };
    return text.replace(/\{\{\s*(contact\.name|contact\.first_name|agent\.name)\s*\}\}/g, function (match, name) {
      return values[name] || match; // unknown to the page: leave it for the agent to see
    });
  }

  function closeCanned(section) {
    const c = canned(section);
    const textarea = $(section, "[data-composer-text]");
    const list = $(section, ".canned-popup");
    c.open = false;
    c.items = [];
    c.active = -1;
    if (c.request) { c.request.abort(); c.request = null; }
    window.clearTimeout(c.timer);
    if (list) { list.hidden = true; list.textContent = ""; }
    if (textarea) {
      textarea.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
    }
  }

  function setActive(section, index) {
    const c = canned(section);
    const textarea = $(section, "[data-composer-text]");
    const options = $$(section, '.canned-popup [role="option"]:not([aria-disabled="true"])');
    if (!options.length) return;
    c.active = (index + options.length) % options.length;
    options.forEach(function (option, i) { option.setAttribute("aria-selected", i === c.active ? "true" : "false"); });
    const current = options[c.active];
    textarea.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  }

  function renderCanned(section, results, query) {
    const c = canned(section);
    const list = $(section, ".canned-popup");
    const textarea = $(section, "[data-composer-text]");
    if (!list || !c.open) return;
    list.textContent = "";
    c.items = results;
    if (!results.length) {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.setAttribute("aria-disabled", "true");
      li.className = "canned-empty";
      li.id = list.id + "-none";
      li.textContent = query ? "No canned response matches /" + query : "No canned responses yet";
      list.appendChild(li);
    }
    results.forEach(function (item, i) {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = list.id + "-opt-" + i;
      li.dataset.index = String(i);
      li.setAttribute("aria-selected", "false");
      const head = document.createElement("span");
      head.className = "canned-head";
      const shortcut = document.createElement("code");
      shortcut.textContent = "/" + item.shortcut;
      const title = document.createElement("span");
      title.className = "canned-title";
      title.textContent = item.title;
      head.append(shortcut, " ", title);
      const preview = document.createElement("span");
      preview.className = "canned-preview";
      preview.textContent = item.text.length > 140 ? item.text.slice(0, 139) + "…" : item.text;
      li.append(head, preview);
      list.appendChild(li);
    });
    list.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    if (results.length) setActive(section, 0);
    else textarea.removeAttribute("aria-activedescendant");
  }

  function fetchCanned(section, query) {
    const c = canned(section);
    const url = section.dataset.cannedUrl + "?q=" + encodeURIComponent(query);
    if (cannedCache.has(url)) {
      renderCanned(section, cannedCache.get(url), query);
      return;
    }
    if (c.request) c.request.abort();
    const controller = new AbortController();
    c.request = controller;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: controller.signal })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (body) {
        const results = Array.isArray(body.results) ? body.results : [];
        cannedCache.set(url, results);
        if (c.request === controller) c.request = null;
        renderCanned(section, results, query);
      })
      .catch(function () { /* aborted by the next keystroke, or offline: no suggestions */ });
  }

  function checkTrigger(section) {
    const textarea = $(section, "[data-composer-text]");
    const c = canned(section);
    if (!textarea || textarea.selectionStart !== textarea.selectionEnd) { closeCanned(section); return; }
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = TRIGGER.exec(before);
    if (!match) { closeCanned(section); return; }
    c.open = true;
    c.start = textarea.selectionStart - match[2].length - 1; // the "/"
    window.clearTimeout(c.timer);
    c.timer = window.setTimeout(function () { fetchCanned(section, match[2]); }, CANNED_DEBOUNCE_MS);
  }

  function insertCanned(section, index) {
    const c = canned(section);
    const item = c.items[index];
    const textarea = $(section, "[data-composer-text]");
    if (!item || !textarea) return;
    const text = fillVariables(section, item.text);
    const end = textarea.selectionStart;
    textarea.setRangeText(text, c.start, end, "end");
    closeCanned(section);
    saveDraft(section);
    announce(section, "Inserted /" + item.shortcut + ".");
    textarea.focus();
  }

  // --- Wiring ------------------------------------------------------------------------
  function init(section) {
    if (state.has(section)) return;
    state.set(section, { canned: { open: false, items: [], active: -1, start: 0, timer: 0, request: null } });
    $$(section, "[data-composer-attach], [data-template-add-param]").forEach(function (el) { el.hidden = false; });
    restoreDraft(section);
    applyMode(section);
    tickWindow(section);
    refreshSendState(section);
  }

  function initAll(root) {
    const scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("[data-composer]")) init(scope);
    $$(scope, "[data-composer]").forEach(init);
  }

  // htmx fires htmx:load after its settle delay; an agent typing straight
  // into a just-swapped composer reaches it first, so any event initialises.
  function sectionOf(node) {
    const section = node && node.closest ? node.closest("[data-composer]") : null;
    if (section && !state.has(section)) init(section);
    return section;
  }

  document.addEventListener("change", function (event) {
    const section = sectionOf(event.target);
    if (!section) return;
    if (event.target.name === "mode") {
      applyMode(section);
      saveDraft(section);
      const field = section.dataset.mode === "reply" && section.dataset.window === "closed"
        ? $(section, 'input[name="template_name"]')
        : $(section, "[data-composer-text]");
      if (field) field.focus();
    } else if (event.target.matches("[data-composer-file]")) {
      addFiles(section, event.target.files);
      event.target.value = ""; // the same file can be picked again
    }
  });

  document.addEventListener("input", function (event) {
    const section = sectionOf(event.target);
    if (!section || !event.target.matches("[data-composer-text]")) return;
    saveDraft(section);
    checkTrigger(section);
  });

  document.addEventListener("keydown", function (event) {
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches("[data-composer-text]")) return;
    const section = sectionOf(textarea);
    if (!section) return;
    // An IME is composing (Japanese, Chinese...): its Enter confirms a word.
    if (event.isComposing || event.keyCode === 229) return;
    const c = canned(section);
    if (c.open && !$(section, ".canned-popup").hidden) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        setActive(section, c.active + (event.key === "ArrowDown" ? 1 : -1));
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && c.items.length) {
        event.preventDefault();
        insertCanned(section, Math.max(c.active, 0));
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation(); // Escape here closes the list, nothing else
        closeCanned(section);
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey && !event.altKey) {
      event.preventDefault();
      submit(section);
    }
  });

  document.addEventListener("click", function (event) {
    const section = sectionOf(event.target);
    if (!section) return;
    const attach = event.target.closest("[data-composer-attach]");
    if (attach) {
      const input = $(section, "[data-composer-file]");
      if (input) input.click();
      return;
    }
    const remove = event.target.closest("[data-attachment-remove]");
    if (remove) {
      const li = remove.closest(".attachment-item");
      if (li._xhr) li._xhr.abort();
      const name = $(li, ".attachment-name");
      li.remove();
      announce(section, (name ? name.textContent : "File") + " removed.");
      refreshSendState(section);
      const back = $(section, "[data-composer-attach]") || $(section, "[data-composer-text]");
      if (back) back.focus();
      return;
    }
    const addParam = event.target.closest("[data-template-add-param]");
    if (addParam) {
      const list = $(section, "[data-template-param-list]");
      const n = list.children.length + 1;
      const li = document.createElement("li");
      li.className = "field";
      const id = "composer-tpl-param-" + section.dataset.conversationId + "-" + n;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = "Parameter " + n;
      const input = document.createElement("input");
      input.type = "text";
      input.id = id;
      input.name = "template_param";
      input.maxLength = 1024;
      input.autocomplete = "off";
      li.append(label, input);
      list.appendChild(li);
      input.focus();
      return;
    }
    const option = event.target.closest('.canned-popup [role="option"]');
    if (option && option.dataset.index) insertCanned(section, parseInt(option.dataset.index, 10));
  });

  // Clicking an option must not blur the textarea first (which closes the list).
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest(".canned-popup")) event.preventDefault();
  });

  document.addEventListener("focusout", function (event) {
    const section = sectionOf(event.target);
    if (section && event.target.matches("[data-composer-text]")) {
      window.setTimeout(function () {
        if (document.activeElement !== event.target) closeCanned(section);
      }, 0);
    }
  });

  // Drag and drop onto the composer; paste of files (screenshots) into the text box.
  let dragDepth = 0;
  function hasFiles(event) {
    return event.dataTransfer && Array.from(event.dataTransfer.types || []).indexOf("Files") !== -1;
  }
  document.addEventListener("dragenter", function (event) {
    const section = sectionOf(event.target);
    if (!section || !hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    section.classList.add("is-dragging");
  });
  document.addEventListener("dragover", function (event) {
    if (sectionOf(event.target) && hasFiles(event)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  });
  document.addEventListener("dragleave", function (event) {
    const section = sectionOf(event.target);
    if (!section) return;
    dragDepth = Math.max(dragDepth - 1, 0);
    if (!dragDepth) section.classList.remove("is-dragging");
  });
  document.addEventListener("drop", function (event) {
    const section = sectionOf(event.target);
    if (!section || !hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    section.classList.remove("is-dragging");
    addFiles(section, event.dataTransfer.files);
  });
  document.addEventListener("paste", function (event) {
    const section = sectionOf(event.target);
    const files = event.clipboardData && event.clipboardData.files;
    if (section && files && files.length && event.target.matches("[data-composer-text]")) {
      event.preventDefault();
      addFiles(section, files);
    }
  });

  // --- htmx round trips ------------------------------------------------------------------
  let refocus = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    const section = sectionOf(event.detail.elt);
    if (!section || !event.detail.elt.matches("form")) return;
    refocus = section.contains(document.activeElement);
    closeCanned(section);
    showError(section, "");
    setBusy(section, true);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const section = sectionOf(event.detail.elt);
    if (section && document.contains(section)) setBusy(section, false);
  });
  // The service's refusal comes back as 422 with the composer and its error: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const section = sectionOf(event.detail.elt);
    if (section && event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // Anything else (offline, a 500): the draft is still on screen; say so.
  function requestFailed(event) {
    const section = sectionOf(event.detail.elt);
    if (!section || !document.contains(section)) return;
    refocus = false;
    setBusy(section, false);
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 422) return;
    showError(section, status
      ? "The message could not be sent (error " + status + "). Your text is kept; try again."
      : "The server could not be reached. Your text is kept; try again.");
  }
  document.addEventListener("htmx:responseError", requestFailed);
  document.addEventListener("htmx:sendError", requestFailed);

  // The answer to a send carries the new bubbles; put them in the thread,
  // replacing any a live update added first (same element id), never twice.
  function placeSent(section) {
    const template = $(section, "template[data-composer-sent]");
    if (!template) return;
    const thread = document.querySelector(template.dataset.thread || "#thread-items");
    const ids = [];
    let last = null;
    Array.from(template.content.children).forEach(function (node) {
      const fresh = document.importNode(node, true);
      const existing = fresh.id ? document.getElementById(fresh.id) : null;
      if (existing) existing.replaceWith(fresh);
      else if (thread) thread.appendChild(fresh);
      else return;
      if (window.htmx) window.htmx.process(fresh);
      if (fresh.dataset && fresh.dataset.messageId) ids.push(fresh.dataset.messageId);
      last = fresh;
    });
    template.remove();
    if (!last) return;
    const empty = thread && thread.querySelector(".thread-empty");
    if (empty) empty.remove();
    if (window.inboxUI && window.inboxUI.refreshTimes) window.inboxUI.refreshTimes(thread);
    last.scrollIntoView({ block: "end" });
    document.dispatchEvent(new CustomEvent("inbox:message-sent", {
      detail: { conversationId: section.dataset.conversationId, messageIds: ids },
    }));
  }

  document.addEventListener("htmx:load", function (event) {
    initAll(event.detail.elt);
    $$(document, "[data-composer]").forEach(placeSent);
    const section = sectionOf(event.detail.elt) || (event.detail.elt.querySelector && event.detail.elt.querySelector("[data-composer]"));
    if (section && refocus) {
      refocus = false;
      const target = section.dataset.error === "true"
        ? $(section, '[aria-invalid="true"]') || $(section, "[data-composer-text]")
        : $(section, "[data-composer-text]");
      if (target && !target.closest("[hidden]")) target.focus();
      else if (section.dataset.mode === "reply" && section.dataset.window === "closed") {
        const name = $(section, 'input[name="template_name"]');
        if (name) name.focus();
      }
    }
  });

  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  if (document.readyState !== "loading") initAll(document);

  window.setInterval(function () { $$(document, "[data-composer]").forEach(tickWindow); }, WINDOW_TICK_MS);

  window.inboxComposer = {
    // `r` and `n` of the keyboard shortcuts: choose the mode, put the caret in the text box.
    focus: function (mode) {
      const section = document.querySelector("[data-composer]");
      if (!section) return false;
      const radio = $(section, 'input[name="mode"][value="' + (mode === "note" ? "note" : "reply") + '"]');
      if (radio && !radio.disabled && !radio.checked) {
        radio.checked = true;
        applyMode(section);
        saveDraft(section);
      }
      const field = section.dataset.mode === "reply" && section.dataset.window === "closed"
        ? $(section, 'input[name="template_name"]')
        : $(section, "[data-composer-text]");
      if (field) field.focus();
      return true;
    },
    submit: function () {
      const section = document.querySelector("[data-composer]");
      if (section) submit(section);
    },
  };
})();

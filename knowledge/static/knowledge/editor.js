/*
 * The knowledge editor: search, edit, relate and draw the nodes of the knowledge graph, see their
 * history, and try a visitor's question, all through the JSON API of docs/knowledge.md.
 *
 * Plain JavaScript, no build step. The only library is cytoscape (vendored by
 * knowledge/frontend/vendor.sh) for the drawing; the page works without it. Text from the graph
 * or from the user is only ever written as text nodes or form values, never parsed as HTML.
 *
 * The address is the state: `#node/KEY` opens a node, `#new` the form for a new one, so links
 * can be shared and the back button works.
 */
(() => {
  "use strict";

  const COMMON_TYPES = [
    "topic", "product", "process", "fee", "limit", "country", "currency", "channel", "document",
  ];
  const FIELDS = ["type", "label", "aliases", "attributes", "answers"];
  const FIELD_NAMES = {
    key: "Key", type: "Type", label: "Label", aliases: "Aliases", attributes: "Attributes",
    answers: "Answers",
  };
  const SEARCH_DELAY_MS = 150;
  const SUGGEST_DELAY_MS = 120;
  const SEARCH_LIMIT = 20;
  const SUGGEST_LIMIT = 8;
  const MAX_ALIASES = 50;
  const MAX_ALIAS_CHARS = 100;
  const KEY_PATTERN = /^[a-z0-9_]+(:[a-z0-9_]+)?$/;
  const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
  const PLACEHOLDER_PATTERN = /\{([a-z0-9_:]+)\.([a-z_][a-z0-9_]*)\}/g;
  const TYPE_COLOURS = {
    topic: "#0a5c5a", product: "#2f6fb5", process: "#7a4fb0", fee: "#b5522f", limit: "#a8781c",
    country: "#2f8a4f", currency: "#5c6f0a", channel: "#b03f78", document: "#56606b",
  };
  const OTHER_COLOURS = ["#3d7d9c", "#8a5a2f", "#6b4fa0", "#2f7f6f", "#9c3d5a", "#4f6b2f"];

  const app = document.getElementById("knowledge-editor");
  if (!app) {
    return;
  }
  const apiRoot = new URL(app.dataset.apiRoot || "api/", window.location.href);

  // ---------------------------------------------------------------- small helpers

  const { byId, h, setHidden } = window.StaffDom;

  function clear(node) {
    node.replaceChildren();
    return node;
  }

  function nodeHash(key) {
    return "#node/" + key;
  }

  function nodeLink(reference, attributes) {
    const node = nodeReference(reference);
    return h("a", { href: nodeHash(node.key), ...(attributes || {}) },
      node.label || node.key);
  }

  /** Accept a key or a {key, label, type} object; return the object. */
  function nodeReference(reference) {
    if (typeof reference === "string") {
      return { key: reference, label: "", type: "" };
    }
    const node = reference || {};
    return { key: node.key || node.id || "", label: node.label || "", type: node.type || "" };
  }

  function typeColour(type) {
    if (TYPE_COLOURS[type]) {
      return TYPE_COLOURS[type];
    }
    let hash = 0;
    for (const character of String(type)) {
      hash = (hash * 31 + character.codePointAt(0)) % 9973;
    }
    return OTHER_COLOURS[hash % OTHER_COLOURS.length];
  }

  function typeBadge(type) {
    const badge = h("span", { class: "ke-type" }, type || "?");
    badge.style.setProperty("--ke-type-colour", typeColour(type));
    return badge;
  }

  function formatTime(isoString) {
    const date = new Date(isoString);
    if (!isoString || Number.isNaN(date.getTime())) {
      return "";
    }
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function debounce(callback, delay) {
    let timer = null;
    const debounced = (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => callback(...args), delay);
    };
    debounced.cancel = () => clearTimeout(timer);
    return debounced;
  }

  /** Serialise with sorted object keys, so equal values give equal text. */
  function canonical(value) {
    if (Array.isArray(value)) {
      return "[" + value.map(canonical).join(",") + "]";
    }
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(
        (name) => JSON.stringify(name) + ":" + canonical(value[name])).join(",") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
  }

  function isSame(first, second) {
    return canonical(first) === canonical(second);
  }

  function slug(text) {
    return String(text).toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 80);
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      return meta.content;
    }
    const match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // ---------------------------------------------------------------- the API

  /**
   * Call the API; never throw. Resolve to {ok, status, data, message}: `data` is the JSON
   * answer (also on 400 and 409, whose bodies matter), `message` says what went wrong.
   */
  async function api(method, path, options) {
    const { query, body } = options || {};
    const url = new URL(path, apiRoot);
    Object.entries(query || {}).forEach(([name, value]) => {
      if (value !== undefined && value !== null && value !== "") {
        url.searchParams.set(name, String(value));
      }
    });
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (method !== "GET") {
      headers["X-CSRFToken"] = csrfToken();
    }
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      return failure(0, null, "The server could not be reached. Check the connection and try again.");
    }
    if (response.redirected && new URL(response.url).pathname.startsWith("/accounts/login")) {
      sessionEnded("Your session has ended.");
      return failure(401, null, "Your session has ended: log in again, then retry.");
    }
    let data = null;
    if ((response.headers.get("Content-Type") || "").includes("json")) {
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
    }
    if (response.ok && (data || response.status === 204)) {
      return { ok: true, status: response.status, data, message: "" };
    }
    if (response.ok) {
      return failure(response.status, null, "The server sent an answer the editor cannot read.");
    }
    return failure(response.status, data, describeFailure(response.status, data));
  }

  function failure(status, data, message) {
    return { ok: false, status, data, message };
  }

  function describeFailure(status, data) {
    if (status === 401 || (status === 403 && data && data.reason === "login_required")) {
      sessionEnded("Your session has ended.");
      return "Your session has ended: log in again, then retry.";
    }
    if (status === 403) {
      return "Your account may not edit the knowledge graph.";
    }
    if (status === 400 && data && Array.isArray(data.problems) && data.problems.length) {
      return data.problems.map(
        (problem) => (problem.location ? `${problem.location}: ` : "") + problem.message).join("; ");
    }
    if (data && typeof data.message === "string" && data.message) {
      return data.message;
    }
    if (status === 400) {
      return "Some values are not valid.";
    }
    if (status === 404) {
      return "It no longer exists: someone may have deleted it.";
    }
    if (status === 409) {
      return "Someone else changed it in the meantime.";
    }
    if (status === 413) {
      return "That is too large for the server.";
    }
    return `The server could not do this (status ${status}). Try again in a moment.`;
  }

  function sessionEnded(text) {
    byId("session-banner-text").textContent = text + " ";
    setHidden(byId("session-banner"), false);
  }

  // ---------------------------------------------------------------- inline messages

  function showFieldError(errorNode, message, inputs) {
    errorNode.textContent = message;
    setHidden(errorNode, !message);
    (inputs || []).forEach((input) => {
      if (input) {
        input.setAttribute("aria-invalid", message ? "true" : "false");
      }
    });
  }

  function showBoxError(box, messages) {
    clear(box);
    const list = [].concat(messages).filter(Boolean);
    list.forEach((message) => box.appendChild(h("p", null, message)));
    setHidden(box, list.length === 0);
  }

  function clearErrorsIn(container) {
    container.querySelectorAll(".ke-field-error, .ke-error-box").forEach((node) => {
      node.textContent = "";
      node.hidden = true;
    });
    container.querySelectorAll('[aria-invalid="true"]').forEach((node) => {
      node.setAttribute("aria-invalid", "false");
    });
    container.querySelectorAll(".ke-is-invalid").forEach((node) => {
      node.classList.remove("ke-is-invalid");
    });
  }

  /** Split an API problem location (`answers[0]`, `attributes.days`) into its field and item. */
  function parseLocation(location) {
    const text = String(location || "").replace(/^(node|body|relation)\./, "");
    const match = /^([a-z_]+)(?:\[(\d+)\]|\.([^.[\]]+)|\[["']([^"']+)["']\])?/i.exec(text);
    if (!match) {
      return { field: "", index: null, name: null };
    }
    return {
      field: match[1],
      index: match[2] !== undefined ? Number(match[2]) : null,
      name: match[3] || match[4] || null,
    };
  }

  /**
   * Make a sentence of an API message shown next to its field: "is required" becomes
   * "Label is required"; other messages only gain a capital.
   */
  function sentence(subject, message) {
    const text = String(message || "Not valid.");
    if (subject && /^(is|are|must|has|have|cannot|should|may)\b/.test(text)) {
      return `${subject} ${text}`;
    }
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function focusFirstInvalid(container) {
    const invalid = container.querySelector('[aria-invalid="true"]');
    if (invalid) {
      invalid.focus();
    }
  }

  let flashTimer = null;
  let lastFlashAt = 0;

  function flash(message, actions) {
    lastFlashAt = Date.now();
    const box = byId("flash");
    byId("flash-text").textContent = message;
    const actionSlot = clear(byId("flash-actions"));
    (actions || []).forEach((action) => actionSlot.appendChild(action));
    setHidden(box, false);
    clearTimeout(flashTimer);
    if (!actions || actions.length === 0) {
      flashTimer = setTimeout(() => setHidden(box, true), 8000);
    }
  }

  function hideFlash() {
    clearTimeout(flashTimer);
    setHidden(byId("flash"), true);
  }

  // ---------------------------------------------------------------- attribute values

  /** Show a stored value the way it is typed: text as itself unless it would read as JSON. */
  function valueAsText(value) {
    if (typeof value === "string") {
      try {
        JSON.parse(value);
        return JSON.stringify(value);
      } catch (error) {
        return value;
      }
    }
    return JSON.stringify(value);
  }

  /** Read a typed value: JSON scalars and lists as such, anything else as text. */
  function parseValue(text) {
    const trimmed = text.trim();
    if (trimmed === "") {
      return { value: "" };
    }
    let parsed;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      if (trimmed.startsWith("[")) {
        return { error: 'Write a list as JSON, for example ["EUR", "GBP"].' };
      }
      if (trimmed.startsWith("{")) {
        return { error: "A value cannot be an object: use a number, text, true/false or a list." };
      }
      if (trimmed.startsWith('"')) {
        return { error: "The quote is not closed." };
      }
      return { value: trimmed };
    }
    if (parsed === null) {
      return { error: "A value cannot be null: leave it out instead." };
    }
    if (Array.isArray(parsed)) {
      const isFlat = parsed.every((item) => ["string", "number", "boolean"].includes(typeof item));
      return isFlat ? { value: parsed }
        : { error: "A list may only hold numbers, text and true/false." };
    }
    if (typeof parsed === "object") {
      return { error: "A value cannot be an object: use a number, text, true/false or a list." };
    }
    return { value: parsed };
  }

  function describeValue(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  // ---------------------------------------------------------------- search

  const searchInput = byId("search-query");
  const searchType = byId("search-type");
  const searchResults = byId("search-results");
  const searchStatus = byId("search-status");
  const knownTypes = new Set(COMMON_TYPES);
  let searchSequence = 0;
  let shownSearch = null; // The query and type whose results are on screen.

  function currentSearch() {
    return `${searchInput.value.trim()}\u0000${searchType.value}`;
  }

  function rememberTypes(types) {
    let isNew = false;
    types.forEach((type) => {
      if (type && !knownTypes.has(type)) {
        knownTypes.add(type);
        isNew = true;
      }
    });
    if (isNew || searchType.options.length === 1) {
      renderTypeOptions();
    }
  }

  function renderTypeOptions() {
    const selected = searchType.value;
    const sorted = Array.from(knownTypes).sort();
    searchType.replaceChildren(h("option", { value: "" }, "All types"),
      ...sorted.map((type) => h("option", { value: type }, type)));
    searchType.value = selected;
    clear(byId("node-types")).append(...sorted.map((type) => h("option", { value: type })));
  }

  async function runSearch() {
    const sequence = ++searchSequence;
    const query = searchInput.value.trim();
    const searched = currentSearch();
    searchStatus.textContent = "Searching…";
    const result = await api("GET", "nodes",
      { query: { q: query, type: searchType.value, limit: SEARCH_LIMIT } });
    if (sequence !== searchSequence) {
      return; // A newer search has started; its answer is the one to show.
    }
    if (!result.ok) {
      searchStatus.textContent = result.message;
      return;
    }
    const nodes = result.data.nodes || [];
    rememberTypes(nodes.map((node) => node.type));
    renderSearchResults(nodes);
    shownSearch = searched;
    if (nodes.length === 0) {
      searchStatus.textContent = query ? `No node matches “${query}”.` : "No nodes yet.";
    } else {
      const more = nodes.length >= SEARCH_LIMIT ? " (the first ones; type more to narrow)" : "";
      searchStatus.textContent = `${nodes.length} node${nodes.length === 1 ? "" : "s"}${more}.`;
    }
  }

  const scheduleSearch = debounce(runSearch, SEARCH_DELAY_MS);

  function renderSearchResults(nodes) {
    clear(searchResults);
    nodes.forEach((node) => {
      const aliases = (node.aliases || []).slice(0, 3).join(", ");
      const link = h("a", { href: nodeHash(node.key), class: "ke-result", "data-key": node.key },
        h("span", { class: "ke-result-label" }, node.label || node.key),
        h("span", { class: "ke-result-meta" }, typeBadge(node.type),
          h("code", { class: "ke-key" }, node.key)),
        aliases ? h("span", { class: "ke-result-aliases" }, "also " + aliases) : null);
      searchResults.appendChild(h("li", null, link));
    });
    markCurrentResult();
  }

  function markCurrentResult() {
    searchResults.querySelectorAll("a[data-key]").forEach((link) => {
      if (view.mode === "node" && link.dataset.key === view.key) {
        link.setAttribute("aria-current", "page");
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  function moveThroughResults(event) {
    const links = Array.from(searchResults.querySelectorAll("a"));
    const position = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[Math.min(position + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && position >= 0) {
      event.preventDefault();
      (position === 0 ? searchInput : links[position - 1]).focus();
    }
  }

  searchInput.addEventListener("input", scheduleSearch);
  searchInput.addEventListener("keydown", moveThroughResults);
  searchResults.addEventListener("keydown", moveThroughResults);
  searchType.addEventListener("change", runSearch);
  // Enter in the search box opens the first match.
  byId("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    scheduleSearch.cancel();
    if (shownSearch !== currentSearch()) {
      await runSearch();
    }
    const first = searchResults.querySelector("a");
    if (first) {
      window.location.hash = first.getAttribute("href");
    }
  });

  // ---------------------------------------------------------------- the node form

  const view = {
    mode: "home", // home | node | new | missing
    key: "",
    loaded: null, // the node as the server last gave it
    baseVersion: null, // the version the form's edits are based on
    outgoing: [],
    incoming: [],
    aliases: [],
    loadSequence: 0,
    isSaving: false,
    lastAnswerFocused: null,
  };
  const drafts = new Map(); // key (or "#new") -> {values, baseVersion}

  const form = byId("node-form");
  const keyInput = byId("node-key");
  const typeInput = byId("node-type");
  const labelInput = byId("node-label");
  const aliasInput = byId("alias-new");
  const attributeRows = byId("attribute-rows");
  const answerRows = byId("answer-rows");
  const saveButton = byId("save-node");
  const saveStatus = byId("save-status");

  function emptyNode() {
    return { key: "", type: "", label: "", aliases: [], attributes: {}, answers: [""] };
  }

  function fillForm(node) {
    keyInput.value = node.key || "";
    typeInput.value = node.type || "";
    labelInput.value = node.label || "";
    view.aliases = (node.aliases || []).slice();
    renderAliases();
    renderAttributes(Object.entries(node.attributes || {}).map(
      ([name, value]) => ({ name, text: valueAsText(value) })));
    renderAnswers((node.answers || []).length ? node.answers : [""]);
    renderPlaceholderButtons(node);
  }

  /** Return the form's values, and the problems found before asking the server. */
  function readForm() {
    const problems = [];
    const attributes = {};
    attributeRows.querySelectorAll(".ke-attribute").forEach((row, index) => {
      const name = row.querySelector(".ke-attribute-name").value.trim();
      const valueText = row.querySelector(".ke-attribute-value").value;
      if (!name && !valueText.trim()) {
        return; // An empty row is left out, not an error.
      }
      if (!NAME_PATTERN.test(name)) {
        problems.push({ location: `attributes[${index}]`, row: index,
          message: "A name is lower-case letters, digits and _, starting with a letter." });
        return;
      }
      if (Object.prototype.hasOwnProperty.call(attributes, name)) {
        problems.push({ location: `attributes[${index}]`, row: index,
          message: `“${name}” is already an attribute above.` });
        return;
      }
      const parsed = parseValue(valueText);
      if (parsed.error) {
        problems.push({ location: `attributes[${index}]`, row: index, message: parsed.error });
        return;
      }
      attributes[name] = parsed.value;
    });
    const answers = Array.from(answerRows.querySelectorAll("textarea"), (area) => area.value)
      .filter((text) => text.trim() !== "");
    const key = keyInput.value.trim();
    if (view.mode === "new" && !KEY_PATTERN.test(key)) {
      problems.push({ location: "key", message: key
        ? "Use lower-case letters, digits and _, with at most one colon: kind:name."
        : "Give the node a key, for example product:standard_card." });
    }
    return {
      values: {
        key,
        type: typeInput.value.trim(),
        label: labelInput.value.trim(),
        aliases: view.aliases.slice(),
        attributes,
        answers,
      },
      problems,
    };
  }

  function isDirty() {
    if ((view.mode !== "node" || !view.loaded) && view.mode !== "new") {
      return false;
    }
    const { values, problems } = readForm();
    if (problems.length || aliasInput.value.trim()) {
      return true;
    }
    const base = view.mode === "new" ? emptyNode() : view.loaded;
    const fields = view.mode === "new" ? ["key", ...FIELDS] : FIELDS;
    return fields.some((field) => !isSame(values[field], normalisedField(base, field)));
  }

  function normalisedField(node, field) {
    if (field === "answers") {
      return (node.answers || []).filter((text) => text.trim() !== "");
    }
    if (field === "aliases") {
      return node.aliases || [];
    }
    if (field === "attributes") {
      return node.attributes || {};
    }
    return node[field] || "";
  }

  // Aliases: chips with a remove button each.

  function renderAliases() {
    const list = clear(byId("alias-list"));
    view.aliases.forEach((alias, index) => {
      list.appendChild(h("li", { class: "ke-chip", "data-index": index },
        h("span", { class: "ke-chip-text" }, alias),
        h("button", {
          type: "button", class: "ke-chip-remove", "aria-label": `Remove alias ${alias}`,
          title: "Remove", onclick: () => removeAlias(index),
        }, "×")));
    });
    setHidden(list, view.aliases.length === 0);
  }

  function addAlias() {
    const alias = aliasInput.value.trim().replace(/\s+/g, " ");
    const errorNode = byId("aliases-error");
    showFieldError(errorNode, "", [aliasInput]);
    let message = "";
    if (!alias) {
      message = "Type the alias first.";
    } else if (Array.from(alias).length > MAX_ALIAS_CHARS) {
      message = `An alias has at most ${MAX_ALIAS_CHARS} characters.`;
    } else if (view.aliases.length >= MAX_ALIASES) {
      message = `A node has at most ${MAX_ALIASES} aliases.`;
    } else if (view.aliases.some((existing) => existing.toLowerCase() === alias.toLowerCase())) {
      message = `“${alias}” is already an alias.`;
    }
    if (message) {
      showFieldError(errorNode, message, [aliasInput]);
      aliasInput.focus();
      return;
    }
    view.aliases.push(alias);
    renderAliases();
    aliasInput.value = "";
    aliasInput.focus();
  }

  function removeAlias(index) {
    view.aliases.splice(index, 1);
    renderAliases();
    const chips = byId("alias-list").querySelectorAll(".ke-chip-remove");
    (chips[Math.min(index, chips.length - 1)] || aliasInput).focus();
  }

  byId("alias-add").addEventListener("click", addAlias);
  aliasInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      addAlias();
    }
  });

  // Attributes: one row of name and value each.

  function renderAttributes(rows) {
    clear(attributeRows);
    rows.forEach((row) => attributeRows.appendChild(attributeRow(row)));
    numberAttributeRows();
  }

  function attributeRow(row) {
    const errorId = "attribute-error-" + Math.random().toString(36).slice(2);
    const element = h("div", { class: "ke-attribute" },
      h("input", { type: "text", class: "ke-attribute-name", value: row.name, autocomplete: "off",
        spellcheck: "false", placeholder: "name", "aria-describedby": errorId }),
      h("input", { type: "text", class: "ke-attribute-value", value: row.text, autocomplete: "off",
        placeholder: "value", "aria-describedby": `attributes-hint ${errorId}` }),
      h("button", { type: "button", class: "ke-button ke-button-icon ke-attribute-remove",
        title: "Remove" }, "×"),
      h("p", { class: "ke-field-error", id: errorId, hidden: true }));
    element.querySelector(".ke-attribute-remove").addEventListener("click", () => {
      const next = element.nextElementSibling || element.previousElementSibling;
      element.remove();
      numberAttributeRows();
      (next ? next.querySelector("input") : byId("attribute-add")).focus();
    });
    element.querySelector(".ke-attribute-name").addEventListener("input", numberAttributeRows);
    return element;
  }

  function numberAttributeRows() {
    attributeRows.querySelectorAll(".ke-attribute").forEach((row, index) => {
      const name = row.querySelector(".ke-attribute-name").value.trim();
      const title = `attribute ${index + 1}`;
      row.querySelector(".ke-attribute-name").setAttribute("aria-label", `Name of ${title}`);
      row.querySelector(".ke-attribute-value").setAttribute("aria-label",
        `Value of ${title}` + (name ? ` (${name})` : ""));
      row.querySelector(".ke-attribute-remove").setAttribute("aria-label",
        `Remove ${title}` + (name ? ` (${name})` : ""));
    });
  }

  byId("attribute-add").addEventListener("click", () => {
    const row = attributeRow({ name: "", text: "" });
    attributeRows.appendChild(row);
    numberAttributeRows();
    row.querySelector("input").focus();
  });

  // Answers: one text area each; the first is the main answer.

  function renderAnswers(answers) {
    clear(answerRows);
    answers.forEach((text) => answerRows.appendChild(answerRow(text)));
    numberAnswerRows();
  }

  function answerRow(text) {
    const suffix = Math.random().toString(36).slice(2);
    const areaId = "answer-" + suffix;
    const errorId = "answer-error-" + suffix;
    const quotesId = "answer-quotes-" + suffix;
    const area = h("textarea", { id: areaId, rows: 3, value: text,
      "aria-describedby": `answers-hint ${quotesId} ${errorId}` });
    const row = h("div", { class: "ke-answer" },
      h("div", { class: "ke-answer-head" },
        h("label", { for: areaId, class: "ke-answer-label" }),
        h("span", { class: "ke-answer-tools" },
          h("button", { type: "button", class: "ke-button ke-button-small ke-answer-main" },
            "Make main"),
          h("button", { type: "button", class: "ke-button ke-button-small ke-answer-remove" },
            "Remove"))),
      area,
      h("p", { class: "ke-hint ke-answer-quotes", id: quotesId }),
      h("p", { class: "ke-field-error", id: errorId, hidden: true }));
    area.addEventListener("input", () => showQuotes(row));
    area.addEventListener("focus", () => {
      view.lastAnswerFocused = area;
    });
    row.querySelector(".ke-answer-remove").addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      if (!answerRows.children.length) {
        answerRows.appendChild(answerRow(""));
      }
      numberAnswerRows();
      ((next && next.isConnected ? next : answerRows.firstElementChild)
        .querySelector("textarea")).focus();
    });
    row.querySelector(".ke-answer-main").addEventListener("click", () => {
      answerRows.prepend(row);
      numberAnswerRows();
      area.focus();
    });
    showQuotes(row);
    return row;
  }

  function numberAnswerRows() {
    answerRows.querySelectorAll(".ke-answer").forEach((row, index) => {
      const title = `Answer ${index + 1}` + (index === 0 ? " (main)" : "");
      row.querySelector(".ke-answer-label").textContent = title;
      row.querySelector(".ke-answer-remove").setAttribute("aria-label", `Remove answer ${index + 1}`);
      row.querySelector(".ke-answer-main").setAttribute("aria-label",
        `Make answer ${index + 1} the main answer`);
      setHidden(row.querySelector(".ke-answer-main"), index === 0);
    });
  }

  function showQuotes(row) {
    const text = row.querySelector("textarea").value;
    const quotes = Array.from(text.matchAll(PLACEHOLDER_PATTERN), (match) => match[0]);
    const target = clear(row.querySelector(".ke-answer-quotes"));
    if (quotes.length) {
      target.append("Quotes ", ...Array.from(new Set(quotes)).flatMap((quote, index) => [
        index ? ", " : "", h("code", null, quote)]), ": filled in when the bot answers.");
    }
  }

  function renderPlaceholderButtons(node) {
    const names = Object.keys((node && node.attributes) || {});
    const list = clear(byId("placeholder-button-list"));
    names.forEach((name) => {
      const placeholder = `{${node.key}.${name}}`;
      list.appendChild(h("button", {
        type: "button", class: "ke-button ke-button-small ke-button-code",
        "aria-label": `Insert ${placeholder} into the answer`,
        onclick: () => insertPlaceholder(placeholder),
      }, placeholder));
    });
    setHidden(byId("placeholder-buttons"), names.length === 0 || !node.key);
  }

  function insertPlaceholder(placeholder) {
    const area = view.lastAnswerFocused && view.lastAnswerFocused.isConnected
      ? view.lastAnswerFocused : answerRows.querySelector("textarea");
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? area.value.length;
    area.setRangeText(placeholder, start, end, "end");
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  }

  byId("answer-add").addEventListener("click", () => {
    const row = answerRow("");
    answerRows.appendChild(row);
    numberAnswerRows();
    row.querySelector("textarea").focus();
  });

  // A new node's key follows its type and label until the editor types one.
  function suggestKey() {
    if (view.mode !== "new" || keyInput.dataset.isEdited === "true") {
      return;
    }
    const name = slug(labelInput.value);
    const kind = slug(typeInput.value);
    keyInput.value = name ? (kind ? `${kind}:${name}` : name) : "";
  }

  keyInput.addEventListener("input", () => {
    keyInput.dataset.isEdited = keyInput.value ? "true" : "false";
  });
  labelInput.addEventListener("input", suggestKey);
  typeInput.addEventListener("input", suggestKey);

  // ---------------------------------------------------------------- problems from the server

  /** Put each problem next to the field it concerns; the rest in the form's error box. */
  function showNodeProblems(problems) {
    const unplaced = [];
    problems.forEach((problem) => {
      const message = problem.message || "Not valid.";
      if (problem.row !== undefined) {
        markAttributeRow(attributeRows.querySelectorAll(".ke-attribute")[problem.row], message);
        return;
      }
      const { field, index, name } = parseLocation(problem.location);
      if (!placeNodeProblem(field, index, name, message)) {
        unplaced.push(problem.location ? `${problem.location}: ${message}` : message);
      }
    });
    showBoxError(byId("form-error"), unplaced.length
      ? ["The node was not saved.", ...unplaced] : []);
    if (!unplaced.length && problems.length) {
      saveStatus.textContent = "Not saved: see the messages above.";
    }
    focusFirstInvalid(form);
  }

  function placeNodeProblem(field, index, name, message) {
    const simple = { key: keyInput, type: typeInput, label: labelInput };
    if (simple[field]) {
      appendFieldError(byId(`node-${field}-error`), sentence(FIELD_NAMES[field], message),
        simple[field]);
      return true;
    }
    if (field === "aliases") {
      const alias = index !== null ? view.aliases[index] : null;
      const chip = index !== null ? byId("alias-list").children[index] : null;
      if (chip) {
        chip.classList.add("ke-is-invalid");
      }
      appendFieldError(byId("aliases-error"),
        sentence(alias ? `The alias “${alias}”` : "Aliases", message), aliasInput);
      return true;
    }
    if (field === "attributes") {
      const rows = Array.from(attributeRows.querySelectorAll(".ke-attribute"));
      const row = name !== null
        ? rows.find((candidate) => candidate.querySelector(".ke-attribute-name").value.trim() === name)
        : rows[index];
      if (row) {
        markAttributeRow(row, sentence(name, message));
      } else {
        appendFieldError(byId("attributes-error"),
          name ? `${name}: ${message}` : sentence("Attributes", message), null);
      }
      return true;
    }
    if (field === "answers") {
      const rows = Array.from(answerRows.querySelectorAll(".ke-answer"))
        .filter((row) => row.querySelector("textarea").value.trim() !== "");
      const row = index !== null ? rows[index] : null;
      if (row) {
        appendFieldError(row.querySelector(".ke-field-error"), sentence("This answer", message),
          row.querySelector("textarea"));
      } else {
        appendFieldError(byId("answers-error"), sentence("Answers", message), null);
      }
      return true;
    }
    return false;
  }

  function markAttributeRow(row, message) {
    if (!row) {
      appendFieldError(byId("attributes-error"), message, null);
      return;
    }
    const nameInput = row.querySelector(".ke-attribute-name");
    const valueInput = row.querySelector(".ke-attribute-value");
    const isNameProblem = /name/i.test(message) && !/value/i.test(message);
    appendFieldError(row.querySelector(".ke-field-error"), message,
      isNameProblem ? nameInput : valueInput);
  }

  function appendFieldError(errorNode, message, input) {
    errorNode.textContent = errorNode.hidden || !errorNode.textContent
      ? message : `${errorNode.textContent} ${message}`;
    setHidden(errorNode, false);
    if (input) {
      input.setAttribute("aria-invalid", "true");
    }
  }

  // ---------------------------------------------------------------- saving

  async function saveNode(event) {
    event.preventDefault();
    if (view.isSaving) {
      return;
    }
    clearErrorsIn(form);
    saveStatus.textContent = "";
    if (aliasInput.value.trim()) {
      addAlias(); // An alias typed but not added yet is meant to be saved too.
      if (!byId("aliases-error").hidden) {
        return;
      }
    }
    const { values, problems } = readForm();
    if (problems.length) {
      showNodeProblems(problems);
      return;
    }
    if (view.mode === "new") {
      await createNode(values);
      return;
    }
    const changes = {};
    FIELDS.forEach((field) => {
      if (!isSame(values[field], normalisedField(view.loaded, field))) {
        changes[field] = values[field];
      }
    });
    const isRebased = view.baseVersion !== view.loaded.version;
    if (!Object.keys(changes).length && !isRebased) {
      saveStatus.textContent = "Nothing to save: no changes.";
      return;
    }
    if (isRebased) {
      // Editing over someone else's version: send every field, so the result is exactly the form.
      FIELDS.forEach((field) => { changes[field] = values[field]; });
    }
    await whileSaving(async () => {
      const result = await api("PATCH", "nodes/" + encodeURIComponent(view.key),
        { body: { version: view.baseVersion, ...changes } });
      if (result.ok) {
        nodeSaved(result.data.node);
      } else if (result.status === 409 && result.data && result.data.current) {
        showConflict(values, result.data.current, "save");
      } else if (result.status === 400 && result.data && result.data.problems) {
        showNodeProblems(result.data.problems);
      } else {
        showBoxError(byId("form-error"), ["The node was not saved.", result.message]);
        saveStatus.textContent = "Not saved.";
      }
    });
  }

  async function whileSaving(work) {
    view.isSaving = true;
    saveButton.disabled = true;
    saveButton.setAttribute("aria-busy", "true");
    saveStatus.textContent = "Saving…";
    try {
      await work();
    } finally {
      view.isSaving = false;
      saveButton.disabled = false;
      saveButton.removeAttribute("aria-busy");
      if (saveStatus.textContent === "Saving…") {
        saveStatus.textContent = "";
      }
    }
  }

  function nodeSaved(node) {
    drafts.delete(view.key);
    hideConflict();
    setHidden(byId("draft-notice"), true);
    showNode(node);
    saveStatus.textContent = `Saved. This is version ${node.version}.`;
    runSearch();
    loadHistory();
    loadDrawing();
  }

  async function createNode(values) {
    const body = { ...values };
    await whileSaving(async () => {
      const result = await api("POST", "nodes", { body });
      if (result.ok) {
        drafts.delete("#new");
        view.mode = "leaving"; // Saved: nothing to keep as a draft.
        const node = result.data.node;
        rememberTypes([node.type]);
        runSearch();
        window.location.hash = nodeHash(node.key);
        flash(`Created ${node.label}.`);
      } else if (result.status === 400 && result.data && result.data.problems) {
        showNodeProblems(result.data.problems);
      } else {
        showBoxError(byId("form-error"), ["The node was not created.", result.message]);
        saveStatus.textContent = "Not created.";
      }
    });
  }

  form.addEventListener("submit", saveNode);

  // ---------------------------------------------------------------- conflicts

  const conflictBox = byId("conflict");

  function describeField(field, node) {
    const value = normalisedField(node, field);
    if (field === "aliases") {
      return value.length ? value.join(", ") : "(none)";
    }
    if (field === "attributes") {
      const entries = Object.entries(value);
      return entries.length
        ? entries.map(([name, item]) => `${name}: ${valueAsText(item)}`).join("\n") : "(none)";
    }
    if (field === "answers") {
      return value.length ? value.map((text, index) => `${index + 1}. ${text}`).join("\n") : "(none)";
    }
    return value || "(empty)";
  }

  /**
   * Someone saved the node after the form was loaded. Keep the editor's values on screen and
   * let them load the other version, keep their own, or take field by field.
   */
  function showConflict(mine, theirs, reason) {
    view.loaded = theirs;
    const differing = FIELDS.filter(
      (field) => !isSame(normalisedField(mine, field), normalisedField(theirs, field)));
    const when = theirs.updated_at ? `, saved ${formatTime(theirs.updated_at)}` : "";
    const intro = reason === "draft"
      ? "Someone else saved this node since you started editing it."
      : "Someone else saved this node.";
    clear(conflictBox).append(
      h("h2", { class: "ke-conflict-title" }, intro),
      h("p", null, `Their version is version ${theirs.version}${when}. Nothing of yours was saved: `
        + "your edits are still in the form below."),
      differing.length
        ? h("p", null, "The fields that differ:") : h("p", null, "Their version has the same values as yours."),
      differenceTable(differing, mine, theirs, false),
      h("div", { class: "ke-button-row" },
        h("button", { type: "button", class: "ke-button ke-button-primary",
          onclick: () => loadTheirs(mine, theirs, differing) }, "Load their version"),
        h("button", { type: "button", class: "ke-button", onclick: () => keepMine(theirs) },
          "Keep my edits")));
    setHidden(conflictBox, false);
    saveStatus.textContent = "Not saved: someone else saved this node first.";
    conflictBox.scrollIntoView({ block: "nearest" });
    loadHistory();
  }

  function differenceTable(fields, mine, theirs, canApply) {
    if (!fields.length) {
      return null;
    }
    return h("table", { class: "ke-diff" },
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, "Field"),
        h("th", { scope: "col" }, "Their version"),
        h("th", { scope: "col" }, "Your edits"),
        canApply ? h("th", { scope: "col" }, h("span", { class: "ke-visually-hidden" }, "Action")) : null)),
      h("tbody", null, fields.map((field) => h("tr", null,
        h("th", { scope: "row" }, FIELD_NAMES[field]),
        h("td", { class: "ke-diff-value" }, describeField(field, theirs)),
        h("td", { class: "ke-diff-value ke-diff-mine" }, describeField(field, mine)),
        canApply ? h("td", null, h("button", {
          type: "button", class: "ke-button ke-button-small",
          "aria-label": `Use my ${FIELD_NAMES[field].toLowerCase()}`,
          onclick: (event) => applyMine(field, mine, event.currentTarget),
        }, "Use mine")) : null))));
  }

  function loadTheirs(mine, theirs, differing) {
    fillForm(theirs);
    view.baseVersion = theirs.version;
    showHeading(theirs);
    clear(conflictBox).append(
      h("h2", { class: "ke-conflict-title" }, `Their version ${theirs.version} is loaded`),
      h("p", null, differing.length
        ? "Your edits are kept here until you dismiss them. Take the ones you want, then save."
        : "It has the same values as your edits."),
      differenceTable(differing, mine, theirs, true),
      h("div", { class: "ke-button-row" },
        h("button", { type: "button", class: "ke-button", onclick: hideConflict },
          "Dismiss my edits")));
    saveStatus.textContent = "";
    labelInput.focus();
  }

  function keepMine(theirs) {
    view.baseVersion = theirs.version;
    hideConflict();
    saveStatus.textContent = `Your edits now replace version ${theirs.version} when you save.`;
    saveButton.focus();
  }

  function applyMine(field, mine, button) {
    if (field === "type") {
      typeInput.value = mine.type;
    } else if (field === "label") {
      labelInput.value = mine.label;
    } else if (field === "aliases") {
      view.aliases = mine.aliases.slice();
      renderAliases();
    } else if (field === "attributes") {
      renderAttributes(Object.entries(mine.attributes).map(
        ([name, value]) => ({ name, text: valueAsText(value) })));
    } else if (field === "answers") {
      renderAnswers(mine.answers.length ? mine.answers : [""]);
    }
    button.disabled = true;
    button.textContent = "Used";
  }

  function hideConflict() {
    clear(conflictBox);
    setHidden(conflictBox, true);
  }

  // ---------------------------------------------------------------- opening a node

  function showView(name) {
    setHidden(byId("home-view"), name !== "home");
    setHidden(byId("missing-view"), name !== "missing");
    setHidden(byId("node-view"), name !== "node" && name !== "new");
  }

  function showHeading(node) {
    byId("node-title").textContent = node.label || node.key;
    const badge = byId("node-type-badge");
    badge.textContent = node.type;
    badge.style.setProperty("--ke-type-colour", typeColour(node.type));
    byId("node-key-code").textContent = node.key;
    const when = node.updated_at ? ` · saved ${formatTime(node.updated_at)}` : "";
    byId("node-version").textContent = `Version ${node.version}${when}`;
    document.title = `${node.label || node.key} · Knowledge editor`;
  }

  /** Put a node from the server into the page: heading and form. */
  function showNode(node) {
    view.loaded = node;
    view.baseVersion = node.version;
    showHeading(node);
    fillForm(node);
    rememberTypes([node.type]);
  }

  async function openNode(key) {
    const sequence = ++view.loadSequence;
    view.mode = "node";
    view.key = key;
    view.loaded = null;
    resetNodeView();
    showView("node");
    const nodeView = byId("node-view");
    nodeView.setAttribute("aria-busy", "true");
    byId("node-title").textContent = "Loading…";
    byId("node-key-code").textContent = key;
    byId("node-version").textContent = "";
    const result = await api("GET", "nodes/" + encodeURIComponent(key));
    if (sequence !== view.loadSequence) {
      return;
    }
    nodeView.removeAttribute("aria-busy");
    if (!result.ok) {
      showMissing(key, result);
      return;
    }
    showNode(result.data.node);
    showRelations(result.data);
    const draft = drafts.get(key);
    if (draft) {
      restoreDraft(draft, result.data.node);
    }
    markCurrentResult();
    byId("node-title").focus({ preventScroll: false });
    loadDrawing();
    loadHistory();
  }

  function resetNodeView() {
    hideConflict();
    clearErrorsIn(byId("node-view"));
    saveStatus.textContent = "";
    byId("relation-status").textContent = "";
    setHidden(byId("draft-notice"), true);
    setHidden(byId("delete-confirm"), true);
    const isNew = view.mode === "new";
    keyInput.readOnly = !isNew;
    keyInput.dataset.isEdited = "false";
    setHidden(byId("node-key-hint"), false);
    ["relations-section", "drawing-section", "history-section"].forEach(
      (id) => setHidden(byId(id), isNew));
    setHidden(byId("delete-node"), isNew);
    setHidden(byId("node-type-badge"), isNew);
    saveButton.textContent = isNew ? "Create node" : "Save";
    otherInput.value = "";
    otherChoice.textContent = "";
    byId("relation-attributes").value = "";
    clear(byId("outgoing-list"));
    clear(byId("incoming-list"));
    clear(byId("history-list"));
    byId("history-status").textContent = "";
    destroyDrawing();
  }

  function showMissing(key, result) {
    view.mode = "missing";
    showView("missing");
    byId("missing-text").textContent = result.status === 404
      ? `No node has the key “${key}”. It may have been deleted.`
      : `The node “${key}” could not be opened. ${result.message}`;
    document.title = "Node not found · Knowledge editor";
    byId("missing-title").focus();
    markCurrentResult();
  }

  function restoreDraft(draft, current) {
    fillForm({ ...draft.values, key: current.key });
    renderPlaceholderButtons(current);
    if (draft.baseVersion === current.version) {
      setHidden(byId("draft-notice"), false);
    } else {
      view.baseVersion = draft.baseVersion; // Saving unresolved meets the conflict again.
      showConflict(draft.values, current, "draft");
    }
  }

  byId("draft-discard").addEventListener("click", () => {
    drafts.delete(view.key);
    fillForm(view.loaded);
    setHidden(byId("draft-notice"), true);
    saveStatus.textContent = "Your edits are discarded.";
  });

  function openNewNode() {
    view.loadSequence += 1;
    byId("node-view").removeAttribute("aria-busy");
    view.mode = "new";
    view.key = "";
    view.loaded = null;
    view.baseVersion = null;
    resetNodeView();
    showView("new");
    const draft = drafts.get("#new");
    fillForm(draft ? draft.values : emptyNode());
    if (draft && draft.values.key) {
      keyInput.dataset.isEdited = "true";
    }
    setHidden(byId("draft-notice"), !draft);
    byId("node-title").textContent = "New node";
    byId("node-key-code").textContent = "";
    byId("node-version").textContent = "It is saved when you create it.";
    document.title = "New node · Knowledge editor";
    markCurrentResult();
    byId("node-title").focus();
  }

  function openHome() {
    view.loadSequence += 1;
    view.mode = "home";
    view.key = "";
    destroyDrawing();
    showView("home");
    document.title = "Knowledge editor";
    markCurrentResult();
  }

  // ---------------------------------------------------------------- deleting

  const deleteBox = byId("delete-confirm");

  byId("delete-node").addEventListener("click", () => {
    const count = view.outgoing.length + view.incoming.length;
    byId("delete-question").textContent = `Delete “${view.loaded.label}” (${view.key})?`
      + (count ? ` Its ${count} relation${count === 1 ? "" : "s"} go with it.` : "")
      + " The history keeps a copy you can restore.";
    showFieldError(byId("delete-error"), "", null);
    setHidden(byId("delete-reload"), true);
    setHidden(byId("delete-confirm-button"), false);
    setHidden(deleteBox, false);
    byId("delete-cancel").focus();
  });

  byId("delete-cancel").addEventListener("click", () => {
    setHidden(deleteBox, true);
    byId("delete-node").focus();
  });

  byId("delete-reload").addEventListener("click", () => {
    drafts.delete(view.key);
    openNode(view.key);
  });

  byId("delete-confirm-button").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    const key = view.key;
    const label = view.loaded.label;
    button.disabled = true;
    const result = await api("DELETE", "nodes/" + encodeURIComponent(key),
      { query: { version: view.baseVersion } });
    button.disabled = false;
    if (result.ok) {
      drafts.delete(key);
      view.mode = "leaving";
      window.location.hash = "";
      runSearch();
      flash(`Deleted “${label}” (${key}).`, [h("button", {
        type: "button", class: "ke-button ke-button-small",
        onclick: (click) => undoDelete(key, click.currentTarget),
      }, "Undo")]);
    } else if (result.status === 409) {
      const current = result.data && result.data.current;
      const version = current ? ` (now version ${current.version})` : "";
      showFieldError(byId("delete-error"),
        `Someone else saved this node${version} since you opened it. Reload it to see their `
        + "changes before deleting it.", null);
      setHidden(byId("delete-confirm-button"), true);
      setHidden(byId("delete-reload"), false);
      byId("delete-reload").focus();
    } else {
      showFieldError(byId("delete-error"), `Not deleted: ${result.message}`, null);
    }
  });

  async function undoDelete(key, button) {
    button.disabled = true;
    const history = await api("GET", "changes", { query: { node: key } });
    const change = history.ok && (history.data.changes || []).find(
      (item) => item.action === "delete" && item.target === key
        && ![].concat(item.reverted_by || []).length);
    if (!change) {
      flash(history.ok ? "The deletion is no longer in the history." : history.message);
      return;
    }
    const result = await api("POST", `changes/${change.id}/revert`);
    if (result.ok) {
      hideFlash();
      runSearch();
      window.location.hash = nodeHash(key);
      flash(`Restored ${key}.`);
    } else {
      flash(`Could not restore ${key}: ${result.message}`);
    }
  }

  // ---------------------------------------------------------------- relations

  function showRelations(data) {
    view.outgoing = data.outgoing || [];
    view.incoming = data.incoming || [];
    renderRelationList(byId("outgoing-list"), view.outgoing, "outgoing");
    renderRelationList(byId("incoming-list"), view.incoming, "incoming");
  }

  function renderRelationList(list, relations, direction) {
    clear(list);
    if (!relations.length) {
      list.appendChild(h("li", { class: "ke-empty" },
        direction === "outgoing" ? "None from this node." : "None to this node."));
      return;
    }
    relations.forEach((relation) => {
      const other = nodeReference(direction === "outgoing" ? relation.target : relation.source);
      const attributes = Object.entries(relation.attributes || {});
      const errorNode = h("p", { class: "ke-field-error", hidden: true });
      const phrase = direction === "outgoing"
        ? `${relation.type} ${other.label || other.key}`
        : `${other.label || other.key} ${relation.type} this node`;
      const type = h("span", { class: "ke-relation-type" }, relation.type);
      const otherNode = [nodeLink(other), " ", h("code", { class: "ke-key" }, other.key)];
      const arrow = (text) => h("span", { class: "ke-arrow", "aria-hidden": "true" }, text);
      const text = direction === "outgoing"
        ? [arrow("→ "), type, " ", otherNode]
        : [otherNode, " ", type, arrow(" → this")];
      const item = h("li", { class: "ke-relation", "data-relation-id": relation.id },
        h("span", { class: "ke-relation-text" }, text,
          attributes.length ? h("span", { class: "ke-relation-attributes" },
            attributes.map(([name, value]) => `${name}: ${valueAsText(value)}`).join(", ")) : null),
        h("button", {
          type: "button", class: "ke-button ke-button-small ke-button-danger-quiet",
          "aria-label": `Remove relation: ${phrase}`,
          onclick: (event) => removeRelation(relation, event.currentTarget, errorNode),
        }, "Remove"),
        errorNode);
      list.appendChild(item);
    });
  }

  async function removeRelation(relation, button, errorNode) {
    button.disabled = true;
    const result = await api("DELETE", "relations/" + encodeURIComponent(relation.id));
    if (result.ok || result.status === 404) {
      byId("relation-status").textContent = `Removed the ${relation.type} relation.`;
      await refreshNode();
      loadDrawing();
      loadHistory();
    } else {
      button.disabled = false;
      showFieldError(errorNode, result.message, null);
    }
  }

  /** Reload the node's relations; reload its form too unless the editor has unsaved edits. */
  async function refreshNode() {
    const key = view.key;
    const result = await api("GET", "nodes/" + encodeURIComponent(key));
    if (key !== view.key || view.mode !== "node") {
      return;
    }
    if (!result.ok) {
      if (result.status === 404) {
        showMissing(key, result);
      }
      return;
    }
    showRelations(result.data);
    const node = result.data.node;
    if (node.version !== view.loaded.version) {
      if (isDirty()) {
        view.loaded = node; // The next save meets a conflict and shows both versions.
        showHeading(node);
      } else {
        showNode(node);
      }
    }
  }

  // Relation types for the datalist, from the API.
  async function loadRelationTypes() {
    const result = await api("GET", "relation-types");
    if (result.ok) {
      clear(byId("relation-types")).append(
        ...(result.data.types || []).map((type) => h("option", { value: type })));
    }
  }

  // The other node: a combobox that suggests nodes as the editor types.
  const otherInput = byId("relation-other");
  const otherOptions = byId("relation-other-options");
  const otherChoice = byId("relation-other-choice");
  const suggestions = { nodes: [], active: -1, sequence: 0, chosen: null };

  async function suggestNodes() {
    const query = otherInput.value.trim();
    const sequence = ++suggestions.sequence;
    if (!query) {
      closeSuggestions();
      return;
    }
    const result = await api("GET", "nodes", { query: { q: query, limit: SUGGEST_LIMIT } });
    if (sequence !== suggestions.sequence || document.activeElement !== otherInput) {
      return;
    }
    suggestions.nodes = result.ok ? (result.data.nodes || []).filter((node) => node.key !== view.key) : [];
    suggestions.active = -1;
    renderSuggestions(result.ok ? "" : result.message);
  }

  const scheduleSuggestions = debounce(suggestNodes, SUGGEST_DELAY_MS);

  function renderSuggestions(errorMessage) {
    clear(otherOptions);
    suggestions.nodes.forEach((node, index) => {
      otherOptions.appendChild(h("li", {
        role: "option", id: `relation-other-option-${index}`, class: "ke-option",
        "aria-selected": index === suggestions.active ? "true" : "false",
        onmousedown: (event) => {
          event.preventDefault(); // Keep the focus in the input.
          chooseSuggestion(index);
        },
      }, h("span", { class: "ke-option-label" }, node.label || node.key), " ",
      h("code", { class: "ke-key" }, node.key), " ", typeBadge(node.type)));
    });
    if (!suggestions.nodes.length) {
      otherOptions.appendChild(h("li", { class: "ke-option ke-option-empty", role: "presentation" },
        errorMessage || "No node matches."));
    }
    setHidden(otherOptions, false);
    otherInput.setAttribute("aria-expanded", "true");
    if (suggestions.active >= 0) {
      otherInput.setAttribute("aria-activedescendant", `relation-other-option-${suggestions.active}`);
    } else {
      otherInput.removeAttribute("aria-activedescendant");
    }
  }

  function closeSuggestions() {
    setHidden(otherOptions, true);
    otherInput.setAttribute("aria-expanded", "false");
    otherInput.removeAttribute("aria-activedescendant");
    suggestions.active = -1;
  }

  function chooseSuggestion(index) {
    const node = suggestions.nodes[index];
    suggestions.chosen = node;
    otherInput.value = node.key;
    otherChoice.textContent = `${node.label} (${node.type})`;
    closeSuggestions();
  }

  otherInput.addEventListener("input", () => {
    suggestions.chosen = null;
    otherChoice.textContent = "";
    scheduleSuggestions();
  });
  otherInput.addEventListener("keydown", (event) => {
    const isOpen = !otherOptions.hidden && suggestions.nodes.length > 0;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!isOpen) {
        scheduleSuggestions();
        return;
      }
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      const count = suggestions.nodes.length;
      suggestions.active = (suggestions.active + step + count) % count;
      renderSuggestions("");
    } else if (event.key === "Enter" && isOpen && suggestions.active >= 0) {
      event.preventDefault();
      chooseSuggestion(suggestions.active);
    } else if (event.key === "Escape" && !otherOptions.hidden) {
      event.preventDefault();
      closeSuggestions();
    }
  });
  otherInput.addEventListener("blur", () => setTimeout(closeSuggestions, 100));

  byId("relation-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const relationForm = event.currentTarget;
    clearErrorsIn(relationForm);
    byId("relation-status").textContent = "";
    const type = byId("relation-type").value.trim();
    const other = otherInput.value.trim();
    const attributesText = byId("relation-attributes").value.trim();
    let attributes = {};
    let isValid = true;
    if (!NAME_PATTERN.test(type)) {
      showFieldError(byId("relation-type-error"), type
        ? "A relation type is lower-case letters, digits and _, for example has_fee."
        : "Choose or type a relation type.", [byId("relation-type")]);
      isValid = false;
    }
    if (!other) {
      showFieldError(byId("relation-other-error"), "Choose the other node.", [otherInput]);
      isValid = false;
    }
    if (attributesText) {
      const problem = relationAttributesProblem(attributesText);
      if (problem) {
        showFieldError(byId("relation-attributes-error"), problem, [byId("relation-attributes")]);
        isValid = false;
      } else {
        attributes = JSON.parse(attributesText);
      }
    }
    if (!isValid) {
      focusFirstInvalid(relationForm);
      return;
    }
    const isOutgoing = byId("relation-direction").value === "outgoing";
    const body = {
      source: isOutgoing ? view.key : other, type, target: isOutgoing ? other : view.key, attributes,
    };
    const button = byId("relation-add");
    button.disabled = true;
    const result = await api("POST", "relations", { body });
    button.disabled = false;
    if (result.ok) {
      otherInput.value = "";
      otherChoice.textContent = "";
      byId("relation-attributes").value = "";
      byId("relation-status").textContent = `Added: ${body.source} ${type} ${body.target}.`;
      await refreshNode();
      loadRelationTypes();
      loadDrawing();
      loadHistory();
    } else if (result.status === 400 && result.data && result.data.problems) {
      showRelationProblems(result.data.problems, isOutgoing);
    } else {
      showBoxError(byId("relation-form-error"), ["The relation was not added.", result.message]);
    }
  });

  function relationAttributesProblem(text) {
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return 'Write the attributes as a JSON object, for example {"since": 2024}.';
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      return 'Write the attributes as a JSON object, for example {"since": 2024}.';
    }
    for (const [name, value] of Object.entries(parsed)) {
      if (!NAME_PATTERN.test(name)) {
        return `“${name}”: a name is lower-case letters, digits and _.`;
      }
      const checked = parseValue(JSON.stringify(value));
      if (checked.error) {
        return `${name}: ${checked.error}`;
      }
    }
    return "";
  }

  function showRelationProblems(problems, isOutgoing) {
    const unplaced = [];
    problems.forEach((problem) => {
      const { field } = parseLocation(problem.location);
      const message = sentence(field === "type" ? "The relation type"
        : field === "attributes" ? "The attributes" : "The node", problem.message);
      const otherField = isOutgoing ? "target" : "source";
      if (field === "type") {
        appendFieldError(byId("relation-type-error"), message, byId("relation-type"));
      } else if (field === otherField) {
        appendFieldError(byId("relation-other-error"), message, otherInput);
      } else if (field === "attributes") {
        appendFieldError(byId("relation-attributes-error"), message, byId("relation-attributes"));
      } else {
        unplaced.push(problem.location ? `${problem.location}: ${message}` : message);
      }
    });
    showBoxError(byId("relation-form-error"), unplaced.length
      ? ["The relation was not added.", ...unplaced] : []);
    focusFirstInvalid(byId("relation-form"));
  }

  // ---------------------------------------------------------------- the drawing

  const drawingBox = byId("drawing");
  const hopsSelect = byId("drawing-hops");
  let drawing = null;
  let drawingSequence = 0;

  function destroyDrawing() {
    drawingSequence += 1;
    if (drawing) {
      drawing.destroy();
      drawing = null;
    }
    clear(drawingBox);
    drawingBox.removeAttribute("data-node-count");
    byId("drawing-note").textContent = "";
    clear(byId("drawing-list"));
  }

  async function loadDrawing() {
    if (view.mode !== "node") {
      return;
    }
    const key = view.key;
    const sequence = ++drawingSequence;
    const result = await api("GET", `nodes/${encodeURIComponent(key)}/neighbourhood`,
      { query: { hops: hopsSelect.value } });
    if (sequence !== drawingSequence || key !== view.key) {
      return;
    }
    if (!result.ok) {
      byId("drawing-note").textContent = `The neighbourhood could not be loaded. ${result.message}`;
      return;
    }
    drawNeighbourhood(key, result.data);
  }

  /** Count each node's hops from the centre, over relations in either direction. */
  function distancesFrom(centre, relations) {
    const adjacent = new Map();
    relations.forEach((relation) => {
      [[relation.source, relation.target], [relation.target, relation.source]].forEach(([a, b]) => {
        if (!adjacent.has(a)) {
          adjacent.set(a, []);
        }
        adjacent.get(a).push(b);
      });
    });
    const distances = new Map([[centre, 0]]);
    const queue = [centre];
    while (queue.length) {
      const current = queue.shift();
      (adjacent.get(current) || []).forEach((next) => {
        if (!distances.has(next)) {
          distances.set(next, distances.get(current) + 1);
          queue.push(next);
        }
      });
    }
    return distances;
  }

  function drawNeighbourhood(centre, data) {
    const nodes = data.nodes || [];
    const known = new Set(nodes.map((node) => node.key));
    const relations = (data.relations || []).filter(
      (relation) => known.has(relation.source) && known.has(relation.target));
    const labels = new Map(nodes.map((node) => [node.key, node.label || node.key]));
    const distances = distancesFrom(centre, relations);
    const farthest = Math.max(1, ...distances.values());

    renderDrawingList(relations, labels);
    const centreLabel = labels.get(centre) || centre;
    drawingBox.setAttribute("aria-label", `Drawing of the neighbourhood of ${centreLabel}: `
      + `${nodes.length} node${nodes.length === 1 ? "" : "s"}, ${relations.length} `
      + `relation${relations.length === 1 ? "" : "s"}. The same is listed below the drawing.`);
    drawingBox.dataset.nodeCount = String(nodes.length);
    const notes = [];
    if (data.truncated) {
      notes.push("Only part of the neighbourhood is drawn: it is too large.");
    }
    if (typeof window.cytoscape !== "function") {
      notes.push("The drawing library is not installed (`make vendor` installs it); "
        + "the neighbourhood is listed below.");
      byId("drawing-note").textContent = notes.join(" ");
      return;
    }
    notes.push("Click a node to open it.");
    byId("drawing-note").textContent = notes.join(" ");

    if (drawing) {
      drawing.destroy();
    }
    drawing = window.cytoscape({
      container: drawingBox,
      elements: [
        ...nodes.map((node) => ({
          data: {
            id: node.key, label: node.label || node.key, type: node.type,
            colour: typeColour(node.type),
            ring: farthest - (distances.has(node.key) ? distances.get(node.key) : farthest),
          },
          classes: node.key === centre ? "centre" : "",
        })),
        ...relations.map((relation) => ({
          data: { id: "relation-" + relation.id, source: relation.source,
            target: relation.target, label: relation.type },
        })),
      ],
      style: [
        { selector: "node", style: {
          "background-color": "data(colour)", label: "data(label)", color: "#1f2933",
          "font-size": 11, "text-wrap": "wrap", "text-max-width": "110px", "text-valign": "bottom",
          "text-margin-y": 4, width: 22, height: 22, "border-width": 2, "border-color": "#ffffff",
        } },
        { selector: "node.centre", style: {
          width: 34, height: 34, "border-width": 4, "border-color": "#f2c14e",
          "font-weight": "bold", "font-size": 12,
        } },
        { selector: "edge", style: {
          width: 1.5, "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1",
          "target-arrow-shape": "triangle", "curve-style": "bezier", label: "data(label)",
          "font-size": 9, color: "#52606d", "text-rotation": "autorotate",
          "text-background-color": "#ffffff", "text-background-opacity": 0.85,
          "text-background-padding": 2,
        } },
        { selector: "node:active, node.hover", style: { "overlay-opacity": 0.12 } },
      ],
      layout: {
        name: "concentric", concentric: (node) => node.data("ring"), levelWidth: () => 1,
        minNodeSpacing: 40, animate: false, padding: 24,
      },
      minZoom: 0.2,
      maxZoom: 1.5, // A node with few neighbours is not blown up to fill the box.
      userZoomingEnabled: false,
      boxSelectionEnabled: false,
      autoungrabify: false,
    });
    drawing.on("tap", "node", (event) => {
      const key = event.target.id();
      if (key !== view.key) {
        window.location.hash = nodeHash(key);
      }
    });
    drawing.on("mouseover", "node", (event) => {
      event.target.addClass("hover");
      drawingBox.style.cursor = "pointer";
    });
    drawing.on("mouseout", "node", (event) => {
      event.target.removeClass("hover");
      drawingBox.style.cursor = "";
    });
  }

  function renderDrawingList(relations, labels) {
    const list = clear(byId("drawing-list"));
    if (!relations.length) {
      list.appendChild(h("li", null, "No relations."));
    }
    relations.forEach((relation) => {
      list.appendChild(h("li", null,
        nodeLink({ key: relation.source, label: labels.get(relation.source) }),
        ` ${relation.type} `,
        nodeLink({ key: relation.target, label: labels.get(relation.target) })));
    });
  }

  hopsSelect.addEventListener("change", loadDrawing);
  window.addEventListener("resize", debounce(() => {
    if (drawing) {
      drawing.resize();
      drawing.fit(undefined, 24);
    }
  }, 200));

  // ---------------------------------------------------------------- history

  let historySequence = 0;

  async function loadHistory() {
    if (view.mode !== "node") {
      return;
    }
    const key = view.key;
    const sequence = ++historySequence;
    const status = byId("history-status");
    const result = await api("GET", "changes", { query: { node: key } });
    if (sequence !== historySequence || key !== view.key) {
      return;
    }
    if (!result.ok) {
      status.textContent = `The history could not be loaded. ${result.message}`;
      return;
    }
    const changes = result.data.changes || [];
    status.textContent = changes.length ? "" : "No changes recorded yet.";
    const list = clear(byId("history-list"));
    changes.forEach((change) => list.appendChild(historyItem(change)));
  }

  function historyItem(change) {
    const errorNode = h("p", { class: "ke-field-error", hidden: true });
    const summary = change.summary || `${change.action} ${change.target}`;
    const revertedBy = [].concat(change.reverted_by || [])
      .map((later) => (later && typeof later === "object" ? later.id : later));
    const details = h("details", { class: "ke-change-details" },
      h("summary", null, "Before and after"),
      h("div", { class: "ke-grid-2" },
        h("div", null, h("h4", null, "Before"),
          h("pre", null, change.before ? JSON.stringify(change.before, null, 2) : "(nothing)")),
        h("div", null, h("h4", null, "After"),
          h("pre", null, change.after ? JSON.stringify(change.after, null, 2) : "(nothing)"))));
    return h("li", { class: "ke-change", "data-change-id": change.id },
      h("div", { class: "ke-change-head" },
        h("span", { class: `ke-action ke-action-${change.action}` }, change.action),
        h("span", { class: "ke-change-summary" }, summary),
        revertedBy.length
          ? h("span", { class: "ke-muted ke-change-reverted" },
            `Reverted by change #${revertedBy.join(", #")}`)
          : h("button", {
            type: "button", class: "ke-button ke-button-small",
            "aria-label": `Revert change #${change.id}: ${summary}`,
            onclick: (event) => revertChange(change, event.currentTarget, errorNode),
          }, "Revert")),
      h("p", { class: "ke-change-meta" },
        `#${change.id} · `, h("time", { datetime: change.at || "" }, formatTime(change.at)),
        ` · ${change.user || change.via || "system"}`,
        change.reverts ? ` · reverts change #${change.reverts}` : ""),
      errorNode,
      details);
  }

  async function revertChange(change, button, errorNode) {
    button.disabled = true;
    showFieldError(errorNode, "", null);
    const result = await api("POST", `changes/${change.id}/revert`);
    if (result.ok) {
      byId("history-status").textContent = `Change #${change.id} is reverted.`;
      await refreshNode();
      if (view.mode === "node") {
        loadHistory();
        loadDrawing();
        runSearch();
      }
      return;
    }
    button.disabled = false;
    showFieldError(errorNode, `Not reverted: ${result.message}`, null);
  }

  // ---------------------------------------------------------------- try it

  const tryForm = byId("try-form");
  const tryText = byId("try-text");
  const tryResult = byId("try-result");

  tryForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = tryText.value.trim();
    showFieldError(byId("try-error"), "", [tryText]);
    if (!text) {
      showFieldError(byId("try-error"), "Type what a visitor might ask.", [tryText]);
      tryText.focus();
      return;
    }
    const button = byId("try-submit");
    button.disabled = true;
    tryResult.setAttribute("aria-busy", "true");
    const result = await api("POST", "try", { body: { text } });
    button.disabled = false;
    tryResult.removeAttribute("aria-busy");
    if (!result.ok) {
      const problems = (result.data && result.data.problems) || [];
      showFieldError(byId("try-error"), problems.length
        ? problems.map((problem) => sentence("The message", problem.message)).join(" ")
        : result.message, [tryText]);
      return;
    }
    renderTry(text, result.data);
  });

  tryText.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      tryForm.requestSubmit();
    }
  });

  function renderTry(text, data) {
    const characters = Array.from(text);
    const mentions = (data.mentions || [])
      .map((mention) => normaliseMention(mention, characters)).filter(Boolean);
    clear(tryResult).append(
      h("section", { class: "ke-try-block", "aria-labelledby": "try-mentions-heading" },
        h("h3", { id: "try-mentions-heading" }, "What it recognised"),
        h("p", { class: "ke-try-text", "data-testid": "try-highlighted" }, highlighted(text, mentions)),
        mentionList(mentions)),
      understandingBlock(data.understanding, data.topic),
      answerBlock(data.answer),
      factsBlock(data.facts || []));
  }

  /** Turn an offset counted in characters (as the server counts) into a JavaScript index. */
  function stringIndex(characters, offset) {
    return characters.slice(0, offset).join("").length;
  }

  /** Accept the API's mention; find its place in the text when it has no offsets. */
  function normaliseMention(mention, characters) {
    if (!mention || typeof mention !== "object") {
      return null;
    }
    const candidates = (mention.candidates || (mention.node ? [mention.node] : []))
      .map(nodeReference);
    return {
      text: mention.text || "",
      start: Number.isInteger(mention.start) ? stringIndex(characters, mention.start) : null,
      end: Number.isInteger(mention.end) ? stringIndex(characters, mention.end) : null,
      candidates,
      isAmbiguous: mention.ambiguous === true || mention.is_ambiguous === true
        || candidates.length > 1,
    };
  }

  function highlighted(text, mentions) {
    const placed = [];
    let searchFrom = 0;
    mentions.forEach((mention) => {
      let { start, end } = mention;
      if (start === null || end === null) {
        start = mention.text ? text.toLowerCase().indexOf(mention.text.toLowerCase(), searchFrom) : -1;
        end = start + mention.text.length;
      }
      if (start >= 0 && end > start && end <= text.length
          && !placed.some((other) => start < other.end && end > other.start)) {
        placed.push({ ...mention, start, end });
        searchFrom = end;
      }
    });
    placed.sort((first, second) => first.start - second.start);
    const pieces = [];
    let position = 0;
    placed.forEach((mention) => {
      pieces.push(text.slice(position, mention.start));
      const names = mention.candidates.map((node) => node.label || node.key).join(", ");
      pieces.push(h("mark", {
        class: mention.isAmbiguous ? "ke-mention ke-mention-ambiguous" : "ke-mention",
        title: mention.isAmbiguous ? `Ambiguous: ${names}` : names,
      }, text.slice(mention.start, mention.end)));
      position = mention.end;
    });
    pieces.push(text.slice(position));
    return pieces;
  }

  function mentionList(mentions) {
    if (!mentions.length) {
      return h("p", { class: "ke-muted" }, "No node is named in it.");
    }
    return h("ul", { class: "ke-try-list", "aria-label": "Mentions" }, mentions.map((mention) => {
      const links = mention.candidates.flatMap((node, index) => [
        index ? ", " : "", nodeLink(node), " ", h("code", { class: "ke-key" }, node.key)]);
      return h("li", { class: mention.isAmbiguous ? "ke-mention-item ke-is-ambiguous" : "ke-mention-item" },
        h("mark", { class: mention.isAmbiguous ? "ke-mention ke-mention-ambiguous" : "ke-mention" },
          mention.text),
        mention.isAmbiguous ? h("span", { class: "ke-ambiguous-tag" }, " ambiguous: could be ") : " → ",
        links);
    }));
  }

  function understandingBlock(understanding, topic) {
    const block = h("section", { class: "ke-try-block", "aria-labelledby": "try-understanding-heading" },
      h("h3", { id: "try-understanding-heading" }, "Understanding"));
    if (!understanding || typeof understanding !== "object" || !Object.keys(understanding).length) {
      block.appendChild(h("p", { class: "ke-muted" }, "No understanding: no intent model answered."));
      return block;
    }
    const status = understanding.status;
    if (status && status !== "ok") {
      const reasons = {
        no_model: "No intent model is trained yet.",
        timeout: "The intent model did not answer in time.",
      };
      block.appendChild(h("p", { class: "ke-muted" }, reasons[status] || `Status: ${status}.`));
      return block;
    }
    const confidence = Number(understanding.confidence);
    const percent = Number.isFinite(confidence) ? `${Math.round(confidence * 100)}%` : "?";
    const rows = [
      ["Intent", understanding.intent || "(none)"],
      ["Confidence", percent + (understanding.is_low_confidence ? " (too low to act on)" : "")],
    ];
    const topicNode = topic || understanding.topic;
    if (topicNode) {
      rows.push(["Topic", nodeLink(topicNode)]);
    } else if (understanding.intent && !understanding.is_low_confidence) {
      rows.push(["Topic", "No topic node has this intent."]);
    }
    block.appendChild(h("dl", { class: "ke-pairs" },
      rows.map(([term, value]) => [h("dt", null, term), h("dd", null, value)])));
    return block;
  }

  function answerBlock(answer) {
    const block = h("section", { class: "ke-try-block", "aria-labelledby": "try-answer-heading" },
      h("h3", { id: "try-answer-heading" }, "Answer"));
    if (!answer || !answer.text) {
      block.appendChild(h("p", { class: "ke-muted" }, "The graph gives no answer to this."));
      return block;
    }
    block.appendChild(h("blockquote", { class: "ke-answer-text", "data-testid": "try-answer" },
      answer.text));
    if (answer.decision) {
      // How the live bot decided: answered, guessed, asked which, handed over...
      block.appendChild(h("p", { class: "ke-muted", "data-testid": "try-decision" },
        "Decision: ", h("code", {}, answer.decision),
        answer.handoff ? ` (handed to a person: ${answer.handoff})` : ""));
    }
    const sources = (answer.sources || []).map(nodeReference);
    if (sources.length) {
      block.appendChild(h("p", { class: "ke-sources" }, "Sources: ",
        sources.flatMap((node, index) => [index ? ", " : "", nodeLink(node)])));
    }
    return block;
  }

  /** Facts come grouped by node ({node, statements}) or one by one ({subject, predicate, value}). */
  function factsBlock(facts) {
    const block = h("section", { class: "ke-try-block", "aria-labelledby": "try-facts-heading" },
      h("h3", { id: "try-facts-heading" }, "Facts"));
    if (!facts.length) {
      block.appendChild(h("p", { class: "ke-muted" }, "No facts: no node was recognised."));
      return block;
    }
    facts.forEach((group) => {
      if (group && typeof group === "object" && Array.isArray(group.statements)) {
        const node = nodeReference(group.node);
        block.appendChild(h("h4", { class: "ke-facts-node" }, nodeLink(node), " ",
          h("code", { class: "ke-key" }, node.key)));
        block.appendChild(statementList(group.statements));
      } else {
        block.appendChild(statementList([group]));
      }
    });
    return block;
  }

  function statementList(statements) {
    if (!statements.length) {
      return h("p", { class: "ke-muted" }, "Nothing recorded about it.");
    }
    return h("ul", { class: "ke-try-list ke-facts" }, statements.map((fact) => {
      if (!fact || typeof fact !== "object" || fact.subject === undefined) {
        return h("li", null, typeof fact === "object" ? JSON.stringify(fact) : describeValue(fact));
      }
      const subject = { key: fact.subject, label: fact.subject_label || "" };
      const isRelation = fact.relation !== null && fact.relation !== undefined;
      const value = isRelation && typeof fact.value === "string"
        ? nodeLink({ key: fact.value, label: fact.value_label || "" })
        : h("span", { class: "ke-fact-value" }, describeValue(fact.value));
      return h("li", null, nodeLink(subject), " ",
        h("span", { class: isRelation ? "ke-relation-type" : "ke-attribute-name-text" },
          fact.predicate || ""), " ", value);
    }));
  }

  // ---------------------------------------------------------------- routing

  function keepDraft() {
    if (view.mode !== "node" && view.mode !== "new") {
      return;
    }
    const draftKey = view.mode === "new" ? "#new" : view.key;
    if (isDirty()) {
      const { values } = readForm();
      drafts.set(draftKey, { values, baseVersion: view.baseVersion });
    } else if (view.mode === "new" || view.loaded) {
      drafts.delete(draftKey);
    }
  }

  function route() {
    keepDraft();
    let hash = window.location.hash.replace(/^#/, "");
    try {
      hash = decodeURIComponent(hash);
    } catch (error) {
      // A malformed escape: use the address as it is; no node will have that key.
    }
    if (hash.startsWith("node/") && hash.length > 5) {
      hideFlashUnlessFresh();
      openNode(hash.slice(5));
    } else if (hash === "new") {
      hideFlashUnlessFresh();
      openNewNode();
    } else {
      openHome();
    }
  }

  /** Hide the last message, unless it was just shown by the action that navigated here. */
  function hideFlashUnlessFresh() {
    if (Date.now() - lastFlashAt > 1500) {
      hideFlash();
    }
  }

  window.addEventListener("hashchange", route);
  window.addEventListener("beforeunload", (event) => {
    if (isDirty()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  window.KnowledgeEditor = {
    /** The cytoscape instance of the drawing, for debugging and the browser tests. */
    drawing: () => drawing,
  };

  renderTypeOptions();
  loadRelationTypes();
  runSearch();
  route();
})();

/*
 * The agent console: the live queue, offers, several conversations at once with their handoff
 * packets, and everything an agent does to them, over the websocket /ws/agent/ of
 * docs/handoff.md.
 *
 * Plain JavaScript, no build step, no library. Whatever comes from visitors, the bot, other
 * agents or the server is only ever written as text nodes or form values, never parsed as HTML.
 *
 * The server is the source of truth: the queue is replaced by every `queue` frame, a
 * conversation by every `assigned` frame (sent again after a reconnect), and an agent's own
 * message stays "sending" until its event comes back with the same client_id.
 */
(() => {
  "use strict";

  const MAX_MESSAGE_CHARS = 2000;
  const TYPING_REPEAT_MS = 3000; // while typing, say so again at most this often
  const TYPING_IDLE_MS = 2500; // no key for this long: "stopped typing"
  const VISITOR_TYPING_TIMEOUT_MS = 8000; // forget a "visitor is typing" never followed by a stop
  const TAKEN_ITEM_MS = 8000; // a queue item someone else took stays this long to show why
  const RESTORE_QUIET_MS = 1500; // `assigned` frames this soon after `hello` restore, not alert
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const SESSION_CHECK_AFTER = 3; // failed connections before asking whether the login expired
  const AUTH_CLOSE_CODES = [4401, 4403];
  const HEARTBEAT_DEFAULT_SECONDS = 20; // until `hello` says how often the server wants a ping
  const SILENT_HEARTBEATS = 3; // nothing from the server for this many pings: connect afresh
  const NEAR_BOTTOM_PX = 80;

  const REASONS = {
    requested: "Asked for a person",
    low_confidence: "Bot unsure",
    frustration: "Frustrated",
    sensitive_intent: "Sensitive topic",
    failed_flow: "Task failed",
    repeated_question: "Repeated question",
    transfer: "Transferred",
    transferred: "Transferred",
  };
  const RELEASE_REASONS = {
    transferred: "it was transferred",
    transfer: "it was transferred",
    closed: "it was closed",
    cancelled: "the visitor went back to the bot",
    canceled: "the visitor went back to the bot",
    taken: "another agent took it",
    offer_expired: "the offer expired",
    reassigned: "it was reassigned",
    handed_back: "it was handed back to the bot",
    hand_back: "it was handed back to the bot",
    returned: "it was handed back to the bot",
    agent_away: "you went away",
    agent_gone: "you were disconnected for too long",
    unavailable: "no agent is online for it any more",
    erased: "its data was erased",
  };
  // The kinds of personal data the server masks in messages (docs/personal-data.md).
  const MASKED_KINDS = {
    card_number: "card number",
    iban: "IBAN",
    sort_code: "sort code",
    account_number: "account number",
    national_insurance_number: "National Insurance number",
    date_of_birth: "date of birth",
    email: "email address",
    phone_number: "phone number",
    postcode: "postcode",
  };
  const OWN_ENDINGS = {
    close: "Closed",
    hand_back: "Handed back to the bot",
    transfer: "Transferred",
  };

  const app = document.getElementById("agent-console");
  if (!app) {
    return;
  }

  // ---------------------------------------------------------------- small helpers

  const { byId, h, setHidden } = window.StaffDom;

  const key = (id) => String(id);

  function text(value) {
    if (value === null || value === undefined) {
      return "";
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  /** "lost_or_stolen_card" -> "Lost or stolen card". */
  function humanise(name) {
    const words = text(name).replace(/[_:.-]+/g, " ").trim();
    return words ? words.charAt(0).toUpperCase() + words.slice(1) : "";
  }

  function reasonText(reason) {
    return REASONS[reason] || humanise(reason) || "Unknown reason";
  }

  function duration(seconds) {
    const total = Math.max(0, Math.floor(Number(seconds) || 0));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const rest = String(total % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
  }

  function clockTime(isoString) {
    const date = new Date(isoString);
    if (!isoString || Number.isNaN(date.getTime())) {
      return "";
    }
    return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }

  function percent(fraction) {
    const value = Number(fraction);
    if (!Number.isFinite(value)) {
      return 0;
    }
    return Math.max(0, Math.min(100, Math.round((value > 1 ? value / 100 : value) * 100)));
  }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function readAgent() {
    const script = byId("agent-data");
    if (!script) {
      return {};
    }
    try {
      const data = JSON.parse(script.textContent);
      return data && typeof data === "object" ? data : {};
    } catch (error) {
      return {};
    }
  }

  /** GET a JSON resource of the console; never throw. Resolve to {ok, status, data, message}. */
  async function getJson(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (error) {
      return { ok: false, status: 0, data: null, message: "The server could not be reached." };
    }
    if (response.redirected && new URL(response.url).pathname.startsWith("/accounts/login")) {
      sessionEnded();
      return { ok: false, status: 401, data: null, message: "Your session has ended: log in again." };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (response.ok && data) {
      return { ok: true, status: response.status, data, message: "" };
    }
    if (response.status === 401) {
      sessionEnded();
      return { ok: false, status: 401, data, message: "Your session has ended: log in again." };
    }
    if (response.status === 403) {
      sessionEnded(); // logged out (reason "login_required") or no longer an agent: either way, stuck
      return { ok: false, status: 403, data, message: "Your account may not use the agent console." };
    }
    const message = data && typeof data.message === "string" && data.message
      ? data.message : `The server could not answer (status ${response.status}).`;
    return { ok: false, status: response.status, data, message };
  }

  // ---------------------------------------------------------------- state

  const initialAgent = readAgent();
  const state = {
    agent: {
      id: initialAgent.id,
      name: initialAgent.name || "",
      online: Boolean(initialAgent.online),
      capacity: Number(initialAgent.capacity) || 0,
      skills: Array.isArray(initialAgent.skills) ? initialAgent.skills : [],
    },
    socket: null,
    ready: false, // `hello` received on the current socket
    helloAt: 0,
    attempts: 0,
    retryTimer: null,
    retryAt: 0,
    sessionGone: false,
    heartbeatTimer: null,
    heartbeatMs: 0,
    heardAt: 0, // when the current socket last received a frame
    queue: new Map(), // id -> {item, receivedAt, order}
    offers: new Map(), // id -> {handoffId, expiresAt, reason, intent}
    failures: new Map(), // id -> {message, until, item}: "already taken" and other accept errors
    accepting: new Set(), // ids this page asked to accept, until assigned or refused
    conversations: new Map(), // id -> conversation (see newConversation)
    order: [], // ids of conversations, oldest first
    selected: null,
    canned: null,
    cannedLoading: false,
    askedPermission: false,
    audio: null,
    alerts: 0,
  };

  function newConversation(packet) {
    return {
      id: key(packet.handoff_id),
      handoffId: packet.handoff_id,
      packet,
      events: new Map(), // seq -> event
      pending: new Map(), // client_id -> {text, status, message}
      notes: [],
      unread: 0,
      visitorTyping: false,
      visitorTypingTimer: null,
      typingSent: false,
      typingSentAt: 0,
      typingStopTimer: null,
      draft: "",
      noteDraft: "",
      notePending: 0,
      lastSent: null, // {type, clientId}: the last frame sent about it, to place a bare error
      ending: null, // the agent's own close / hand_back / transfer in flight
      ended: null, // why the conversation left this agent (read-only from then on)
      error: "",
      revealed: new Map(), // seq -> the original of a masked message this agent chose to read
    };
  }

  // ---------------------------------------------------------------- elements

  const el = {
    connection: byId("connection-status"),
    banner: byId("connection-banner"),
    bannerText: byId("connection-banner-text"),
    reconnectNow: byId("reconnect-now"),
    loginAgain: byId("login-again"),
    flash: byId("flash"),
    flashText: byId("flash-text"),
    flashDismiss: byId("flash-dismiss"),
    availability: byId("availability-toggle"),
    availabilityText: byId("availability-text"),
    agentName: byId("agent-name"),
    queueList: byId("queue-list"),
    queueEmpty: byId("queue-empty"),
    queueCount: byId("queue-count"),
    tabs: byId("conversation-tabs"),
    mineEmpty: byId("mine-empty"),
    mineCount: byId("mine-count"),
    noConversation: byId("no-conversation"),
    chat: byId("chat"),
    chatTitle: byId("chat-title"),
    chatMeta: byId("chat-meta"),
    chatEnded: byId("chat-ended"),
    chatEndedText: byId("chat-ended-text"),
    chatDismiss: byId("chat-dismiss"),
    chatError: byId("chat-error"),
    transcript: byId("transcript"),
    visitorTyping: byId("visitor-typing"),
    suggestions: byId("suggestions"),
    suggestionList: byId("suggestion-list"),
    composer: byId("composer"),
    input: byId("agent-input"),
    send: byId("send"),
    composerStatus: byId("composer-status"),
    cannedOpen: byId("canned-open"),
    cannedPanel: byId("canned-panel"),
    cannedFilter: byId("canned-filter"),
    cannedList: byId("canned-list"),
    cannedStatus: byId("canned-status"),
    transferOpen: byId("transfer-open"),
    transferBox: byId("transfer-box"),
    transferAgentField: byId("transfer-agent-field"),
    transferSkillField: byId("transfer-skill-field"),
    transferAgent: byId("transfer-agent"),
    transferSkill: byId("transfer-skill"),
    transferError: byId("transfer-error"),
    transferSend: byId("transfer-send"),
    transferCancel: byId("transfer-cancel"),
    handBack: byId("hand-back"),
    closeDisposition: byId("close-disposition"),
    closeButton: byId("close-conversation"),
    packet: byId("packet"),
    summary: byId("packet-summary"),
    customer: byId("packet-customer"),
    reason: byId("packet-reason"),
    intent: byId("packet-intent"),
    skill: byId("packet-skill"),
    waited: byId("packet-waited"),
    frustration: byId("packet-frustration"),
    frustrationFill: byId("packet-frustration-fill"),
    frustrationValue: byId("packet-frustration-value"),
    intents: byId("packet-intents"),
    slots: byId("packet-slots"),
    knowledge: byId("packet-knowledge"),
    tried: byId("packet-tried"),
    noteList: byId("note-list"),
    noteForm: byId("note-form"),
    noteInput: byId("note-input"),
    noteAdd: byId("note-add"),
    noteStatus: byId("note-status"),
  };

  // ---------------------------------------------------------------- flash and banners

  let flashTimer = null;

  function flash(message, sticky) {
    el.flashText.textContent = message;
    setHidden(el.flash, false);
    clearTimeout(flashTimer);
    if (!sticky) {
      flashTimer = setTimeout(() => setHidden(el.flash, true), 8000);
    }
  }

  el.flashDismiss.addEventListener("click", () => setHidden(el.flash, true));

  function sessionEnded() {
    state.sessionGone = true;
    setHidden(el.loginAgain, false);
    el.bannerText.textContent = "Your session has ended, or your account may not use the console. ";
    setHidden(el.banner, false);
  }

  // ---------------------------------------------------------------- sound and notifications

  function unlockAudio() {
    const AudioContextClass = window.AudioContext || window.webkitAudioContext;
    if (!AudioContextClass) {
      return;
    }
    try {
      if (!state.audio) {
        state.audio = new AudioContextClass();
      }
      if (state.audio.state === "suspended") {
        state.audio.resume().catch(() => {});
      }
    } catch (error) {
      state.audio = null;
    }
  }

  /** Two short rising tones, synthesised: no sound file. Silent until the page had a gesture. */
  function beep() {
    const context = state.audio;
    if (!context || context.state !== "running") {
      return;
    }
    try {
      const start = context.currentTime + 0.01;
      [[880, 0], [1320, 0.16]].forEach(([frequency, offset]) => {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.type = "sine";
        oscillator.frequency.setValueAtTime(frequency, start + offset);
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.18, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.14);
        oscillator.connect(gain);
        gain.connect(context.destination);
        oscillator.start(start + offset);
        oscillator.stop(start + offset + 0.15);
      });
    } catch (error) {
      // Sound is a nicety: never let it break the console.
    }
  }

  function askNotificationPermission() {
    if (state.askedPermission || !("Notification" in window)) {
      return;
    }
    state.askedPermission = true;
    if (Notification.permission === "default") {
      try {
        const asked = Notification.requestPermission();
        if (asked && typeof asked.catch === "function") {
          asked.catch(() => {});
        }
      } catch (error) {
        // Older browsers take a callback; without permission the console simply doesn't notify.
      }
    }
  }

  function alertAgent(title, body, handoffId) {
    state.alerts += 1;
    app.dataset.alertCount = String(state.alerts);
    beep();
    if (!("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    try {
      const notification = new Notification(title, { body, tag: `handoff-${handoffId}` });
      notification.onclick = () => {
        window.focus();
        if (state.conversations.has(key(handoffId))) {
          select(key(handoffId));
        }
        notification.close();
      };
    } catch (error) {
      // Some browsers only allow notifications from a service worker: skip.
    }
  }

  ["pointerdown", "keydown"].forEach((type) => {
    document.addEventListener(type, unlockAudio, { capture: true, passive: true });
  });

  // ---------------------------------------------------------------- the socket

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${app.dataset.socketPath || "/ws/agent/"}`;
  }

  function isOpen() {
    return Boolean(state.socket && state.socket.readyState === WebSocket.OPEN);
  }

  function setConnection(stateName, label) {
    el.connection.dataset.state = stateName;
    el.connection.textContent = label;
    app.dataset.connection = stateName;
    renderControls();
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    if (state.socket) {
      return;
    }
    state.ready = false;
    setConnection("connecting", "Connecting…");
    let socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    state.socket = socket;
    socket.addEventListener("open", () => {
      if (state.socket === socket) {
        setConnection("connecting", "Signing in…");
      }
    });
    socket.addEventListener("message", (message) => {
      if (state.socket !== socket || typeof message.data !== "string") {
        return;
      }
      state.heardAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (frame && typeof frame === "object" && typeof frame.type === "string") {
        try {
          handleFrame(frame);
        } catch (error) {
          // One odd frame must not stop the console.
          window.console.error("agent console: could not handle a frame", frame, error);
        }
      }
    });
    socket.addEventListener("close", (closing) => {
      if (state.socket !== socket) {
        return;
      }
      forgetSocket();
      if (AUTH_CLOSE_CODES.includes(closing.code)) {
        setConnection("closed", "Disconnected");
        sessionEnded();
        return;
      }
      scheduleReconnect();
    });
  }

  function forgetSocket() {
    state.socket = null;
    state.ready = false;
    clearInterval(state.heartbeatTimer);
    state.heartbeatTimer = null;
    state.conversations.forEach((conversation) => {
      conversation.visitorTyping = false;
      conversation.typingSent = false;
    });
  }

  /**
   * Ping the server every heartbeat: while pings come, the agent counts as present (see
   * docs/handoff.md). A socket on which nothing came back for several pings is given up.
   */
  function startHeartbeat(seconds) {
    const every = (Number(seconds) > 0 ? Number(seconds) : HEARTBEAT_DEFAULT_SECONDS) * 1000;
    if (state.heartbeatTimer && state.heartbeatMs === every) {
      return;
    }
    clearInterval(state.heartbeatTimer);
    state.heartbeatMs = every;
    state.heartbeatTimer = setInterval(() => {
      const socket = state.socket;
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        return;
      }
      if (Date.now() - state.heardAt > every * SILENT_HEARTBEATS) {
        // The server went quiet (its process may have died): connect afresh, elsewhere perhaps.
        forgetSocket();
        socket.close();
        scheduleReconnect();
        return;
      }
      socket.send(JSON.stringify({ type: "ping" }));
    }, every);
  }

  function scheduleReconnect() {
    state.attempts += 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (state.attempts - 1));
    const delay = Math.round(ceiling * (0.6 + Math.random() * 0.4));
    state.retryAt = Date.now() + delay;
    state.retryTimer = setTimeout(connect, delay);
    setConnection("reconnecting", "Reconnecting…");
    renderBanner();
    if (state.attempts === SESSION_CHECK_AFTER) {
      // A refused handshake looks like any other drop: ask over HTTP whether we are still in.
      getJson(app.dataset.agentsUrl || "/console/api/agents");
    }
    renderAll();
  }

  function reconnectNow() {
    if (state.socket) {
      return;
    }
    clearTimeout(state.retryTimer);
    connect();
  }

  function renderBanner() {
    if (isOpen() && state.ready) {
      setHidden(el.banner, true);
      return;
    }
    if (state.sessionGone) {
      return;
    }
    if (!state.retryTimer) {
      setHidden(el.banner, true);
      return;
    }
    const seconds = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
    el.bannerText.textContent = `The connection to the server was lost. Reconnecting in ${seconds} s… `;
    setHidden(el.banner, false);
  }

  el.reconnectNow.addEventListener("click", reconnectNow);
  window.addEventListener("online", reconnectNow);

  /** Send one frame; false (and say so) when not connected. */
  function send(frame, quiet) {
    if (!isOpen() || !state.ready) {
      if (!quiet) {
        flash("Not connected to the server: this will be possible again once it reconnects.");
      }
      return false;
    }
    state.socket.send(JSON.stringify(frame));
    const conversation = frame.handoff_id !== undefined ? state.conversations.get(key(frame.handoff_id)) : null;
    if (conversation && frame.type !== "typing") {
      conversation.lastSent = { type: frame.type, clientId: frame.client_id || "" };
    }
    return true;
  }

  // ---------------------------------------------------------------- incoming frames

  function handleFrame(frame) {
    switch (frame.type) {
      case "hello":
        onHello(frame);
        break;
      case "queue":
        onQueue(frame);
        break;
      case "offer":
        onOffer(frame);
        break;
      case "assigned":
        onAssigned(frame);
        break;
      case "event":
        onEvent(frame);
        break;
      case "typing":
        onTyping(frame);
        break;
      case "note":
        onNote(frame);
        break;
      case "released":
        onReleased(frame);
        break;
      case "error":
        onError(frame);
        break;
      case "ack":
        onAck(frame);
        break;
      case "revealed":
        onRevealed(frame);
        break;
      default:
        break; // pong and frames this console does not know
    }
  }

  function onHello(frame) {
    const agent = frame.agent || {};
    state.agent = {
      id: agent.id !== undefined ? agent.id : state.agent.id,
      name: agent.name || state.agent.name,
      online: Boolean(agent.online),
      capacity: Number(agent.capacity) || state.agent.capacity,
      skills: Array.isArray(agent.skills) ? agent.skills : state.agent.skills,
      // Whether this role may read the originals of masked messages (each reading is audited);
      // a hello sent to every console of the agent leaves it out, so it keeps its value.
      mayReveal: frame.may_reveal !== undefined ? frame.may_reveal === true : Boolean(state.agent.mayReveal),
    };
    if (!state.ready) {
      state.helloAt = Date.now(); // `assigned` frames right after a socket's first hello restore
    }
    state.ready = true;
    state.attempts = 0;
    state.sessionGone = false;
    startHeartbeat(frame.heartbeat_seconds);
    setHidden(el.loginAgain, true);
    setConnection("open", "Connected");
    renderBanner();
    renderAgent();
    renderAll();
  }

  function onQueue(frame) {
    const items = Array.isArray(frame.items) ? frame.items : [];
    const now = Date.now();
    state.queue = new Map();
    items.forEach((item, index) => {
      if (item && item.handoff_id !== undefined && item.handoff_id !== null) {
        state.queue.set(key(item.handoff_id), { item, receivedAt: now, order: index });
      }
    });
    // An accept still in flight for an item gone from the queue is settled by `assigned` or `error`.
    renderQueue();
  }

  function onOffer(frame) {
    if (frame.handoff_id === undefined || frame.handoff_id === null) {
      return;
    }
    const id = key(frame.handoff_id);
    const seconds = Number(frame.expires_in_seconds);
    state.offers.set(id, {
      handoffId: frame.handoff_id,
      expiresAt: Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 30) * 1000,
      reason: frame.reason || "",
      intent: frame.intent || "",
    });
    state.failures.delete(id);
    renderQueue();
    const topic = humanise(frame.intent) || "A visitor";
    alertAgent("New conversation offered", `${topic}: ${reasonText(frame.reason)}`, frame.handoff_id);
  }

  function onAssigned(frame) {
    const packet = frame.packet && typeof frame.packet === "object" ? frame.packet : frame;
    if (packet.handoff_id === undefined || packet.handoff_id === null) {
      return;
    }
    const id = key(packet.handoff_id);
    const mine = state.accepting.has(id);
    state.accepting.delete(id);
    state.offers.delete(id);
    state.failures.delete(id);
    state.queue.delete(id);

    let conversation = state.conversations.get(id);
    const isNew = !conversation;
    if (isNew) {
      conversation = newConversation(packet);
      state.conversations.set(id, conversation);
      state.order.push(id);
    }
    conversation.packet = packet;
    conversation.handoffId = packet.handoff_id;
    conversation.ended = null;
    conversation.ending = null;
    conversation.error = "";
    conversation.notes = Array.isArray(packet.notes) ? packet.notes.slice() : [];
    conversation.notePending = 0;
    conversation.events = new Map();
    (Array.isArray(packet.transcript) ? packet.transcript : []).forEach((event) => {
      storeEvent(conversation, event);
    });
    resendPending(conversation);

    const restoring = frame.restored === true || frame.replay === true
      || Date.now() - state.helloAt < RESTORE_QUIET_MS;
    if (isNew && !mine && !restoring) {
      alertAgent("New conversation assigned to you",
        humanise(packet.intent) || reasonText(packet.reason), packet.handoff_id);
    }
    const wanted = window.location.hash === `#h/${id}`;
    if (mine || wanted || !state.selected) {
      select(id, { focus: mine });
    } else if (state.selected === id) {
      renderConversation();
    }
    renderQueue();
    renderTabs();
  }

  /** Remember an event; true when it is new. Clears the matching pending message. */
  function storeEvent(conversation, event) {
    if (!event || typeof event !== "object") {
      return false;
    }
    const seq = Number(event.seq);
    const slot = Number.isFinite(seq) ? seq : `x${conversation.events.size}-${Date.now()}`;
    if (conversation.events.has(slot)) {
      return false;
    }
    conversation.events.set(slot, event);
    const clientId = pendingFor(conversation, event);
    if (clientId) {
      conversation.pending.delete(clientId);
    }
    return true;
  }

  /** The client_id the console chose for an agent message: the server keeps it in data. */
  function eventClientId(event) {
    if (event.data && typeof event.data === "object" && event.data.client_id) {
      return String(event.data.client_id);
    }
    return event.client_id ? String(event.client_id) : "";
  }

  /** The pending message an event (or an ack's seq) settles, if any. */
  function pendingFor(conversation, event) {
    const candidates = [eventClientId(event), event.client_id ? String(event.client_id) : ""];
    const direct = candidates.find((candidate) => candidate && conversation.pending.has(candidate));
    if (direct) {
      return direct;
    }
    const seq = Number(event.seq);
    if (!Number.isFinite(seq)) {
      return "";
    }
    for (const [clientId, pending] of conversation.pending) {
      if (pending.seq === seq) {
        return clientId;
      }
    }
    return "";
  }

  function onEvent(frame) {
    const conversation = state.conversations.get(key(frame.handoff_id));
    const event = frame.event;
    if (!conversation || !event) {
      return;
    }
    const clientId = pendingFor(conversation, event);
    const wasPending = Boolean(clientId);
    if (!storeEvent(conversation, event)) {
      return;
    }
    const fromVisitor = event.author === "visitor";
    if (fromVisitor) {
      conversation.visitorTyping = false;
    }
    if (state.selected === conversation.id) {
      if (wasPending) {
        removePendingRow(clientId);
      }
      insertEventRow(event);
      renderTyping();
      renderControls();
      if (fromVisitor && document.hidden) {
        conversation.unread += 1;
      }
    } else if (fromVisitor && event.kind === "message") {
      conversation.unread += 1;
    }
    renderTabs();
  }

  /** The server stored an agent message: it stays "sending" until its event comes back. */
  function onAck(frame) {
    const conversation = state.conversations.get(key(frame.handoff_id));
    const clientId = text(frame.client_id);
    const pending = conversation && conversation.pending.get(clientId);
    if (!pending) {
      return;
    }
    const seq = Number(frame.seq);
    pending.seq = Number.isFinite(seq) ? seq : null;
    if (pending.seq !== null && conversation.events.has(pending.seq)) {
      conversation.pending.delete(clientId);
      if (state.selected === conversation.id) {
        removePendingRow(clientId);
      }
      return;
    }
    pending.status = "sent";
    if (state.selected === conversation.id) {
      const row = Array.from(el.transcript.querySelectorAll('[data-pending="true"]'))
        .find((candidate) => candidate.dataset.clientId === clientId);
      if (row) {
        row.dataset.status = "sent";
      }
    }
  }

  function onRevealed(frame) {
    const conversation = state.conversations.get(key(frame.handoff_id));
    if (!conversation || typeof frame.text !== "string") {
      return;
    }
    conversation.revealed.set(Number(frame.seq), frame.text);
    if (state.selected === conversation.id) {
      renderTranscript();
    }
  }

  function reveal(seq) {
    const conversation = state.conversations.get(state.selected);
    if (conversation) {
      conversation.error = "";
      send({ type: "reveal", handoff_id: conversation.handoffId, seq });
    }
  }

  function onTyping(frame) {
    const conversation = state.conversations.get(key(frame.handoff_id));
    if (!conversation || (frame.author && frame.author !== "visitor")) {
      return;
    }
    conversation.visitorTyping = Boolean(frame.is_typing);
    clearTimeout(conversation.visitorTypingTimer);
    if (conversation.visitorTyping) {
      conversation.visitorTypingTimer = setTimeout(() => {
        conversation.visitorTyping = false;
        renderTyping();
        renderTabs();
      }, VISITOR_TYPING_TIMEOUT_MS);
    }
    renderTyping();
    renderTabs();
  }

  function onNote(frame) {
    const conversation = state.conversations.get(key(frame.handoff_id));
    if (!conversation || !frame.note) {
      return;
    }
    conversation.notes.push(frame.note);
    conversation.notePending = Math.max(0, conversation.notePending - 1);
    if (state.selected === conversation.id) {
      renderNotes();
    }
  }

  function onReleased(frame) {
    const id = key(frame.handoff_id);
    state.offers.delete(id);
    state.accepting.delete(id);
    const conversation = state.conversations.get(id);
    if (!conversation) {
      renderQueue();
      return;
    }
    stopTyping(conversation);
    if (frame.why === "erased") {
      // Nothing of it may stay, even hidden: its panels are drawn empty, then the tab goes.
      conversation.packet = {};
      conversation.events.clear();
      conversation.pending.clear();
      if (state.selected === id) {
        renderConversation();
        renderPacket();
      }
      removeConversation(id);
      flash(`A conversation was closed: ${RELEASE_REASONS.erased}.`);
      return;
    }
    if (conversation.ending) {
      const done = OWN_ENDINGS[conversation.ending] || "Done";
      removeConversation(id);
      flash(`${done}: ${conversationTitle(conversation)}.`);
      return;
    }
    const why = RELEASE_REASONS[frame.why] || humanise(frame.why) || "it ended";
    conversation.ended = `This conversation is no longer yours: ${why}.`;
    conversation.visitorTyping = false;
    flash(`${conversationTitle(conversation)}: ${why}.`);
    if (state.selected === id) {
      renderConversation();
    }
    renderTabs();
  }

  function onError(frame) {
    const message = frame.message || humanise(frame.code) || "Something went wrong.";
    const id = frame.handoff_id !== undefined && frame.handoff_id !== null ? key(frame.handoff_id) : null;
    const conversation = id ? state.conversations.get(id) : null;

    const failedId = frame.client_id ? String(frame.client_id)
      : conversation && conversation.lastSent && conversation.lastSent.type === "message"
        ? conversation.lastSent.clientId : "";
    if (conversation && failedId && conversation.pending.has(failedId)
        && conversation.pending.get(failedId).status !== "sent") {
      const pending = conversation.pending.get(failedId);
      pending.status = "failed";
      pending.message = message;
      if (state.selected === conversation.id) {
        renderTranscript();
      }
      return;
    }
    if (id && (state.accepting.has(id) || frame.code === "already_taken") && !conversation) {
      state.accepting.delete(id);
      const known = state.queue.get(id) || (state.failures.get(id) || {}).entry;
      const taken = frame.code === "already_taken";
      state.failures.set(id, {
        message: taken ? "Already taken: another agent accepted this conversation first." : message,
        code: frame.code || "",
        until: Date.now() + TAKEN_ITEM_MS,
        entry: known || { item: { handoff_id: frame.handoff_id }, receivedAt: Date.now(), order: -1 },
      });
      state.offers.delete(id);
      renderQueue();
      return;
    }
    if (conversation) {
      conversation.ending = null;
      conversation.notePending = 0;
      conversation.error = message;
      if (state.selected === conversation.id) {
        renderConversation();
      }
      return;
    }
    flash(message);
  }

  // ---------------------------------------------------------------- the header

  function renderAgent() {
    if (state.agent.name) {
      el.agentName.textContent = state.agent.name;
    }
    el.availability.setAttribute("aria-pressed", state.agent.online ? "true" : "false");
    el.availability.dataset.online = state.agent.online ? "true" : "false";
    el.availabilityText.textContent = state.agent.online ? "Online" : "Away";
  }

  el.availability.addEventListener("click", () => {
    unlockAudio();
    askNotificationPermission();
    const online = !state.agent.online;
    if (send({ type: "availability", online })) {
      state.agent.online = online;
      renderAgent();
    }
  });

  // ---------------------------------------------------------------- the queue

  const queueRows = new Map(); // id -> li

  function queueEntries() {
    const entries = [];
    const seen = new Set();
    state.offers.forEach((offer, id) => {
      const queued = state.queue.get(id);
      const item = queued ? queued.item
        : { handoff_id: offer.handoffId, reason: offer.reason, intent: offer.intent };
      entries.push({ id, item, queued, offer, failure: state.failures.get(id) });
      seen.add(id);
    });
    Array.from(state.queue.entries())
      .sort((a, b) => a[1].order - b[1].order)
      .forEach(([id, queued]) => {
        if (!seen.has(id) && !state.conversations.has(id)) {
          // Offered before this page loaded: the queue says so, without the time left.
          const offer = queued.item.is_offered_to_you === true && !state.failures.has(id)
            ? { handoffId: queued.item.handoff_id, expiresAt: null } : null;
          entries.push({ id, item: queued.item, queued, offer, failure: state.failures.get(id) });
          seen.add(id);
        }
      });
    state.failures.forEach((failure, id) => {
      if (!seen.has(id)) {
        entries.push({ id, item: failure.entry.item, queued: failure.entry, offer: null, failure });
      }
    });
    return entries;
  }

  function waitingSeconds(entry) {
    if (!entry.queued) {
      return null;
    }
    const base = Number(entry.queued.item.waiting_seconds);
    if (!Number.isFinite(base)) {
      return null;
    }
    return base + (Date.now() - entry.queued.receivedAt) / 1000;
  }

  function buildQueueRow(id) {
    const accept = h("button", {
      type: "button", class: "ac-button ac-button-primary ac-button-small", "data-testid": "accept",
      onclick: () => acceptItem(id),
    }, "Accept");
    const decline = h("button", {
      type: "button", class: "ac-button ac-button-small", "data-testid": "decline",
      onclick: () => declineOffer(id),
    }, "Decline");
    const row = h("li", { class: "ac-queue-item", "data-testid": "queue-item", "data-handoff-id": id },
      h("div", { class: "ac-queue-main" },
        h("span", { class: "ac-queue-intent", "data-testid": "queue-intent" }),
        h("span", { class: "ac-badge", "data-testid": "queue-reason" })),
      h("p", { class: "ac-queue-wait", "data-testid": "queue-wait" }),
      h("p", { class: "ac-offer", "data-testid": "offer-countdown", role: "timer" }),
      h("p", { class: "ac-item-error", "data-testid": "queue-item-error", role: "alert" }),
      h("div", { class: "ac-button-row" }, accept, decline));
    row.refs = {
      intent: row.querySelector(".ac-queue-intent"),
      reason: row.querySelector(".ac-badge"),
      wait: row.querySelector(".ac-queue-wait"),
      offer: row.querySelector(".ac-offer"),
      error: row.querySelector(".ac-item-error"),
      accept,
      decline,
    };
    return row;
  }

  function renderQueue() {
    const entries = queueEntries();
    const keep = new Set(entries.map((entry) => entry.id));
    queueRows.forEach((row, id) => {
      if (!keep.has(id)) {
        row.remove();
        queueRows.delete(id);
      }
    });
    entries.forEach((entry, index) => {
      let row = queueRows.get(entry.id);
      if (!row) {
        row = buildQueueRow(entry.id);
        queueRows.set(entry.id, row);
      }
      const item = entry.item || {};
      const refs = row.refs;
      refs.intent.textContent = humanise(item.intent) || "Unknown topic";
      refs.intent.title = text(item.intent);
      refs.reason.textContent = reasonText(item.reason);
      refs.reason.dataset.reason = text(item.reason);
      row.dataset.offered = entry.offer ? "true" : "false";
      row.classList.toggle("ac-is-offered", Boolean(entry.offer));
      row.classList.toggle("ac-is-taken", Boolean(entry.failure));
      setHidden(refs.decline, !entry.offer);
      refs.error.textContent = entry.failure ? entry.failure.message : "";
      if (entry.failure) {
        refs.error.dataset.code = entry.failure.code;
      } else {
        delete refs.error.dataset.code;
      }
      setHidden(refs.error, !entry.failure);
      const busy = state.accepting.has(entry.id);
      refs.accept.disabled = busy || Boolean(entry.failure) || !state.ready;
      refs.accept.textContent = busy ? "Accepting…" : "Accept";
      refs.accept.setAttribute("aria-label", `Accept: ${refs.intent.textContent}, ${refs.reason.textContent}`);
      refs.decline.disabled = !state.ready;
      tickRow(row, entry);
      const current = el.queueList.children[index];
      if (current !== row) {
        el.queueList.insertBefore(row, current || null);
      }
    });
    const waiting = entries.filter((entry) => !entry.failure).length;
    el.queueCount.textContent = String(waiting);
    setHidden(el.queueEmpty, entries.length > 0);
    renderTitle();
  }

  function tickRow(row, entry) {
    const seconds = waitingSeconds(entry);
    row.refs.wait.textContent = seconds === null ? "" : `Waiting ${duration(seconds)}`;
    setHidden(row.refs.wait, seconds === null);
    if (entry.offer && entry.offer.expiresAt) {
      const left = Math.max(0, Math.ceil((entry.offer.expiresAt - Date.now()) / 1000));
      row.refs.offer.textContent = `Offered to you: ${left} s left to accept`;
      row.dataset.expiresIn = String(left);
    } else if (entry.offer) {
      row.refs.offer.textContent = "Offered to you";
      delete row.dataset.expiresIn;
    } else {
      row.refs.offer.textContent = "";
      delete row.dataset.expiresIn;
    }
    setHidden(row.refs.offer, !entry.offer);
  }

  function acceptItem(id) {
    unlockAudio();
    const entry = state.queue.get(id);
    const offer = state.offers.get(id);
    const handoffId = entry ? entry.item.handoff_id : offer ? offer.handoffId : id;
    if (send({ type: "accept", handoff_id: handoffId })) {
      state.accepting.add(id);
      renderQueue();
    }
  }

  function declineOffer(id) {
    const offer = state.offers.get(id);
    const queued = state.queue.get(id);
    const handoffId = offer ? offer.handoffId : queued ? queued.item.handoff_id : null;
    if (handoffId === null) {
      return;
    }
    if (send({ type: "decline", handoff_id: handoffId })) {
      state.offers.delete(id);
      if (queued) {
        queued.item = { ...queued.item, is_offered_to_you: false };
      }
      renderQueue();
    }
  }

  /** Once a second: waiting times, offer countdowns, the reconnect countdown. */
  function tick() {
    let expired = false;
    state.offers.forEach((offer, id) => {
      if (offer.expiresAt <= Date.now()) {
        state.offers.delete(id);
        expired = true;
      }
    });
    let failuresLapsed = false;
    state.failures.forEach((failure, id) => {
      if (failure.until <= Date.now()) {
        failuresLapsed = true;
        state.failures.delete(id);
      }
    });
    if (expired || failuresLapsed) {
      renderQueue();
    } else {
      queueEntries().forEach((entry) => {
        const row = queueRows.get(entry.id);
        if (row) {
          tickRow(row, entry);
        }
      });
    }
    if (state.retryTimer) {
      renderBanner();
    }
  }

  setInterval(tick, 1000);

  // ---------------------------------------------------------------- my conversations

  const tabRows = new Map(); // id -> button

  function conversationTitle(conversation) {
    const packet = conversation.packet || {};
    return humanise(packet.intent) || `Conversation ${text(packet.conversation_id).slice(0, 8) || conversation.id}`;
  }

  function renderTabs() {
    const ids = state.order.filter((id) => state.conversations.has(id));
    tabRows.forEach((tab, id) => {
      if (!state.conversations.has(id)) {
        tab.remove();
        tabRows.delete(id);
      }
    });
    ids.forEach((id, index) => {
      const conversation = state.conversations.get(id);
      let tab = tabRows.get(id);
      if (!tab) {
        tab = h("button", {
          type: "button", role: "tab", class: "ac-tab", "data-testid": "conversation-tab",
          "data-handoff-id": id, "aria-controls": "chat", onclick: () => select(id, { focus: false }),
        },
        h("span", { class: "ac-tab-title" }),
        h("span", { class: "ac-tab-meta" }),
        h("span", { class: "ac-tab-unread", "data-testid": "conversation-unread" }));
        tab.refs = {
          title: tab.querySelector(".ac-tab-title"),
          meta: tab.querySelector(".ac-tab-meta"),
          unread: tab.querySelector(".ac-tab-unread"),
        };
        tabRows.set(id, tab);
      }
      const selected = state.selected === id;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected || (!state.selected && index === 0) ? 0 : -1;
      tab.dataset.ended = conversation.ended ? "true" : "false";
      tab.refs.title.textContent = conversationTitle(conversation);
      let meta = reasonText(conversation.packet.reason);
      if (conversation.ended) {
        meta = "Ended";
      } else if (conversation.visitorTyping) {
        meta = "Visitor is typing…";
      }
      tab.refs.meta.textContent = meta;
      tab.refs.unread.textContent = conversation.unread ? String(conversation.unread) : "";
      tab.refs.unread.setAttribute("aria-label", conversation.unread
        ? `${conversation.unread} unread` : "");
      setHidden(tab.refs.unread, !conversation.unread);
      const current = el.tabs.children[index];
      if (current !== tab) {
        el.tabs.insertBefore(tab, current || null);
      }
    });
    const open = ids.filter((id) => !state.conversations.get(id).ended).length;
    el.mineCount.textContent = state.agent.capacity ? `${open}/${state.agent.capacity}` : String(open);
    setHidden(el.mineEmpty, ids.length > 0);
    renderTitle();
  }

  el.tabs.addEventListener("keydown", (event) => {
    const tabs = Array.from(el.tabs.querySelectorAll('[role="tab"]'));
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) {
      return;
    }
    let next = null;
    if (event.key === "ArrowDown" || event.key === "ArrowRight") {
      next = tabs[(index + 1) % tabs.length];
    } else if (event.key === "ArrowUp" || event.key === "ArrowLeft") {
      next = tabs[(index - 1 + tabs.length) % tabs.length];
    } else if (event.key === "Home") {
      next = tabs[0];
    } else if (event.key === "End") {
      next = tabs[tabs.length - 1];
    }
    if (next) {
      event.preventDefault();
      next.focus();
      select(next.dataset.handoffId, { focus: false });
    }
  });

  function renderTitle() {
    const unread = Array.from(state.conversations.values())
      .reduce((sum, conversation) => sum + conversation.unread, 0);
    const count = unread + state.offers.size;
    document.title = count ? `(${count}) Agent console` : "Agent console";
  }

  function select(id, options) {
    const previous = state.selected ? state.conversations.get(state.selected) : null;
    if (previous && previous.id !== id) {
      previous.draft = el.input.value;
      previous.noteDraft = el.noteInput.value;
      stopTyping(previous);
    }
    const conversation = state.conversations.get(id);
    state.selected = conversation ? id : null;
    closeCanned();
    closeTransfer();
    if (conversation) {
      conversation.unread = 0;
      if (!previous || previous.id !== id) {
        el.input.value = conversation.draft;
        el.noteInput.value = conversation.noteDraft;
      }
      if (window.location.hash !== `#h/${id}` && window.history.replaceState) {
        window.history.replaceState(null, "", `#h/${id}`);
      }
    }
    renderTabs();
    renderConversation();
    if (conversation && options && options.focus) {
      el.input.focus();
    }
  }

  function removeConversation(id) {
    const conversation = state.conversations.get(id);
    if (conversation) {
      clearTimeout(conversation.visitorTypingTimer);
      clearTimeout(conversation.typingStopTimer);
    }
    state.conversations.delete(id);
    state.order = state.order.filter((other) => other !== id);
    if (state.selected === id) {
      state.selected = null;
      el.input.value = "";
      el.noteInput.value = "";
      const next = state.order.find((other) => state.conversations.has(other));
      if (next) {
        select(next, { focus: false });
      } else {
        if (window.history.replaceState && window.location.hash) {
          window.history.replaceState(null, "", window.location.pathname + window.location.search);
        }
        renderConversation();
      }
    }
    renderTabs();
    renderQueue();
  }

  // ---------------------------------------------------------------- the chat

  function renderConversation() {
    const conversation = state.selected ? state.conversations.get(state.selected) : null;
    setHidden(el.noConversation, Boolean(conversation));
    setHidden(el.chat, !conversation);
    setHidden(el.packet, !conversation);
    if (!conversation) {
      return;
    }
    const packet = conversation.packet || {};
    el.chat.dataset.handoffId = conversation.id;
    el.chatTitle.textContent = conversationTitle(conversation);
    const parts = [reasonText(packet.reason)];
    if (packet.conversation_id) {
      parts.push(`conversation ${text(packet.conversation_id).slice(0, 8)}`);
    }
    if (packet.requested_at) {
      parts.push(`asked at ${clockTime(packet.requested_at)}`);
    }
    el.chatMeta.textContent = parts.join(" · ");
    el.chatEndedText.textContent = conversation.ended || "";
    setHidden(el.chatEnded, !conversation.ended);
    el.chatError.textContent = conversation.error;
    setHidden(el.chatError, !conversation.error);
    renderTranscript();
    renderTyping();
    renderSuggestions();
    renderPacket();
    renderNotes();
    renderControls();
  }

  function authorName(event) {
    const data = event.data && typeof event.data === "object" ? event.data : {};
    if (event.author === "visitor") {
      return "Visitor";
    }
    if (event.author === "bot") {
      return "Bot";
    }
    if (event.author === "agent") {
      const name = text(data.agent_name) || "Agent";
      return state.agent.name && name === state.agent.name ? `${name} (you)` : name;
    }
    return humanise(event.author) || "System";
  }

  function eventRow(event) {
    const seq = Number(event.seq);
    const isMessage = event.kind === "message" && event.author !== "system";
    if (!isMessage) {
      const line = text(event.text) || humanise(event.kind) || "Event";
      return h("li", {
        class: "ac-system", "data-testid": "agent-chat-system", "data-kind": text(event.kind),
        "data-seq": Number.isFinite(seq) ? seq : null,
      }, h("span", null, line), h("time", { datetime: text(event.created_at) }, clockTime(event.created_at)));
    }
    const data = event.data && typeof event.data === "object" ? event.data : {};
    const sources = Array.isArray(data.sources) ? data.sources : [];
    const masked = Array.isArray(data.masked) ? data.masked : [];
    const conversation = state.conversations.get(state.selected);
    const original = conversation && Number.isFinite(seq) ? conversation.revealed.get(seq) : undefined;
    return h("li", {
      class: `ac-message ac-from-${text(event.author)}`, "data-testid": "agent-chat-message",
      "data-author": text(event.author), "data-seq": Number.isFinite(seq) ? seq : null,
      "data-client-id": eventClientId(event) || null,
    },
    h("div", { class: "ac-message-head" },
      h("span", { class: "ac-message-author" }, authorName(event)),
      h("time", { datetime: text(event.created_at) }, clockTime(event.created_at))),
    h("p", { class: "ac-message-text" }, text(event.text)),
    masked.length ? maskedLine(seq, masked, original) : null,
    sources.length ? h("p", { class: "ac-message-sources" },
      "Sources: ", sources.map((source) => text(source && (source.label || source.key))).join(", ")) : null);
  }

  /** What was hidden in a message; its original, for a role that may read it, on request. */
  function maskedLine(seq, masked, original) {
    const hidden = `Hidden: ${masked.map((kind) => MASKED_KINDS[kind] || humanise(kind)).join(", ")}`;
    if (typeof original === "string") {
      return h("div", { class: "ac-message-masked" },
        h("p", { class: "ac-message-masked-label" }, `${hidden}. Original (your reading was recorded):`),
        h("p", { class: "ac-message-original", "data-testid": "agent-message-original" }, original));
    }
    return h("div", { class: "ac-message-masked" },
      h("span", { class: "ac-message-masked-label" }, hidden),
      state.agent.mayReveal && Number.isFinite(seq) ? h("button", {
        type: "button", class: "ac-button ac-button-small", "data-testid": "agent-reveal",
        title: "Show what the visitor typed. Each reading is recorded in the audit log.",
        onclick: () => reveal(seq),
      }, "Reveal") : null);
  }

  function pendingRow(clientId, pending) {
    const failed = pending.status === "failed";
    return h("li", {
      class: "ac-message ac-from-agent ac-is-pending", "data-testid": "agent-chat-message",
      "data-author": "agent", "data-pending": "true", "data-client-id": clientId,
      "data-status": pending.status,
    },
    h("div", { class: "ac-message-head" },
      h("span", { class: "ac-message-author" }, `${state.agent.name || "You"} (you)`),
      h("span", { class: "ac-pending-state" },
        failed ? "Not sent" : pending.status === "queued" ? "Waiting for the connection…"
          : pending.status === "sent" ? "Sent" : "Sending…")),
    h("p", { class: "ac-message-text" }, pending.text),
    failed ? h("p", { class: "ac-item-error" }, pending.message || "The message was not sent.") : null,
    failed ? h("div", { class: "ac-button-row" },
      h("button", {
        type: "button", class: "ac-button ac-button-small", onclick: () => retryPending(clientId),
      }, "Retry"),
      h("button", {
        type: "button", class: "ac-button ac-button-small", onclick: () => discardPending(clientId),
      }, "Discard")) : null);
  }

  function isNearBottom() {
    const list = el.transcript;
    return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    el.transcript.scrollTop = el.transcript.scrollHeight;
  }

  function sortedEvents(conversation) {
    return Array.from(conversation.events.entries())
      .sort((a, b) => {
        const left = typeof a[0] === "number" ? a[0] : Infinity;
        const right = typeof b[0] === "number" ? b[0] : Infinity;
        return left - right;
      })
      .map((entry) => entry[1]);
  }

  function renderTranscript() {
    const conversation = state.conversations.get(state.selected);
    if (!conversation) {
      return;
    }
    const rows = sortedEvents(conversation).map(eventRow);
    conversation.pending.forEach((pending, clientId) => rows.push(pendingRow(clientId, pending)));
    el.transcript.replaceChildren(...rows);
    scrollToBottom();
  }

  /** Put one committed event in its place by seq, before the pending messages. */
  function insertEventRow(event) {
    const follow = isNearBottom();
    const row = eventRow(event);
    const seq = Number(event.seq);
    let before = null;
    for (const child of el.transcript.children) {
      if (child.dataset.pending === "true") {
        before = child;
        break;
      }
      const other = Number(child.dataset.seq);
      if (Number.isFinite(seq) && Number.isFinite(other) && other > seq) {
        before = child;
        break;
      }
    }
    el.transcript.insertBefore(row, before);
    if (follow || event.author === "agent") {
      scrollToBottom();
    }
  }

  function removePendingRow(clientId) {
    Array.from(el.transcript.querySelectorAll('[data-pending="true"]')).forEach((row) => {
      if (row.dataset.clientId === clientId) {
        row.remove();
      }
    });
  }

  function renderTyping() {
    const conversation = state.conversations.get(state.selected);
    setHidden(el.visitorTyping, !conversation || !conversation.visitorTyping || Boolean(conversation.ended));
  }

  function renderSuggestions() {
    const conversation = state.conversations.get(state.selected);
    const suggestions = conversation && Array.isArray(conversation.packet.suggestions)
      ? conversation.packet.suggestions.filter((suggestion) => suggestion && suggestion.text) : [];
    el.suggestionList.replaceChildren(...suggestions.map((suggestion) => {
      const source = suggestion.source && (suggestion.source.label || suggestion.source.key);
      return h("li", null, h("button", {
        type: "button", class: "ac-suggestion", "data-testid": "suggestion",
        title: source ? `From the knowledge graph: ${text(source)}` : null,
        onclick: () => insertIntoInput(text(suggestion.text)),
      }, text(suggestion.text)));
    }));
    setHidden(el.suggestions, suggestions.length === 0);
  }

  /** Enable what the selected conversation and the connection allow. */
  function renderControls() {
    const conversation = state.conversations.get(state.selected);
    const live = Boolean(conversation && !conversation.ended);
    const connected = isOpen() && state.ready;
    const acting = Boolean(conversation && conversation.ending);
    el.availability.disabled = !connected;
    el.input.disabled = !live;
    el.send.disabled = !live;
    el.cannedOpen.disabled = !live;
    el.noteInput.disabled = !conversation;
    el.noteAdd.disabled = !conversation || !connected;
    [el.handBack, el.closeButton, el.transferOpen, el.closeDisposition].forEach((control) => {
      control.disabled = !live || !connected || acting;
    });
    el.suggestionList.querySelectorAll("button").forEach((button) => {
      button.disabled = !live;
    });
    if (!conversation) {
      el.composerStatus.textContent = "";
    } else if (conversation.ended) {
      el.composerStatus.textContent = "This conversation is read-only now.";
    } else if (acting) {
      el.composerStatus.textContent = `${OWN_ENDINGS[conversation.ending] || "Working"}…`;
    } else if (!connected) {
      el.composerStatus.textContent = "Offline: messages are sent when the connection is back.";
    } else {
      el.composerStatus.textContent = "";
    }
  }

  function renderAll() {
    renderQueue();
    renderTabs();
    renderConversation();
    if (!state.selected) {
      renderControls();
    }
  }

  // ---------------------------------------------------------------- sending messages

  function sendMessage() {
    const conversation = state.conversations.get(state.selected);
    if (!conversation || conversation.ended) {
      return;
    }
    const value = el.input.value.trim();
    if (!value) {
      return;
    }
    if (value.length > MAX_MESSAGE_CHARS) {
      el.composerStatus.textContent = `A message can be at most ${MAX_MESSAGE_CHARS} characters.`;
      return;
    }
    const clientId = newClientId();
    const pending = { text: value, status: "sending", message: "" };
    conversation.pending.set(clientId, pending);
    stopTyping(conversation);
    const sent = send({ type: "message", handoff_id: conversation.handoffId, client_id: clientId, text: value }, true);
    if (!sent) {
      pending.status = "queued";
    }
    el.input.value = "";
    conversation.draft = "";
    el.transcript.appendChild(pendingRow(clientId, pending));
    scrollToBottom();
    el.input.focus();
  }

  /** After `assigned` (a reconnect): send again what the server has not stored yet. */
  function resendPending(conversation) {
    conversation.pending.forEach((pending, clientId) => {
      if (pending.status === "failed") {
        return;
      }
      if (send({
        type: "message", handoff_id: conversation.handoffId, client_id: clientId, text: pending.text,
      }, true)) {
        pending.status = "sending";
      } else {
        pending.status = "queued";
      }
    });
  }

  function retryPending(clientId) {
    const conversation = state.conversations.get(state.selected);
    const pending = conversation && conversation.pending.get(clientId);
    if (!pending) {
      return;
    }
    pending.status = send({
      type: "message", handoff_id: conversation.handoffId, client_id: clientId, text: pending.text,
    }, true) ? "sending" : "queued";
    pending.message = "";
    renderTranscript();
  }

  function discardPending(clientId) {
    const conversation = state.conversations.get(state.selected);
    if (conversation) {
      conversation.pending.delete(clientId);
      renderTranscript();
    }
  }

  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });

  el.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey
        && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendMessage();
    } else if (event.key === "Escape") {
      closeCanned();
    }
  });

  // ---------------------------------------------------------------- typing, throttled

  function noteTyping() {
    const conversation = state.conversations.get(state.selected);
    if (!conversation || conversation.ended) {
      return;
    }
    conversation.draft = el.input.value;
    if (!el.input.value.trim()) {
      stopTyping(conversation);
      return;
    }
    const now = Date.now();
    if (!conversation.typingSent || now - conversation.typingSentAt > TYPING_REPEAT_MS) {
      if (send({ type: "typing", handoff_id: conversation.handoffId, is_typing: true }, true)) {
        conversation.typingSent = true;
        conversation.typingSentAt = now;
      }
    }
    clearTimeout(conversation.typingStopTimer);
    conversation.typingStopTimer = setTimeout(() => stopTyping(conversation), TYPING_IDLE_MS);
  }

  function stopTyping(conversation) {
    clearTimeout(conversation.typingStopTimer);
    if (conversation.typingSent) {
      conversation.typingSent = false;
      send({ type: "typing", handoff_id: conversation.handoffId, is_typing: false }, true);
    }
  }

  el.input.addEventListener("input", noteTyping);

  function insertIntoInput(snippet) {
    if (el.input.disabled || !snippet) {
      return;
    }
    const value = el.input.value;
    const start = typeof el.input.selectionStart === "number" ? el.input.selectionStart : value.length;
    const end = typeof el.input.selectionEnd === "number" ? el.input.selectionEnd : value.length;
    const before = value.slice(0, start);
    const after = value.slice(end);
    const gap = before && !/\s$/.test(before) ? " " : "";
    const combined = (before + gap + snippet + after).slice(0, MAX_MESSAGE_CHARS);
    el.input.value = combined;
    const caret = Math.min(combined.length, (before + gap + snippet).length);
    el.input.focus();
    el.input.setSelectionRange(caret, caret);
    noteTyping();
  }

  // ---------------------------------------------------------------- canned replies

  async function openCanned() {
    setHidden(el.cannedPanel, false);
    el.cannedOpen.setAttribute("aria-expanded", "true");
    el.cannedFilter.value = "";
    if (state.canned === null && !state.cannedLoading) {
      state.cannedLoading = true;
      el.cannedStatus.textContent = "Loading…";
      const answer = await getJson(app.dataset.cannedUrl || "/console/api/canned");
      state.cannedLoading = false;
      if (answer.ok && Array.isArray(answer.data.canned)) {
        state.canned = answer.data.canned;
      } else {
        el.cannedStatus.textContent = answer.message || "The canned replies could not be loaded.";
        return;
      }
    }
    renderCanned();
    el.cannedFilter.focus();
  }

  function closeCanned() {
    setHidden(el.cannedPanel, true);
    el.cannedOpen.setAttribute("aria-expanded", "false");
  }

  function renderCanned() {
    const query = el.cannedFilter.value.trim().toLowerCase();
    const replies = (state.canned || []).filter((reply) => !query
      || text(reply.title).toLowerCase().includes(query) || text(reply.text).toLowerCase().includes(query));
    el.cannedList.replaceChildren(...replies.map((reply) => h("li", null,
      h("button", {
        type: "button", class: "ac-canned-item", "data-testid": "canned-item",
        "data-canned-id": text(reply.id), onclick: () => {
          closeCanned();
          insertIntoInput(text(reply.text));
        },
      },
      h("span", { class: "ac-canned-title" }, text(reply.title)),
      h("span", { class: "ac-canned-text" }, text(reply.text))))));
    el.cannedStatus.textContent = replies.length ? ""
      : (state.canned && state.canned.length ? "No canned reply matches." : "There are no canned replies yet.");
  }

  el.cannedOpen.addEventListener("click", () => {
    if (el.cannedPanel.hidden) {
      openCanned();
    } else {
      closeCanned();
    }
  });
  el.cannedFilter.addEventListener("input", renderCanned);
  el.cannedPanel.addEventListener("keydown", (event) => {
    const buttons = Array.from(el.cannedList.querySelectorAll("button"));
    const index = buttons.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      closeCanned();
      el.cannedOpen.focus();
    } else if (event.key === "ArrowDown" && buttons.length) {
      event.preventDefault();
      buttons[Math.min(buttons.length - 1, index + 1)].focus();
    } else if (event.key === "ArrowUp" && buttons.length) {
      event.preventDefault();
      if (index <= 0) {
        el.cannedFilter.focus();
      } else {
        buttons[index - 1].focus();
      }
    } else if (event.key === "Enter" && document.activeElement === el.cannedFilter && buttons.length) {
      event.preventDefault();
      buttons[0].click();
    }
  });
  document.addEventListener("click", (event) => {
    if (!el.cannedPanel.hidden && !el.cannedPanel.contains(event.target)
        && !el.cannedOpen.contains(event.target)) {
      closeCanned();
    }
  });

  // ---------------------------------------------------------------- transfer, hand back, close

  function transferKind() {
    const checked = el.transferBox.querySelector('input[name="transfer-kind"]:checked');
    return checked ? checked.value : "agent";
  }

  function renderTransferKind() {
    const kind = transferKind();
    setHidden(el.transferAgentField, kind !== "agent");
    setHidden(el.transferSkillField, kind !== "skill");
  }

  function showTransferError(message) {
    el.transferError.textContent = message;
    setHidden(el.transferError, !message);
  }

  async function openTransfer() {
    setHidden(el.transferBox, false);
    el.transferOpen.setAttribute("aria-expanded", "true");
    showTransferError("");
    el.transferSend.disabled = true;
    el.transferAgent.replaceChildren(h("option", { value: "" }, "Loading…"));
    el.transferSkill.replaceChildren(h("option", { value: "" }, "Loading…"));
    renderTransferKind();
    const answer = await getJson(app.dataset.agentsUrl || "/console/api/agents");
    if (el.transferBox.hidden) {
      return;
    }
    if (!answer.ok) {
      showTransferError(answer.message || "The agents could not be loaded.");
      el.transferAgent.replaceChildren();
      el.transferSkill.replaceChildren();
      return;
    }
    const agents = (Array.isArray(answer.data.agents) ? answer.data.agents : [])
      .filter((agent) => agent && key(agent.id) !== key(state.agent.id));
    agents.sort((a, b) => Number(Boolean(b.online)) - Number(Boolean(a.online))
      || text(a.name).localeCompare(text(b.name)));
    el.transferAgent.replaceChildren(...(agents.length ? agents.map((agent) => {
      const skills = (Array.isArray(agent.skills) ? agent.skills : []).map(skillName).filter(Boolean);
      const label = `${text(agent.name)}${agent.online ? "" : " (away)"}${skills.length ? ` · ${skills.join(", ")}` : ""}`;
      const option = h("option", { value: key(agent.id) }, label);
      option.agentId = agent.id;
      option.disabled = !agent.online;
      return option;
    }) : [h("option", { value: "" }, "No other agent")]));
    const firstOnline = Array.from(el.transferAgent.options).find((option) => !option.disabled && option.value);
    if (firstOnline) {
      el.transferAgent.value = firstOnline.value;
    }
    const skills = (Array.isArray(answer.data.skills) ? answer.data.skills : []).map(skillName).filter(Boolean);
    el.transferSkill.replaceChildren(...(skills.length
      ? skills.map((skill) => h("option", { value: skill }, humanise(skill) === skill ? skill : `${humanise(skill)} (${skill})`))
      : [h("option", { value: "" }, "No skill defined")]));
    el.transferSend.disabled = false;
  }

  function skillName(skill) {
    if (skill && typeof skill === "object") {
      return text(skill.name || skill.skill || "");
    }
    return text(skill);
  }

  function closeTransfer() {
    setHidden(el.transferBox, true);
    el.transferOpen.setAttribute("aria-expanded", "false");
  }

  el.transferOpen.addEventListener("click", () => {
    if (el.transferBox.hidden) {
      openTransfer();
    } else {
      closeTransfer();
    }
  });
  el.transferCancel.addEventListener("click", () => {
    closeTransfer();
    el.transferOpen.focus();
  });
  el.transferBox.addEventListener("change", (event) => {
    if (event.target.name === "transfer-kind") {
      renderTransferKind();
      showTransferError("");
    }
  });
  el.transferBox.addEventListener("submit", (event) => {
    event.preventDefault();
    const conversation = state.conversations.get(state.selected);
    if (!conversation || conversation.ended) {
      return;
    }
    const frame = { type: "transfer", handoff_id: conversation.handoffId };
    if (transferKind() === "agent") {
      const option = el.transferAgent.selectedOptions[0];
      if (!option || !option.value || option.disabled) {
        showTransferError("Choose an agent who is online.");
        return;
      }
      frame.agent_id = option.agentId !== undefined ? option.agentId : option.value;
    } else {
      if (!el.transferSkill.value) {
        showTransferError("Choose a skill.");
        return;
      }
      frame.skill = el.transferSkill.value;
    }
    startEnding(conversation, "transfer", frame);
  });

  function startEnding(conversation, action, frame) {
    stopTyping(conversation);
    if (!send(frame)) {
      return;
    }
    conversation.ending = action;
    conversation.error = "";
    closeTransfer();
    renderConversation();
  }

  el.handBack.addEventListener("click", () => {
    const conversation = state.conversations.get(state.selected);
    if (conversation && !conversation.ended) {
      startEnding(conversation, "hand_back", { type: "hand_back", handoff_id: conversation.handoffId });
    }
  });

  el.closeButton.addEventListener("click", () => {
    const conversation = state.conversations.get(state.selected);
    if (conversation && !conversation.ended) {
      startEnding(conversation, "close", {
        type: "close", handoff_id: conversation.handoffId, disposition: el.closeDisposition.value,
      });
    }
  });

  el.chatDismiss.addEventListener("click", () => {
    if (state.selected) {
      removeConversation(state.selected);
    }
  });

  // ---------------------------------------------------------------- the packet

  // Who the company's website says the visitor is (a signed identity), as text only.
  function customerText(customer) {
    if (!customer || typeof customer !== "object") {
      return "Anonymous visitor";
    }
    const name = text(customer.name) || "Customer";
    const email = text(customer.email);
    return `${name}${email ? ` <${email}>` : ""} · id ${text(customer.user_id)}`;
  }

  function renderPacket() {
    const conversation = state.conversations.get(state.selected);
    if (!conversation) {
      return;
    }
    const packet = conversation.packet || {};
    el.summary.textContent = text(packet.summary) || "No summary.";
    el.customer.textContent = customerText(packet.customer);
    el.reason.textContent = reasonText(packet.reason);
    el.intent.textContent = humanise(packet.intent) || "Unknown";
    el.intent.title = text(packet.intent);
    el.skill.textContent = humanise(skillName(packet.skill)) || "Any agent";
    const waited = Number(packet.waiting_seconds);
    el.waited.textContent = Number.isFinite(waited) ? duration(waited) : "–";

    const frustration = percent(packet.frustration);
    el.frustration.setAttribute("aria-valuenow", String(frustration));
    el.frustration.setAttribute("aria-valuetext", `${frustration} %`);
    el.frustration.dataset.level = frustration >= 70 ? "high" : frustration >= 40 ? "medium" : "low";
    el.frustrationFill.style.width = `${frustration}%`;
    el.frustrationValue.textContent = `${frustration} %`;

    const intents = Array.isArray(packet.intents) ? packet.intents : [];
    el.intents.replaceChildren(...(intents.length ? intents.map((entry) => {
      const confidence = percent(entry && entry.confidence);
      return h("li", { class: "ac-intent", "data-testid": "packet-intent-item" },
        h("span", { class: "ac-intent-name", title: text(entry.intent) }, humanise(entry.intent) || "?"),
        h("span", { class: "ac-bar", "aria-hidden": "true" },
          barFill(confidence)),
        h("span", { class: "ac-intent-value" }, `${confidence} %`),
        entry.turn !== undefined && entry.turn !== null
          ? h("span", { class: "ac-muted ac-intent-turn" }, `turn ${text(entry.turn)}`) : null);
    }) : [h("li", { class: "ac-muted" }, "None detected.")]));

    const slots = packet.slots && typeof packet.slots === "object" ? Object.entries(packet.slots) : [];
    el.slots.replaceChildren(...(slots.length ? slots.flatMap(([name, slot]) => {
      const value = slot && typeof slot === "object" && "value" in slot ? slot.value : slot;
      const said = slot && typeof slot === "object" ? text(slot.text) : "";
      const turn = slot && typeof slot === "object" && slot.turn !== undefined && slot.turn !== null
        ? `turn ${text(slot.turn)}` : "";
      const detail = [said && said !== text(value) ? `“${said}”` : "", turn].filter(Boolean).join(", ");
      return [
        h("dt", { title: name }, humanise(name)),
        h("dd", null, text(value), detail ? h("span", { class: "ac-muted" }, ` (${detail})`) : null),
      ];
    }) : [h("dd", { class: "ac-muted ac-full" }, "Nothing collected.")]));

    const knowledge = Array.isArray(packet.knowledge) ? packet.knowledge : [];
    el.knowledge.replaceChildren(...(knowledge.length ? knowledge.map((node) => h("li", null,
      h("span", null, text(node && (node.label || node.key))),
      node && node.key ? h("code", { class: "ac-key" }, text(node.key)) : null))
      : [h("li", { class: "ac-muted" }, "None.")]));

    const tried = Array.isArray(packet.bot_tried) ? packet.bot_tried : [];
    el.tried.replaceChildren(...(tried.length ? tried.map((step) => h("li", null,
      h("span", { class: "ac-tried-head" },
        [step.turn !== undefined && step.turn !== null ? `Turn ${text(step.turn)}` : "",
          humanise(step.decision), step.intent ? `(${humanise(step.intent)})` : ""]
          .filter(Boolean).join(" · ")),
      step.text ? h("span", { class: "ac-tried-text" }, text(step.text)) : null))
      : [h("li", { class: "ac-muted" }, "Nothing recorded.")]));
  }

  function barFill(value) {
    const fill = h("span", { class: "ac-bar-fill" });
    fill.style.width = `${value}%`;
    return fill;
  }

  function renderNotes() {
    const conversation = state.conversations.get(state.selected);
    if (!conversation) {
      return;
    }
    el.noteList.replaceChildren(...conversation.notes.map((note) => h("li", {
      class: "ac-note", "data-testid": "note",
    },
    h("div", { class: "ac-note-head" },
      h("span", { class: "ac-note-author" }, text(note && note.author) || "Agent"),
      h("time", { datetime: text(note && note.at) }, clockTime(note && note.at)),
      h("span", { class: "ac-note-tag" }, "Only agents see this")),
    h("p", { class: "ac-note-text" }, text(note && note.text)))));
    el.noteStatus.textContent = conversation.notePending ? "Saving…" : "";
  }

  function addNote() {
    const conversation = state.conversations.get(state.selected);
    const value = el.noteInput.value.trim();
    if (!conversation || !value) {
      return;
    }
    if (value.length > MAX_MESSAGE_CHARS) {
      el.noteStatus.textContent = `A note can be at most ${MAX_MESSAGE_CHARS} characters.`;
      return;
    }
    if (send({ type: "note", handoff_id: conversation.handoffId, text: value })) {
      conversation.notePending += 1;
      el.noteInput.value = "";
      conversation.noteDraft = "";
      el.noteStatus.textContent = "Saving…";
    }
  }

  el.noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    addNote();
  });
  el.noteInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      addNote();
    }
  });

  // ---------------------------------------------------------------- start

  document.addEventListener("visibilitychange", () => {
    const conversation = state.conversations.get(state.selected);
    if (!document.hidden && conversation && conversation.unread) {
      conversation.unread = 0;
      renderTabs();
    }
  });

  window.addEventListener("beforeunload", (event) => {
    const unsent = Array.from(state.conversations.values()).some((conversation) => conversation.pending.size);
    if (unsent) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  renderAgent();
  renderAll();
  connect();
})();

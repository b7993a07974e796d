/*
 * Website chat widget.
 *
 * Embed with one tag:
 *   <script src="https://SERVER/static/chatbot/widget.js" data-server="https://SERVER"
 *           data-title="Support" data-color="#0a5c5a" data-lang="en" defer></script>
 *
 * Speaks the websocket protocol described in docs/protocol.md. Plain JavaScript, no build
 * step, no external requests besides its own stylesheet and websocket. Message text is only
 * ever written with text nodes, never parsed as HTML.
 *
 * The host page drives it through window.ChatWidget (open, close, identify, logout, send, on,
 * off) and may set window.ChatWidgetConfig first; README.md, "Embedding the widget", has both.
 */
(function () {
  "use strict";

  if (window.ChatWidget && window.ChatWidget.isLoaded) {
    return; // Included twice: the first copy owns the page.
  }

  var STRINGS = {
    en: {
      open: "Open chat",
      close: "Close chat",
      placeholder: "Type your message…",
      inputLabel: "Message",
      send: "Send",
      connecting: "Connecting…",
      reconnecting: "Connection lost. Reconnecting…",
      offline: "You are offline. Messages will be sent when you are back online.",
      typing: "typing…",
      unread: { one: "{n} unread message", other: "{n} unread messages" },
      messages: "Messages",
      greeting: "Hello! How can we help you today?",
      you: "You",
      sources: "Sources",
      bot: "Assistant",
      agent: "Agent",
      system: "Notice",
      sending: "Sending…",
      delivered: "Delivered",
      failed: "Not sent",
      counter: "{n} / {max}",
      tooLong: "Your message is {n} characters too long.",
      rateLimited: "You are sending messages quickly. Your message will be sent in a moment.",
      busy: "The assistant is very busy right now. Your message will be sent again in a moment.",
      errorGeneric: "Something went wrong. Please try again.",
      sessionExpired: "Your chat session has ended. A new conversation has started.",
      identityRefused: "We could not confirm your account, so you are chatting as a guest.",
      dismiss: "Dismiss",
      talkToPerson: "Talk to a person",
      handoffWaiting: "Connecting you to an agent…",
      queuePositionAndWait: "You are number {n} in the queue, {wait}.",
      queuePosition: "You are number {n} in the queue.",
      queueWait: "Estimated wait: {wait}.",
      waitMinutes: "about {n} min",
      waitUnderMinute: "less than a minute",
      cancelHandoff: "Cancel, back to the assistant",
      agentJoined: "{name} has joined",
      agentJoinedUnnamed: "An agent has joined",
      agentTyping: "{name} is typing…",
      backToBot: "You're back with the virtual assistant",
      unavailableNoAgent: "No agent is available right now.",
      unavailableOutsideHours: "Our agents are away: it is outside our opening hours.",
      unavailableOther: "No agent can take your chat right now.",
      leaveMessagePrompt: "Leave a message and an agent will get back to you.",
      leaveMessageLabel: "Your message",
      contactLabel: "Email or phone (optional)",
      leaveMessageSend: "Send message",
      leaveMessageEmpty: "Please write a message.",
      messageLeft: "Thanks — an agent will get back to you.",
      handoffClosed: "This chat with our team has ended.",
      rateQuestion: "How would you rate this chat?",
      rateStars: { one: "{n} star", other: "{n} stars" },
      rateSend: "Send rating",
      rateThanks: "Thanks for your feedback",
      quickReplies: "Suggested replies",
      feedbackQuestion: "Was this answer helpful?",
      feedbackUp: "This answer helped",
      feedbackDown: "This answer did not help",
      masked: "We hid your {what}: never share it in chat.",
      maskedAnd: " and ",
      maskedKinds: {
        card_number: "card number", iban: "IBAN", sort_code: "sort code",
        account_number: "account number", national_insurance_number: "National Insurance number",
        date_of_birth: "date of birth", email: "email address", phone_number: "phone number",
        postcode: "postcode"
      }
    },
    de: {
      open: "Chat öffnen",
      close: "Chat schließen",
      placeholder: "Nachricht eingeben…",
      inputLabel: "Nachricht",
      send: "Senden",
      connecting: "Verbindung wird hergestellt…",
      reconnecting: "Verbindung unterbrochen. Neuer Versuch…",
      offline: "Sie sind offline. Nachrichten werden gesendet, sobald Sie wieder online sind.",
      typing: "schreibt…",
      unread: { one: "{n} ungelesene Nachricht", other: "{n} ungelesene Nachrichten" },
      messages: "Nachrichten",
      greeting: "Hallo! Wie können wir Ihnen heute helfen?",
      you: "Sie",
      sources: "Quellen",
      bot: "Assistent",
      agent: "Mitarbeiter",
      system: "Hinweis",
      sending: "Wird gesendet…",
      delivered: "Zugestellt",
      failed: "Nicht gesendet",
      counter: "{n} / {max}",
      tooLong: "Ihre Nachricht ist {n} Zeichen zu lang.",
      rateLimited: "Sie senden sehr schnell. Ihre Nachricht wird gleich gesendet.",
      busy: "Der Assistent ist gerade sehr beschäftigt. Ihre Nachricht wird gleich erneut gesendet.",
      errorGeneric: "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
      sessionExpired: "Ihre Chat-Sitzung ist abgelaufen. Ein neues Gespräch wurde begonnen.",
      identityRefused: "Ihr Konto konnte nicht bestätigt werden. Sie chatten als Gast.",
      dismiss: "Schließen",
      talkToPerson: "Mit einem Menschen sprechen",
      handoffWaiting: "Sie werden mit einem Mitarbeiter verbunden…",
      queuePositionAndWait: "Sie sind Nummer {n} in der Warteschlange, {wait}.",
      queuePosition: "Sie sind Nummer {n} in der Warteschlange.",
      queueWait: "Geschätzte Wartezeit: {wait}.",
      waitMinutes: "etwa {n} min",
      waitUnderMinute: "weniger als eine Minute",
      cancelHandoff: "Abbrechen, zurück zum Assistenten",
      agentJoined: "{name} ist dem Chat beigetreten",
      agentJoinedUnnamed: "Ein Mitarbeiter ist dem Chat beigetreten",
      agentTyping: "{name} schreibt…",
      backToBot: "Sie sind wieder beim virtuellen Assistenten",
      unavailableNoAgent: "Gerade ist kein Mitarbeiter erreichbar.",
      unavailableOutsideHours: "Unsere Mitarbeiter sind gerade nicht da: Es ist außerhalb unserer Servicezeiten.",
      unavailableOther: "Gerade kann kein Mitarbeiter Ihren Chat übernehmen.",
      leaveMessagePrompt: "Hinterlassen Sie eine Nachricht, ein Mitarbeiter meldet sich bei Ihnen.",
      leaveMessageLabel: "Ihre Nachricht",
      contactLabel: "E-Mail oder Telefon (optional)",
      leaveMessageSend: "Nachricht senden",
      leaveMessageEmpty: "Bitte schreiben Sie eine Nachricht.",
      messageLeft: "Danke — ein Mitarbeiter meldet sich bei Ihnen.",
      handoffClosed: "Dieser Chat mit unserem Team ist beendet.",
      rateQuestion: "Wie bewerten Sie diesen Chat?",
      rateStars: { one: "{n} Stern", other: "{n} Sterne" },
      rateSend: "Bewertung senden",
      rateThanks: "Danke für Ihr Feedback",
      quickReplies: "Antwortvorschläge",
      feedbackQuestion: "War diese Antwort hilfreich?",
      feedbackUp: "Diese Antwort hat geholfen",
      feedbackDown: "Diese Antwort hat nicht geholfen",
      masked: "Aus Ihrer Nachricht ausgeblendet: {what}. Teilen Sie solche Daten nie im Chat.",
      maskedAnd: " und ",
      maskedKinds: {
        card_number: "Kartennummer", iban: "IBAN", sort_code: "Bankleitzahl",
        account_number: "Kontonummer", national_insurance_number: "Sozialversicherungsnummer",
        date_of_birth: "Geburtsdatum", email: "E-Mail-Adresse", phone_number: "Telefonnummer",
        postcode: "Postleitzahl"
      }
    },
    fr: {
      open: "Ouvrir le chat",
      close: "Fermer le chat",
      placeholder: "Écrivez votre message…",
      inputLabel: "Message",
      send: "Envoyer",
      connecting: "Connexion…",
      reconnecting: "Connexion perdue. Reconnexion…",
      offline: "Vous êtes hors ligne. Vos messages partiront dès le retour de la connexion.",
      typing: "écrit…",
      unread: { one: "{n} message non lu", other: "{n} messages non lus" },
      messages: "Messages",
      greeting: "Bonjour ! Comment pouvons-nous vous aider ?",
      you: "Vous",
      sources: "Sources",
      bot: "Assistant",
      agent: "Conseiller",
      system: "Information",
      sending: "Envoi…",
      delivered: "Remis",
      failed: "Non envoyé",
      counter: "{n} / {max}",
      tooLong: "Votre message a {n} caractères de trop.",
      rateLimited: "Vous écrivez très vite. Votre message partira dans un instant.",
      busy: "L'assistant est très occupé en ce moment. Votre message sera renvoyé dans un instant.",
      errorGeneric: "Une erreur est survenue. Veuillez réessayer.",
      sessionExpired: "Votre session de chat a expiré. Une nouvelle conversation a commencé.",
      identityRefused: "Nous n’avons pas pu confirmer votre compte : vous discutez en tant qu’invité.",
      dismiss: "Fermer",
      talkToPerson: "Parler à un conseiller",
      handoffWaiting: "Mise en relation avec un conseiller…",
      queuePositionAndWait: "Vous êtes n° {n} dans la file d’attente, {wait}.",
      queuePosition: "Vous êtes n° {n} dans la file d’attente.",
      queueWait: "Attente estimée : {wait}.",
      waitMinutes: "environ {n} min",
      waitUnderMinute: "moins d’une minute",
      cancelHandoff: "Annuler, revenir à l’assistant",
      agentJoined: "{name} a rejoint la conversation",
      agentJoinedUnnamed: "Un conseiller a rejoint la conversation",
      agentTyping: "{name} écrit…",
      backToBot: "Vous êtes de retour avec l’assistant virtuel",
      unavailableNoAgent: "Aucun conseiller n’est disponible pour le moment.",
      unavailableOutsideHours: "Nos conseillers sont absents : nous sommes en dehors des heures d’ouverture.",
      unavailableOther: "Aucun conseiller ne peut prendre votre conversation pour le moment.",
      leaveMessagePrompt: "Laissez un message, un conseiller vous recontactera.",
      leaveMessageLabel: "Votre message",
      contactLabel: "E-mail ou téléphone (facultatif)",
      leaveMessageSend: "Envoyer le message",
      leaveMessageEmpty: "Veuillez écrire un message.",
      messageLeft: "Merci — un conseiller vous recontactera.",
      handoffClosed: "Cette conversation avec notre équipe est terminée.",
      rateQuestion: "Comment évaluez-vous cette conversation ?",
      rateStars: { one: "{n} étoile", other: "{n} étoiles" },
      rateSend: "Envoyer la note",
      rateThanks: "Merci pour votre avis",
      quickReplies: "Réponses suggérées",
      feedbackQuestion: "Cette réponse vous a-t-elle aidé ?",
      feedbackUp: "Cette réponse m’a aidé",
      feedbackDown: "Cette réponse ne m’a pas aidé",
      masked: "Masqué dans votre message : {what}. Ne partagez jamais ces données dans le chat.",
      maskedAnd: " et ",
      maskedKinds: {
        card_number: "numéro de carte", iban: "IBAN", sort_code: "code guichet",
        account_number: "numéro de compte", national_insurance_number: "numéro d’assurance nationale",
        date_of_birth: "date de naissance", email: "adresse e-mail", phone_number: "numéro de téléphone",
        postcode: "code postal"
      }
    },
    es: {
      open: "Abrir chat",
      close: "Cerrar chat",
      placeholder: "Escriba su mensaje…",
      inputLabel: "Mensaje",
      send: "Enviar",
      connecting: "Conectando…",
      reconnecting: "Conexión perdida. Reconectando…",
      offline: "Está sin conexión. Los mensajes se enviarán cuando vuelva la conexión.",
      typing: "escribiendo…",
      unread: { one: "{n} mensaje sin leer", other: "{n} mensajes sin leer" },
      messages: "Mensajes",
      greeting: "¡Hola! ¿En qué podemos ayudarle hoy?",
      you: "Usted",
      sources: "Fuentes",
      bot: "Asistente",
      agent: "Agente",
      system: "Aviso",
      sending: "Enviando…",
      delivered: "Entregado",
      failed: "No enviado",
      counter: "{n} / {max}",
      tooLong: "Su mensaje tiene {n} caracteres de más.",
      rateLimited: "Está enviando mensajes muy rápido. Su mensaje se enviará en un momento.",
      busy: "El asistente está muy ocupado ahora. Su mensaje se enviará de nuevo en un momento.",
      errorGeneric: "Algo salió mal. Inténtelo de nuevo.",
      sessionExpired: "Su sesión de chat ha caducado. Se ha iniciado una nueva conversación.",
      identityRefused: "No pudimos confirmar su cuenta, así que está chateando como invitado.",
      dismiss: "Cerrar",
      talkToPerson: "Hablar con una persona",
      handoffWaiting: "Le estamos conectando con un agente…",
      queuePositionAndWait: "Es el número {n} en la cola, {wait}.",
      queuePosition: "Es el número {n} en la cola.",
      queueWait: "Espera estimada: {wait}.",
      waitMinutes: "unos {n} min",
      waitUnderMinute: "menos de un minuto",
      cancelHandoff: "Cancelar y volver al asistente",
      agentJoined: "{name} se ha unido al chat",
      agentJoinedUnnamed: "Un agente se ha unido al chat",
      agentTyping: "{name} está escribiendo…",
      backToBot: "Vuelve a estar con el asistente virtual",
      unavailableNoAgent: "Ahora mismo no hay ningún agente disponible.",
      unavailableOutsideHours: "Nuestros agentes no están: estamos fuera del horario de atención.",
      unavailableOther: "Ahora mismo ningún agente puede atender su chat.",
      leaveMessagePrompt: "Deje un mensaje y un agente se pondrá en contacto con usted.",
      leaveMessageLabel: "Su mensaje",
      contactLabel: "Correo electrónico o teléfono (opcional)",
      leaveMessageSend: "Enviar mensaje",
      leaveMessageEmpty: "Escriba un mensaje.",
      messageLeft: "Gracias — un agente se pondrá en contacto con usted.",
      handoffClosed: "Este chat con nuestro equipo ha finalizado.",
      rateQuestion: "¿Cómo valoraría este chat?",
      rateStars: { one: "{n} estrella", other: "{n} estrellas" },
      rateSend: "Enviar valoración",
      rateThanks: "Gracias por su opinión",
      quickReplies: "Respuestas sugeridas",
      feedbackQuestion: "¿Le ha sido útil esta respuesta?",
      feedbackUp: "Esta respuesta me ha ayudado",
      feedbackDown: "Esta respuesta no me ha ayudado",
      masked: "Ocultamos de su mensaje: {what}. No comparta nunca estos datos en el chat.",
      maskedAnd: " y ",
      maskedKinds: {
        card_number: "número de tarjeta", iban: "IBAN", sort_code: "código de sucursal",
        account_number: "número de cuenta", national_insurance_number: "número de seguro nacional",
        date_of_birth: "fecha de nacimiento", email: "correo electrónico", phone_number: "número de teléfono",
        postcode: "código postal"
      }
    }
  };

  var DEFAULT_MAX_MESSAGE_CHARS = 2000;
  var RECONNECT_BASE_MS = 500;
  var RECONNECT_CAP_MS = 30000;
  var PING_INTERVAL_MS = 25000;
  var SILENCE_LIMIT_MS = 60000;
  var TYPING_IDLE_MS = 3000;
  var REMOTE_TYPING_TIMEOUT_MS = 15000;
  var NOTICE_MS = 8000;
  var HANDOFF_NOTE_MS = 8000; // "Back with the assistant", "Thanks": shown for a while, then gone.
  var HANDOFF_REQUEST_TIMEOUT_MS = 20000; // No answer to "talk to a person": offer the button again.
  var LEAVE_MESSAGE_MAX_CHARS = 2000;
  var CONTACT_MAX_CHARS = 200;
  var LEAVE_TEXT_MAX_HEIGHT_PX = 84; // About four lines; then the message scrolls in its field.
  var RATING_MAX = 5;
  var QUICK_REPLIES_MAX = 8;
  var ANSWER_RATINGS = ["up", "down"];
  var HANDOFF_RESEND_WINDOW_MS = 5000; // The server repeats the current handoff status after welcome.
  // Statuses of `handoff` frames the widget knows; any other is ignored.
  var HANDOFF_STATUSES = ["waiting", "agent", "bot", "unavailable", "closed", "message_left", "rated"];
  var PHONE_QUERY = "(max-width: 480px)";
  // What the host page may call on window.ChatWidget, and the events it may listen to.
  var API_METHODS = ["open", "close", "identify", "logout", "send", "on", "off"];
  var API_EVENTS = ["ready", "connected", "open", "close", "message", "identified", "identity_refused", "handoff"];
  var MESSAGE_AUTHORS = ["visitor", "bot", "agent"];

  // ---------------------------------------------------------------- configuration

  function findOwnScript() {
    if (document.currentScript) {
      return document.currentScript;
    }
    var tagged = document.querySelector("script[data-chat-widget]");
    if (tagged) {
      return tagged;
    }
    var scripts = document.getElementsByTagName("script");
    for (var index = scripts.length - 1; index >= 0; index -= 1) {
      var src = (scripts[index].getAttribute("src") || "").split(/[?#]/)[0];
      if (/(^|\/)widget\.js$/.test(src)) {
        return scripts[index];
      }
    }
    return null;
  }

  function pickLanguage(requested) {
    var candidates = [requested, document.documentElement.lang, navigator.language, "en"];
    for (var index = 0; index < candidates.length; index += 1) {
      var code = String(candidates[index] || "").toLowerCase().split(/[-_]/)[0];
      if (STRINGS[code]) {
        return code;
      }
    }
    return "en";
  }

  /** Keep the five fields of a signed identity, copied: the page may change its object later. */
  function copyIdentity(identity) {
    if (!identity || typeof identity !== "object") {
      return null;
    }
    return {
      user_id: identity.user_id,
      name: identity.name,
      email: identity.email,
      issued_at: identity.issued_at,
      signature: identity.signature
    };
  }

  function readConfig(script) {
    var dataset = script ? script.dataset : {};
    // Set by the host page before this script runs; the script tag's attributes win.
    var page = window.ChatWidgetConfig && typeof window.ChatWidgetConfig === "object" ? window.ChatWidgetConfig : {};
    var scriptUrl = new URL(script && script.src ? script.src : "widget.js", document.baseURI);
    var server = new URL(dataset.server || page.server || scriptUrl.origin, document.baseURI);
    var serverBase = server.origin + server.pathname.replace(/\/+$/, "");
    var socketUrl = new URL(serverBase + "/ws/chat/");
    socketUrl.protocol = server.protocol === "https:" ? "wss:" : "ws:";
    var language = pickLanguage(dataset.lang || page.lang);
    return {
      cssUrl: new URL("widget.css", scriptUrl).href,
      socketUrl: socketUrl.href,
      storageKey: "chat-widget:" + serverBase + ":token",
      openStateKey: "chat-widget:" + serverBase + ":open",
      title: dataset.title || page.title || "Support",
      color: dataset.color || page.color || "",
      language: language,
      strings: STRINGS[language],
      identity: copyIdentity(page.identity)
    };
  }

  // ---------------------------------------------------------------- small helpers

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
    });
  }

  function plural(forms, count) {
    return format(count === 1 ? forms.one : forms.other, { n: count });
  }

  function randomId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    if (window.crypto && typeof window.crypto.getRandomValues === "function") {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var index = 0; index < bytes.length; index += 1) {
        bytes[index] = Math.floor(Math.random() * 256);
      }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // RFC 4122 version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (byte) {
      return (byte + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function characterCount(text) {
    // Counts code points, as the server does, not UTF-16 units.
    return Array.from(text).length;
  }

  // A character that draws something: not a space, nor a zero-width or other format character,
  // nor a blank letter (the server refuses a message without one). Built at run time so that a
  // browser without Unicode property escapes falls back to trimming instead of failing to parse.
  var VISIBLE_CHARACTER = (function () {
    try {
      return new RegExp("[^\\s\\p{Cf}\\p{Cc}\\p{Z}\\u115f\\u1160\\u3164\\uffa0\\u2800]", "u");
    } catch (error) {
      return /\S/;
    }
  })();

  function hasVisibleText(text) {
    return VISIBLE_CHARACTER.test(text);
  }

  function safeStorage(kind) {
    try {
      var storage = window[kind];
      var probe = "chat-widget:probe";
      storage.setItem(probe, "1");
      storage.removeItem(probe);
      return storage;
    } catch (error) {
      var memory = {};
      return {
        getItem: function (key) { return Object.prototype.hasOwnProperty.call(memory, key) ? memory[key] : null; },
        setItem: function (key, value) { memory[key] = String(value); },
        removeItem: function (key) { delete memory[key]; }
      };
    }
  }

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === true) {
        node.setAttribute(name, "");
      } else if (value !== false && value !== null && value !== undefined) {
        node.setAttribute(name, String(value));
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function icon(pathData) {
    var namespace = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(namespace, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "24");
    svg.setAttribute("height", "24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(namespace, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  var ICONS = {
    chat: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.25a1.25 1.25 0 1 0 0 2.5 1.25 1.25 0 0 0 0-2.5zm5 0a1.25 1.25 0 1 0 0 2.5 1.25 1.25 0 0 0 0-2.5zm5 0a1.25 1.25 0 1 0 0 2.5 1.25 1.25 0 0 0 0-2.5z",
    chevronDown: "M5.3 8.3a1 1 0 0 1 1.4 0L12 13.6l5.3-5.3a1 1 0 1 1 1.4 1.4l-6 6a1 1 0 0 1-1.4 0l-6-6a1 1 0 0 1 0-1.4z",
    close: "M6.3 5.3a1 1 0 0 1 1.4 0L12 9.6l4.3-4.3a1 1 0 1 1 1.4 1.4L13.4 11l4.3 4.3a1 1 0 0 1-1.4 1.4L12 12.4l-4.3 4.3a1 1 0 0 1-1.4-1.4l4.3-4.3-4.3-4.3a1 1 0 0 1 0-1.4z",
    send: "M3.4 20.4 21 12 3.4 3.6a.6.6 0 0 0-.8.7L4.5 11H13a1 1 0 0 1 0 2H4.5l-1.9 6.7a.6.6 0 0 0 .8.7z",
    person: "M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 2c-4.4 0-8 2.2-8 5v1a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-1c0-2.8-3.6-5-8-5z",
    star: "M12 2.5l2.94 5.96 6.58.96-4.76 4.64 1.12 6.55L12 17.52l-5.88 3.09 1.12-6.55L2.48 9.42l6.58-.96z",
    thumbUp: "M2 10h4v11H2zm6 .5 4.5-7.3a1.6 1.6 0 0 1 2.9 1.2L14.3 9H20a2 2 0 0 1 2 2.3l-1.2 7.6a2.5 2.5 0 0 1-2.5 2.1H8z",
    thumbDown: "M22 14h-4V3h4zm-6-.5-4.5 7.3a1.6 1.6 0 0 1-2.9-1.2L9.7 15H4a2 2 0 0 1-2-2.3l1.2-7.6A2.5 2.5 0 0 1 5.7 3H16z"
  };

  function readableTextOn(color) {
    var match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim());
    if (!match) {
      return null;
    }
    var hex = match[1].length === 3 ? match[1].replace(/./g, "$&$&") : match[1];
    var channels = [0, 2, 4].map(function (offset) {
      var value = parseInt(hex.slice(offset, offset + 2), 16) / 255;
      return value <= 0.03928 ? value / 12.92 : Math.pow((value + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
    return luminance > 0.4 ? "#111827" : "#ffffff";
  }

  function freshHandoffState() {
    return {
      status: null, // The last `handoff` status applied; null until the server sends one.
      position: null,
      waitSeconds: null,
      agentName: null,
      why: null,
      canLeaveMessage: false,
      canRate: false,
      isRequesting: false, // handoff_request sent, no handoff frame yet.
      isCancelling: false,
      isLeavingMessage: false, // leave_message sent, "message_left" not yet received.
      isRatingSent: false,
      isRatingConfirmed: false,
      isNoteShown: false, // A transient line ("back with the assistant", "thanks") is up.
      isDismissed: false
    };
  }

  function cleanName(value) {
    return typeof value === "string" && value.trim() ? value.trim() : null;
  }

  function agentNameOf(event) {
    return event.author === "agent" && event.data && typeof event.data === "object" ? cleanName(event.data.agent_name) : null;
  }

  function wholeNumber(value, minimum) {
    return typeof value === "number" && isFinite(value) && value >= minimum ? Math.round(value) : null;
  }

  function setTextIfChanged(node, value) {
    // Writing the same text again would make a live region say it again.
    if (node.textContent !== value) {
      node.textContent = value;
    }
  }

  function setInert(button, isInert) {
    // aria-disabled, not disabled: a button that is waiting keeps the keyboard focus (a
    // disabled one drops it) and its click handler ignores the press.
    if (isInert) {
      button.setAttribute("aria-disabled", "true");
    } else {
      button.removeAttribute("aria-disabled");
    }
  }

  function formatTime(isoString, language) {
    var date = isoString ? new Date(isoString) : new Date();
    if (isNaN(date.getTime())) {
      return "";
    }
    try {
      return date.toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
    } catch (error) {
      return date.toTimeString().slice(0, 5);
    }
  }

  // ---------------------------------------------------------------- the widget

  function ChatWidget(config, events) {
    this.config = config;
    this.text = config.strings;
    this.events = events;
    this.storage = safeStorage("localStorage");
    this.session = safeStorage("sessionStorage");

    this.socket = null;
    this.socketGeneration = 0;
    this.connectionState = "idle"; // idle | connecting | handshaking | replaying | ready | waiting
    this.hasConnectedBefore = false;
    this.reconnectAttempt = 0;
    this.reconnectTimer = null;
    // Seconds a busy server asked to wait before connecting again, until the close.
    this.busyRetryAfter = null;
    this.pingTimer = null;
    this.lastFrameAt = 0;

    this.highestSeq = 0;
    this.replayedUpTo = 0; // welcome.last_seq: events up to it were stored before this connection.
    this.conversationId = null;
    this.isInitialReplay = true;
    this.isResumeNeeded = false;
    this.isResumeInFlight = false;
    this.maxMessageChars = DEFAULT_MAX_MESSAGE_CHARS;

    this.pending = new Map(); // client_id -> {clientId, text, row, bubble, status, ackedSeq}
    this.streams = new Map(); // stream_id -> {row, bubble}
    this.quickReplies = null; // {seq, group}: the buttons under the newest bot message, if any
    this.answerRatings = new Map(); // seq of a bot answer -> {saved, wanted, up, down, group}
    this.remoteTyping = false;
    this.remoteTypingAuthor = null;
    this.remoteTypingTimer = null;
    this.localTypingSent = false;
    this.localTypingTimer = null;

    this.isOpen = false;
    this.unreadCount = 0;
    this.noticeTimer = null;

    this.handoff = freshHandoffState();
    this.handoffNoteTimer = null;
    this.handoffRequestTimer = null;
    this.handoffResendUntil = 0;

    // The signed identity the page gave, sent in each hello. Never trusted here: the widget
    // counts as a customer's only once the server's welcome says so (this.customer).
    this.identity = config.identity;
    this.customer = null; // welcome.identity: {user_id, name}, or null for a guest.
    this.identityRefusal = ""; // The server's reason, from the error before close 4402.
    this.refusedUserId = null; // Set after a refusal until the next welcome (see acceptCustomer).

    this.build();
    this.bindEvents();
    this.updateComposer();
    this.renderHandoff();
  }

  /** Connect as the page left things: after the calls it queued, so a hello carries its identity. */
  ChatWidget.prototype.begin = function () {
    if (this.session.getItem(this.config.openStateKey) === "1") {
      this.open({ moveFocus: false });
    } else if (this.storage.getItem(this.config.storageKey)) {
      // A returning visitor: restore history and count replies that arrive while closed.
      this.connect();
    }
  };

  ChatWidget.prototype.emit = function (name, detail) {
    this.events.emit(name, detail);
  };

  ChatWidget.prototype.build = function () {
    var text = this.text;
    var ids = {
      panel: "chat-widget-panel",
      title: "chat-widget-title",
      log: "chat-widget-log",
      input: "chat-widget-input",
      counter: "chat-widget-counter"
    };

    this.root = element("div", { "class": "cw-root", "data-chat-widget-root": true, lang: this.config.language });
    this.root.style.visibility = "hidden"; // Until the stylesheet has loaded.
    if (this.config.color && window.CSS && CSS.supports && CSS.supports("color", this.config.color)) {
      this.root.style.setProperty("--cw-accent", this.config.color);
      var onAccent = readableTextOn(this.config.color);
      if (onAccent) {
        this.root.style.setProperty("--cw-on-accent", onAccent);
      }
    }

    this.badge = element("span", { "class": "cw-badge", "data-testid": "chat-unread-badge", "aria-hidden": "true", hidden: true });
    this.launcherIconOpen = icon(ICONS.chat);
    this.launcherIconClose = icon(ICONS.chevronDown);
    this.launcherIconClose.classList.add("cw-hidden-icon");
    this.launcher = element("button", {
      type: "button",
      "class": "cw-launcher",
      "data-testid": "chat-launcher",
      "aria-controls": ids.panel,
      "aria-expanded": "false",
      "aria-label": text.open
    }, [this.launcherIconOpen, this.launcherIconClose, this.badge]);

    this.titleNode = element("h2", { "class": "cw-title", id: ids.title }, [this.config.title]);
    this.closeButton = element("button", {
      type: "button",
      "class": "cw-close",
      "data-testid": "chat-close",
      "aria-label": text.close,
      title: text.close
    }, [icon(ICONS.close)]);
    var header = element("div", { "class": "cw-header" }, [
      element("span", { "class": "cw-avatar", "aria-hidden": "true" }, [icon(ICONS.chat)]),
      this.titleNode,
      this.closeButton
    ]);

    this.statusLine = element("div", {
      "class": "cw-status",
      role: "status",
      "data-testid": "chat-connection-status",
      hidden: true
    });

    this.emptyState = element("p", { "class": "cw-empty" }, [text.greeting]);
    this.log = element("div", {
      "class": "cw-log",
      id: ids.log,
      role: "log",
      "aria-live": "polite",
      "aria-label": text.messages,
      "data-testid": "chat-message-list"
    });
    this.typingIndicator = element("div", { "class": "cw-typing", "data-testid": "chat-typing-indicator", hidden: true }, [
      element("span", { "class": "cw-dots", "aria-hidden": "true" }, [element("span"), element("span"), element("span")]),
      this.typingLabel = element("span", { "class": "cw-typing-label", "data-testid": "chat-typing-label" }, [text.typing])
    ]);
    this.scroller = element("div", { "class": "cw-scroller", tabindex: "0", role: "region", "aria-labelledby": ids.title }, [
      this.emptyState,
      this.log,
      this.typingIndicator
    ]);

    this.notice = element("div", { "class": "cw-notice", role: "status", "data-testid": "chat-notice", hidden: true });

    this.input = element("textarea", {
      "class": "cw-input",
      id: ids.input,
      rows: "1",
      placeholder: text.placeholder,
      "aria-label": text.inputLabel,
      "aria-describedby": ids.counter,
      "data-testid": "chat-input",
      autocomplete: "off"
    });
    this.counter = element("span", { "class": "cw-counter", id: ids.counter, "aria-live": "polite", "data-testid": "chat-counter" });
    this.sendButton = element("button", {
      type: "submit",
      "class": "cw-send",
      "data-testid": "chat-send",
      "aria-label": text.send,
      title: text.send
    }, [icon(ICONS.send)]);
    this.form = element("form", { "class": "cw-composer", novalidate: true }, [
      this.input,
      this.sendButton,
      this.counter
    ]);

    this.panel = element("div", {
      "class": "cw-panel",
      id: ids.panel,
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": ids.title,
      "data-testid": "chat-panel",
      hidden: true
    }, [header, this.statusLine, this.scroller, this.buildHandoff(), this.notice, this.form]);

    this.root.appendChild(this.panel);
    this.root.appendChild(this.launcher);
    document.body.appendChild(this.root);
    this.loadStylesheet();
  };

  ChatWidget.prototype.loadStylesheet = function () {
    var root = this.root;
    var reveal = function () { root.style.visibility = ""; };
    var existing = Array.prototype.some.call(document.querySelectorAll("link[rel~=stylesheet]"), function (link) {
      return link.href === this.config.cssUrl;
    }, this);
    if (existing) {
      reveal();
      return;
    }
    var link = element("link", { rel: "stylesheet", href: this.config.cssUrl, "data-chat-widget-css": true });
    link.addEventListener("load", reveal);
    link.addEventListener("error", reveal);
    document.head.appendChild(link);
  };

  ChatWidget.prototype.bindEvents = function () {
    var widget = this;
    this.launcher.addEventListener("click", function () { widget.toggle(); });
    this.closeButton.addEventListener("click", function () { widget.close(); });
    this.root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && widget.isOpen && !event.defaultPrevented) {
        event.preventDefault();
        widget.close();
      }
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      widget.submit();
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        widget.submit();
      }
    });
    this.input.addEventListener("input", function () {
      widget.autosizeInput();
      widget.updateComposer();
      widget.noteLocalTyping();
    });
    this.bindHandoffEvents();
    window.addEventListener("online", function () {
      widget.updateStatus();
      if (widget.connectionState === "waiting") {
        widget.reconnectAttempt = 0;
        widget.connectNow();
      }
    });
    window.addEventListener("offline", function () { widget.updateStatus(); });
    window.addEventListener("storage", function (event) {
      if (event.key !== widget.config.storageKey) {
        return;
      }
      if (event.newValue) {
        // Another tab started a conversation: follow it here too, for the unread badge.
        widget.connect();
      } else if (widget.connectionState !== "idle") {
        // Another tab forgot the token (a logout, a refused token): this one must not go on
        // showing that conversation.
        widget.identity = null;
        widget.startAfresh(false);
      }
    });
  };

  // ---------------------------------------------------------------- open / close

  ChatWidget.prototype.open = function (options) {
    var moveFocus = !options || options.moveFocus !== false;
    if (!this.isOpen) {
      this.isOpen = true;
      this.panel.hidden = false;
      this.root.classList.add("cw-is-open");
      this.launcher.setAttribute("aria-expanded", "true");
      this.launcherIconOpen.classList.add("cw-hidden-icon");
      this.launcherIconClose.classList.remove("cw-hidden-icon");
      this.session.setItem(this.config.openStateKey, "1");
      this.setUnread(0);
      this.scrollToBottom();
      this.connect();
      this.emit("open", {});
    }
    if (moveFocus) {
      this.input.focus();
    }
  };

  ChatWidget.prototype.close = function () {
    if (!this.isOpen) {
      return;
    }
    this.isOpen = false;
    this.panel.hidden = true;
    this.root.classList.remove("cw-is-open");
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcherIconOpen.classList.remove("cw-hidden-icon");
    this.launcherIconClose.classList.add("cw-hidden-icon");
    this.session.removeItem(this.config.openStateKey);
    this.updateLauncherLabel();
    this.launcher.focus();
    this.emit("close", {});
  };

  ChatWidget.prototype.toggle = function () {
    if (this.isOpen) {
      this.close();
    } else {
      this.open();
    }
  };

  ChatWidget.prototype.setUnread = function (count) {
    this.unreadCount = count;
    this.badge.textContent = count > 99 ? "99+" : String(count);
    this.badge.hidden = count === 0;
    this.updateLauncherLabel();
  };

  ChatWidget.prototype.updateLauncherLabel = function () {
    var label = this.isOpen ? this.text.close : this.text.open;
    if (!this.isOpen && this.unreadCount > 0) {
      label += ", " + plural(this.text.unread, this.unreadCount);
    }
    this.launcher.setAttribute("aria-label", label);
  };

  // ---------------------------------------------------------------- connection

  ChatWidget.prototype.connect = function () {
    if (this.connectionState === "idle") {
      this.connectNow();
    }
  };

  ChatWidget.prototype.connectNow = function () {
    var widget = this;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.socketGeneration += 1;
    var generation = this.socketGeneration;
    var socket;
    try {
      socket = new WebSocket(this.config.socketUrl);
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.setConnectionState("connecting");
    socket.addEventListener("open", function () {
      if (generation === widget.socketGeneration) {
        widget.onSocketOpen();
      }
    });
    socket.addEventListener("message", function (event) {
      if (generation === widget.socketGeneration) {
        widget.onSocketMessage(event);
      }
    });
    socket.addEventListener("close", function (event) {
      if (generation === widget.socketGeneration) {
        widget.onSocketClose(event);
      }
    });
  };

  ChatWidget.prototype.setConnectionState = function (state) {
    this.connectionState = state;
    this.updateStatus();
    this.updateComposer();
    this.renderHandoff();
  };

  ChatWidget.prototype.updateStatus = function () {
    var message = "";
    if (navigator.onLine === false && this.connectionState !== "ready") {
      message = this.text.offline;
    } else if (this.connectionState === "connecting" || this.connectionState === "handshaking" || this.connectionState === "waiting") {
      message = this.hasConnectedBefore ? this.text.reconnecting : this.text.connecting;
    }
    this.statusLine.textContent = message;
    this.statusLine.hidden = message === "";
    this.root.setAttribute("data-connection", this.connectionState);
  };

  ChatWidget.prototype.onSocketOpen = function () {
    this.setConnectionState("handshaking");
    this.lastFrameAt = Date.now();
    this.startHeartbeat();
    var hello = { type: "hello", token: this.storage.getItem(this.config.storageKey), last_seq: this.highestSeq };
    if (this.identity) {
      hello.identity = this.identity;
    }
    this.sendFrame(hello);
  };

  ChatWidget.prototype.onSocketClose = function (event) {
    this.releaseSocket();
    if (event.code === 4401) {
      this.startOver();
    }
    if (event.code === 4402) {
      this.refuseIdentity();
    }
    if (event.code === 1013 && this.busyRetryAfter) {
      this.scheduleReconnect(this.busyRetryAfter * 1000);
      this.busyRetryAfter = null;
      return;
    }
    this.scheduleReconnect();
  };

  /** Forget the socket and what was in flight on it; the server repeats what still matters. */
  ChatWidget.prototype.releaseSocket = function () {
    this.socket = null;
    this.stopHeartbeat();
    this.dropStreams();
    this.setRemoteTyping(false);
    this.localTypingSent = false;
    this.isResumeInFlight = false;
    this.forgetHandoffFramesInFlight();
    this.forgetRatingsInFlight();
  };

  /** Show the conversation again from its first event, on a new socket if one was in use. */
  ChatWidget.prototype.startAfresh = function (isKeepingUnsent) {
    var isActive = this.connectionState !== "idle";
    if (this.socket) {
      var socket = this.socket;
      this.socketGeneration += 1; // Whatever the old socket still says is ignored.
      socket.close(1000);
    }
    this.releaseSocket();
    this.resetConversationView(isKeepingUnsent);
    if (isActive) {
      this.reconnectAttempt = 0;
      this.connectNow();
    }
  };

  ChatWidget.prototype.scheduleReconnect = function (atLeastMs) {
    var widget = this;
    this.setConnectionState("waiting");
    var ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * Math.pow(2, this.reconnectAttempt));
    var delay = ceiling / 2 + Math.random() * ceiling / 2; // "Equal jitter": never a thundering herd.
    // A busy server says when to come back; the server already spread that time.
    delay = Math.max(delay, atLeastMs || 0);
    this.reconnectAttempt += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(function () { widget.connectNow(); }, delay);
  };

  ChatWidget.prototype.startOver = function () {
    // The token was refused: the old conversation is out of reach, so begin a new one.
    this.storage.removeItem(this.config.storageKey);
    this.reconnectAttempt = 0;
    this.resetConversationView(true);
    this.showNotice(this.text.sessionExpired);
  };

  /** Empty the log for a conversation replayed from its start; unsent messages stay if kept. */
  ChatWidget.prototype.resetConversationView = function (isKeepingUnsent) {
    this.highestSeq = 0;
    this.isInitialReplay = true;
    this.isResumeNeeded = false;
    this.customer = null;
    this.clearQuickReplies();
    var rows = this.log.querySelectorAll(isKeepingUnsent ? "[data-committed]" : ".cw-row");
    Array.prototype.slice.call(rows).forEach(function (row) {
      row.parentNode.removeChild(row);
    });
    this.answerRatings.clear();
    if (isKeepingUnsent) {
      // Sent again after the next hello, with the same client_id: stored once wherever it lands.
      this.pending.forEach(function (entry) { entry.ackedSeq = null; });
    } else {
      this.pending.clear();
    }
    this.setUnread(0);
    this.updateEmptyState();
    this.resetHandoff();
  };

  // ---------------------------------------------------------------- identified customers

  /** Chat as the customer the page's backend signed for; the server checks the signature. */
  ChatWidget.prototype.identify = function (identity) {
    var copy = copyIdentity(identity);
    if (!copy) {
      return false;
    }
    var isSameCustomer = this.customer !== null && this.customer.user_id === copy.user_id;
    this.identity = copy;
    this.refusedUserId = null;
    if (!isSameCustomer) {
      // Their conversation may be another one than this browser's: replay it from the start.
      this.startAfresh(true);
    }
    // Otherwise the socket is theirs already; the fresher signature serves the next hello.
    return true;
  };

  /** Forget the customer and the token: the next connection starts a new, anonymous chat. */
  ChatWidget.prototype.logout = function () {
    this.identity = null;
    this.refusedUserId = null;
    this.storage.removeItem(this.config.storageKey);
    // Unsent messages are the customer's too: they must not go to whoever chats next.
    this.startAfresh(false);
  };

  ChatWidget.prototype.refuseIdentity = function () {
    // Dropped, never sent again: the same signature would be refused again, in a loop. The
    // browser goes on with what it had before (a guest's token, or none).
    this.refusedUserId = this.identity ? String(this.identity.user_id) : "";
    this.identity = null;
    this.reconnectAttempt = 0;
    this.showNotice(this.text.identityRefused);
    this.emit("identity_refused", { code: "invalid_identity", message: this.identityRefusal });
    this.identityRefusal = "";
  };

  /** Take the welcome's identity; return false when the token turned out not to be usable. */
  ChatWidget.prototype.acceptCustomer = function (identity) {
    var customer = identity && typeof identity === "object" && typeof identity.user_id === "string" ?
      { user_id: identity.user_id, name: typeof identity.name === "string" ? identity.name : "" } : null;
    var refusedUserId = this.refusedUserId;
    this.refusedUserId = null;
    if (customer && refusedUserId !== null && customer.user_id !== refusedUserId) {
      // The page's user could not be confirmed, and the token kept here is another
      // customer's (a shared computer): their conversation is not for this user.
      this.storage.removeItem(this.config.storageKey);
      this.startAfresh(true);
      return false;
    }
    var previous = this.customer;
    this.customer = customer;
    if (customer && (!previous || previous.user_id !== customer.user_id)) {
      this.emit("identified", { user_id: customer.user_id, name: customer.name });
    }
    return true;
  };

  ChatWidget.prototype.startHeartbeat = function () {
    var widget = this;
    this.stopHeartbeat();
    this.pingTimer = setInterval(function () {
      if (Date.now() - widget.lastFrameAt > SILENCE_LIMIT_MS && widget.socket) {
        widget.socket.close(4000, "silent");
        return;
      }
      widget.sendFrame({ type: "ping" });
    }, PING_INTERVAL_MS);
  };

  ChatWidget.prototype.stopHeartbeat = function () {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
  };

  ChatWidget.prototype.sendFrame = function (frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.socket.send(JSON.stringify(frame));
    return true;
  };

  ChatWidget.prototype.onSocketMessage = function (event) {
    this.lastFrameAt = Date.now();
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!frame || typeof frame.type !== "string") {
      return;
    }
    var handler = this.handlers[frame.type];
    if (handler) {
      handler.call(this, frame);
    }
  };

  ChatWidget.prototype.handlers = {
    welcome: function (frame) {
      if (!this.acceptCustomer(frame.identity)) {
        return;
      }
      if (typeof frame.token === "string" && frame.token) {
        this.storage.setItem(this.config.storageKey, frame.token);
      }
      this.conversationId = typeof frame.conversation_id === "string" ? frame.conversation_id : null;
      this.replayedUpTo = typeof frame.last_seq === "number" ? frame.last_seq : 0;
      var limits = frame.limits || {};
      if (typeof limits.max_message_chars === "number" && limits.max_message_chars > 0) {
        this.maxMessageChars = limits.max_message_chars;
      }
      this.hasConnectedBefore = true;
      this.reconnectAttempt = 0;
      this.handoffResendUntil = Date.now() + HANDOFF_RESEND_WINDOW_MS;
      this.setConnectionState("replaying");
    },
    synced: function () {
      var wasReplaying = this.connectionState === "replaying";
      this.isResumeInFlight = false;
      this.isInitialReplay = false;
      if (wasReplaying) {
        this.setConnectionState("ready");
        this.sendPendingMessages();
        this.emit("connected", { conversation_id: this.conversationId, identity: this.customer });
      }
      if (this.isResumeNeeded) {
        this.requestResume();
      }
    },
    event: function (frame) {
      this.receiveEvent(frame, null);
    },
    ack: function (frame) {
      this.receiveAck(frame);
    },
    stream_start: function (frame) {
      this.startStream(frame);
    },
    stream_delta: function (frame) {
      var stream = this.streams.get(frame.stream_id);
      if (stream && typeof frame.text === "string" && frame.text) {
        var stickToBottom = this.isNearBottom();
        stream.bubble.appendChild(document.createTextNode(frame.text));
        this.afterRender(stickToBottom);
      }
    },
    stream_replace: function (frame) {
      // The streamed words could not stand; the grounded answer takes their place.
      var stream = this.streams.get(frame.stream_id);
      if (stream && typeof frame.text === "string") {
        var stickToBottom = this.isNearBottom();
        stream.bubble.textContent = frame.text;
        this.afterRender(stickToBottom);
      }
    },
    stream_end: function (frame) {
      this.endStream(frame);
    },
    typing: function (frame) {
      if (frame.author !== "visitor") {
        this.setRemoteTyping(frame.is_typing === true, frame.author === "agent" ? "agent" : "bot");
      }
    },
    handoff: function (frame) {
      this.receiveHandoff(frame);
    },
    feedback_saved: function (frame) {
      this.receiveRatingSaved(frame);
    },
    error: function (frame) {
      this.receiveError(frame);
    },
    pong: function () {}
  };

  // ---------------------------------------------------------------- ordering

  ChatWidget.prototype.requestResume = function () {
    if (this.connectionState !== "ready") {
      this.isResumeNeeded = true; // Asked for once the running replay has finished.
      return;
    }
    if (this.isResumeInFlight) {
      return;
    }
    this.isResumeNeeded = false;
    if (this.sendFrame({ type: "resume", last_seq: this.highestSeq })) {
      this.isResumeInFlight = true;
    }
  };

  /** Classify a seq against the highest rendered one: "duplicate", "next" or "gap". */
  ChatWidget.prototype.classifySeq = function (seq) {
    if (typeof seq !== "number" || seq <= this.highestSeq) {
      return "duplicate";
    }
    return seq === this.highestSeq + 1 ? "next" : "gap";
  };

  ChatWidget.prototype.receiveEvent = function (event, streamRow) {
    var position = this.classifySeq(event.seq);
    if (position !== "next") {
      if (streamRow) {
        this.removeRow(streamRow);
      }
      if (position === "gap") {
        this.requestResume();
      }
      return;
    }
    this.highestSeq = event.seq;
    this.renderEvent(event, streamRow);
    this.commitAcknowledgedInOrder();
  };

  ChatWidget.prototype.renderEvent = function (event, streamRow) {
    var stickToBottom = this.isNearBottom();
    var entry = event.author === "visitor" && event.client_id ? this.pending.get(event.client_id) : null;
    var row;
    if (entry) {
      this.pending.delete(event.client_id);
      row = entry.row;
      entry.bubble.textContent = event.text;
      this.setDeliveryState(entry, "delivered");
    } else if (streamRow) {
      row = streamRow;
      var bubble = row.querySelector(".cw-bubble");
      bubble.textContent = event.text;
      bubble.removeAttribute("data-streaming");
      bubble.removeAttribute("data-stream-id");
    } else {
      row = this.createRow(event.author, event.kind, event.text, agentNameOf(event));
      if (!row) {
        return; // A system event with nothing to show; its seq still counts.
      }
      if (event.author === "visitor") {
        this.setDeliveryState(this.rowParts(row), "delivered");
      }
    }
    this.commitRow(row, event.seq, event.created_at);
    this.showSources(row, event.data && event.data.sources);
    if (event.author === "visitor") {
      this.showMaskedNotice(row, event.data && event.data.masked);
    }
    if (event.author === "bot" && event.kind === "message") {
      this.showAnswerRating(row, event.seq, event.feedback);
      this.showQuickReplies(row, event.seq, event.data && event.data.quick_replies);
    }
    this.afterRender(stickToBottom || event.author === "visitor");
    if ((event.author === "bot" || event.author === "agent") && event.kind === "message") {
      if (!this.streams.size) {
        this.setRemoteTyping(false);
      }
      if (!this.isOpen && !this.isInitialReplay) {
        this.setUnread(this.unreadCount + 1);
      }
    }
    if (event.kind === "message" && MESSAGE_AUTHORS.indexOf(event.author) !== -1) {
      this.announceMessage(event.seq, event.author, event.text, event.client_id || null, event.created_at || null);
    }
  };

  /** Tell the page about a message now shown in the conversation (committed, with its seq). */
  ChatWidget.prototype.announceMessage = function (seq, author, text, clientId, createdAt) {
    this.emit("message", {
      seq: seq,
      author: author,
      text: typeof text === "string" ? text : "",
      client_id: clientId,
      created_at: createdAt,
      replayed: seq <= this.replayedUpTo // Stored before this connection: history, not news.
    });
  };

  ChatWidget.prototype.commitAcknowledgedInOrder = function () {
    // An ack that arrived ahead of a missing event is rendered once the gap before it is filled.
    var progressed = true;
    while (progressed) {
      progressed = false;
      this.pending.forEach(function (entry, clientId) {
        if (entry.ackedSeq === this.highestSeq + 1) {
          this.pending.delete(clientId);
          this.highestSeq = entry.ackedSeq;
          this.commitRow(entry.row, entry.ackedSeq, null);
          this.announceMessage(entry.ackedSeq, "visitor", entry.text, clientId, null);
          progressed = true;
        }
      }, this);
    }
  };

  ChatWidget.prototype.commitRow = function (row, seq, createdAt) {
    if (this.quickReplies && seq > this.quickReplies.seq) {
      this.clearQuickReplies(); // A newer message has arrived: the suggestions are out of date.
    }
    row.setAttribute("data-committed", "");
    row.querySelector(".cw-bubble").setAttribute("data-seq", String(seq));
    row.classList.remove("cw-is-provisional");
    if (createdAt) {
      var time = row.querySelector("time");
      if (time) {
        time.dateTime = createdAt;
        time.textContent = formatTime(createdAt, this.config.language);
      }
    }
    // Committed rows stay in seq order, ahead of streams and unacknowledged messages.
    var anchor = this.firstProvisionalRow(row);
    this.log.insertBefore(row, anchor);
    this.updateEmptyState();
  };

  ChatWidget.prototype.firstProvisionalRow = function (except) {
    var rows = this.log.querySelectorAll(".cw-is-provisional");
    for (var index = 0; index < rows.length; index += 1) {
      if (rows[index] !== except) {
        return rows[index];
      }
    }
    return null;
  };

  // ---------------------------------------------------------------- streams

  ChatWidget.prototype.startStream = function (frame) {
    if (typeof frame.stream_id !== "string" || this.streams.has(frame.stream_id)) {
      return;
    }
    var stickToBottom = this.isNearBottom();
    this.clearQuickReplies();
    var row = this.createRow(frame.author || "bot", "message", "");
    row.classList.add("cw-is-provisional");
    var bubble = row.querySelector(".cw-bubble");
    bubble.setAttribute("data-streaming", "true");
    bubble.setAttribute("data-stream-id", frame.stream_id);
    // The reply answers a message already committed, so it goes before any still unacknowledged.
    var firstPending = this.log.querySelector(".cw-row[data-pending]");
    this.log.insertBefore(row, firstPending);
    this.streams.set(frame.stream_id, { row: row, bubble: bubble });
    this.log.setAttribute("aria-busy", "true");
    this.updateTypingIndicator();
    this.updateEmptyState();
    this.afterRender(stickToBottom);
  };

  ChatWidget.prototype.endStream = function (frame) {
    var stream = this.streams.get(frame.stream_id);
    if (!stream) {
      if (frame.event) {
        this.receiveEvent(frame.event, null);
      }
      return;
    }
    this.streams.delete(frame.stream_id);
    this.finishStreams();
    if (frame.event && typeof frame.event === "object") {
      this.receiveEvent(frame.event, stream.row);
    } else {
      this.removeRow(stream.row);
    }
  };

  ChatWidget.prototype.dropStreams = function () {
    this.streams.forEach(function (stream) { this.removeRow(stream.row); }, this);
    this.streams.clear();
    this.finishStreams();
  };

  ChatWidget.prototype.finishStreams = function () {
    if (!this.streams.size) {
      this.log.removeAttribute("aria-busy");
    }
    this.updateTypingIndicator();
  };

  // ---------------------------------------------------------------- typing

  ChatWidget.prototype.setRemoteTyping = function (isTyping, author) {
    var widget = this;
    this.remoteTyping = isTyping;
    this.remoteTypingAuthor = isTyping ? author || "bot" : null;
    clearTimeout(this.remoteTypingTimer);
    if (isTyping) {
      // A lost "stopped typing" frame must not leave the dots up for ever.
      this.remoteTypingTimer = setTimeout(function () { widget.setRemoteTyping(false); }, REMOTE_TYPING_TIMEOUT_MS);
    }
    this.updateTypingIndicator();
  };

  ChatWidget.prototype.updateTypingIndicator = function () {
    var stickToBottom = this.isNearBottom();
    var isAgent = this.remoteTyping && this.remoteTypingAuthor === "agent" && this.streams.size === 0;
    // An agent's typing is named ("Anna is typing…"); the bot's dots say "typing…" to screen readers.
    var label = isAgent ? format(this.text.agentTyping, { name: this.handoff.agentName || this.text.agent }) : this.text.typing;
    if (this.typingLabel.textContent !== label) {
      this.typingLabel.textContent = label;
    }
    this.typingIndicator.setAttribute("data-author", isAgent ? "agent" : "bot");
    this.typingIndicator.hidden = !(this.remoteTyping || this.streams.size > 0);
    this.afterRender(stickToBottom);
  };

  ChatWidget.prototype.noteLocalTyping = function () {
    var widget = this;
    if (this.connectionState !== "ready") {
      return;
    }
    var hasText = this.input.value.trim() !== "";
    if (hasText && !this.localTypingSent) {
      this.localTypingSent = this.sendFrame({ type: "typing", is_typing: true });
    }
    clearTimeout(this.localTypingTimer);
    if (this.localTypingSent) {
      this.localTypingTimer = setTimeout(function () { widget.stopLocalTyping(); }, hasText ? TYPING_IDLE_MS : 0);
    }
  };

  ChatWidget.prototype.stopLocalTyping = function () {
    clearTimeout(this.localTypingTimer);
    if (this.localTypingSent) {
      this.localTypingSent = false;
      this.sendFrame({ type: "typing", is_typing: false });
    }
  };

  // ---------------------------------------------------------------- sending

  ChatWidget.prototype.submit = function () {
    var text = this.input.value.trim();
    if (!hasVisibleText(text) || characterCount(text) > this.maxMessageChars) {
      return;
    }
    this.stopLocalTyping();
    this.input.value = "";
    this.autosizeInput();
    this.updateComposer();
    this.sendText(text);
  };

  /** Show the visitor's message at once and send it; it is resent until acknowledged. */
  ChatWidget.prototype.sendText = function (text) {
    this.clearQuickReplies();
    var clientId = randomId();
    var row = this.createRow("visitor", "message", text);
    row.classList.add("cw-is-provisional");
    row.setAttribute("data-pending", "");
    this.log.appendChild(row);
    var entry = this.rowParts(row);
    entry.clientId = clientId;
    entry.text = text;
    entry.ackedSeq = null;
    this.pending.set(clientId, entry);
    this.setDeliveryState(entry, "sending");
    this.updateEmptyState();
    this.afterRender(true);
    this.connect();
    if (this.connectionState === "ready") {
      this.sendMessage(entry);
    }
    return clientId;
  };

  /** The page's send(): the composer's checks, then the same path as a typed message. */
  ChatWidget.prototype.sendFromPage = function (text) {
    var trimmed = typeof text === "string" ? text.trim() : "";
    if (!hasVisibleText(trimmed) || characterCount(trimmed) > this.maxMessageChars) {
      return null;
    }
    return this.sendText(trimmed);
  };

  ChatWidget.prototype.sendMessage = function (entry) {
    this.sendFrame({ type: "message", client_id: entry.clientId, text: entry.text });
  };

  ChatWidget.prototype.sendPendingMessages = function () {
    // Same client_id as before, so a message the server already stored is not stored twice.
    this.pending.forEach(function (entry) {
      if (entry.ackedSeq === null && entry.status.getAttribute("data-state") !== "failed") {
        this.sendMessage(entry);
      }
    }, this);
  };

  ChatWidget.prototype.receiveAck = function (frame) {
    var entry = this.pending.get(frame.client_id);
    if (!entry || typeof frame.seq !== "number") {
      return;
    }
    this.setDeliveryState(entry, "delivered");
    entry.ackedSeq = frame.seq;
    if (Array.isArray(frame.masked) && frame.masked.length && typeof frame.text === "string") {
      // The server stored the message with its personal data hidden: show (and keep) only that.
      entry.text = frame.text;
      entry.bubble.textContent = frame.text;
      this.showMaskedNotice(entry.row, frame.masked);
    }
    var position = this.classifySeq(frame.seq);
    if (position === "next") {
      this.commitAcknowledgedInOrder();
    } else if (position === "duplicate") {
      // Already covered by what was rendered; keep the bubble, drop the bookkeeping.
      this.pending.delete(frame.client_id);
      this.commitRow(entry.row, frame.seq, null);
      this.announceMessage(frame.seq, "visitor", entry.text, frame.client_id, null);
    } else {
      this.requestResume();
    }
  };

  ChatWidget.prototype.rowParts = function (row) {
    return { row: row, bubble: row.querySelector(".cw-bubble"), status: row.querySelector(".cw-delivery") };
  };

  ChatWidget.prototype.setDeliveryState = function (entry, state) {
    var labels = { sending: this.text.sending, delivered: this.text.delivered, failed: this.text.failed };
    entry.status.setAttribute("data-state", state);
    entry.status.textContent = labels[state];
    entry.bubble.setAttribute("data-status", state);
    if (state !== "sending") {
      entry.row.removeAttribute("data-pending");
    }
  };

  ChatWidget.prototype.receiveError = function (frame) {
    if (frame.code === "invalid_identity") {
      // Close 4402 follows; the visitor gets a notice of their own then, not the server's words.
      this.identityRefusal = typeof frame.message === "string" ? frame.message : "";
      return;
    }
    var entry = frame.client_id ? this.pending.get(frame.client_id) : null;
    if (!frame.client_id && this.ratingRefused(frame)) {
      this.showNotice(frame.message || this.text.errorGeneric);
      return;
    }
    if (!frame.client_id && this.handoffFrameRefused(frame)) {
      return; // Shown next to the handoff control it concerns.
    }
    var message;
    if (frame.code === "busy" && !frame.client_id) {
      // The server refused this connection before admitting it: come back when it says.
      this.busyRetryAfter = frame.retry_after;
      message = this.text.busy;
    } else if (frame.code === "rate_limited" || frame.code === "busy") {
      // Not stored: the message stays in the log, provisional, and is sent again.
      message = frame.code === "busy" ? this.text.busy : this.text.rateLimited;
      if (entry) {
        this.retryLater(entry, frame.retry_after);
      }
    } else if (frame.code === "message_too_long") {
      message = frame.message || this.text.errorGeneric;
      this.failMessage(entry);
    } else {
      message = frame.message || this.text.errorGeneric;
      if (entry) {
        this.failMessage(entry);
      }
    }
    this.showNotice(message);
  };

  ChatWidget.prototype.retryLater = function (entry, retryAfterSeconds) {
    var widget = this;
    var delay = Math.max(1, Number(retryAfterSeconds) || 2) * 1000;
    setTimeout(function () {
      if (widget.pending.get(entry.clientId) === entry && entry.ackedSeq === null && widget.connectionState === "ready") {
        widget.sendMessage(entry);
      }
    }, delay);
  };

  ChatWidget.prototype.failMessage = function (entry) {
    if (!entry) {
      return;
    }
    this.pending.delete(entry.clientId);
    entry.row.classList.remove("cw-is-provisional");
    entry.row.classList.add("cw-is-failed");
    this.setDeliveryState(entry, "failed");
  };

  ChatWidget.prototype.showNotice = function (message) {
    var widget = this;
    this.notice.textContent = message;
    this.notice.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(function () {
      widget.notice.hidden = true;
      widget.notice.textContent = "";
    }, NOTICE_MS);
  };

  // ---------------------------------------------------------------- composer

  ChatWidget.prototype.updateComposer = function () {
    var length = characterCount(this.input.value.trim());
    var overBy = length - this.maxMessageChars;
    var isNearLimit = length >= this.maxMessageChars * 0.8;
    this.counter.hidden = !isNearLimit;
    this.counter.textContent = isNearLimit ? format(this.text.counter, { n: length, max: this.maxMessageChars }) : "";
    if (overBy > 0) {
      this.counter.textContent += " — " + format(this.text.tooLong, { n: overBy });
    }
    this.counter.classList.toggle("cw-is-over", overBy > 0);
    this.input.setAttribute("aria-invalid", overBy > 0 ? "true" : "false");
    this.sendButton.disabled = !hasVisibleText(this.input.value) || overBy > 0;
  };

  ChatWidget.prototype.autosizeInput = function () {
    this.input.style.height = "auto";
    this.input.style.height = Math.min(this.input.scrollHeight, 140) + "px";
  };

  // ---------------------------------------------------------------- rendering

  ChatWidget.prototype.createRow = function (author, kind, text, authorName) {
    var authorLabels = { visitor: this.text.you, bot: this.text.bot, agent: this.text.agent, system: this.text.system };
    var safeAuthor = Object.prototype.hasOwnProperty.call(authorLabels, author) ? author : "system";
    var isMessage = kind === "message" && safeAuthor !== "system";
    if (!isMessage && !text) {
      return null;
    }
    var bubble = element("div", {
      "class": "cw-bubble",
      "data-testid": "chat-message",
      "data-author": safeAuthor,
      "data-kind": kind,
      "data-seq": ""
    });
    bubble.textContent = text; // Plain text, always.
    var meta = element("div", { "class": "cw-meta" });
    if (safeAuthor === "agent") {
      // The agent's own name where the event carries it, as text like everything else.
      authorLabels.agent = authorName || authorLabels.agent;
      meta.appendChild(element("span", { "class": "cw-author", "data-testid": "chat-message-author" }, [authorLabels.agent]));
    }
    meta.appendChild(element("time", {}, [formatTime(null, this.config.language)]));
    if (safeAuthor === "visitor") {
      meta.appendChild(element("span", { "class": "cw-delivery", "data-testid": "chat-delivery" }));
    }
    var row = element("div", {
      "class": "cw-row cw-from-" + safeAuthor + (isMessage ? "" : " cw-is-note"),
      role: "group",
      "aria-label": authorLabels[safeAuthor]
    }, [bubble, meta]);
    return row;
  };

  ChatWidget.prototype.showSources = function (row, sources) {
    // The knowledge nodes a bot answer was built from, so a visitor can see what it rests on.
    if (!Array.isArray(sources) || !sources.length || row.querySelector(".cw-sources")) {
      return;
    }
    var labels = sources.map(function (source) { return String(source && source.label || ""); })
      .filter(function (label) { return label; });
    if (labels.length) {
      row.appendChild(element("div", { "class": "cw-sources", "data-testid": "chat-sources" },
        [this.text.sources + ": " + labels.join(" · ")]));
    }
  };

  ChatWidget.prototype.showMaskedNotice = function (row, kinds) {
    // Personal data the server hid in the visitor's message: say what, and not to share it.
    if (!Array.isArray(kinds) || !kinds.length || row.querySelector(".cw-masked-notice")) {
      return;
    }
    var names = this.text.maskedKinds;
    var named = kinds.map(function (kind) { return names[kind]; })
      .filter(function (name) { return typeof name === "string"; });
    if (!named.length) {
      return;
    }
    var what = named.length === 1 ? named[0]
      : named.slice(0, -1).join(", ") + this.text.maskedAnd + named[named.length - 1];
    row.appendChild(element("div", {
      "class": "cw-masked-notice", "data-testid": "chat-masked-notice", role: "note"
    }, [this.text.masked.replace("{what}", what)]));
  };

  ChatWidget.prototype.removeRow = function (row) {
    if (row && row.parentNode) {
      row.parentNode.removeChild(row);
    }
    this.updateEmptyState();
  };

  ChatWidget.prototype.updateEmptyState = function () {
    this.emptyState.hidden = this.log.firstChild !== null;
  };

  ChatWidget.prototype.isNearBottom = function () {
    var scroller = this.scroller;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
  };

  ChatWidget.prototype.afterRender = function (stickToBottom) {
    if (stickToBottom) {
      this.scrollToBottom();
    }
  };

  ChatWidget.prototype.scrollToBottom = function () {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  };

  // ---------------------------------------------------------------- quick replies

  ChatWidget.prototype.showQuickReplies = function (row, seq, replies) {
    // Buttons for what the visitor may want to say next; each sends its text as a message.
    if (!Array.isArray(replies)) {
      return;
    }
    var widget = this;
    var buttons = replies.filter(function (reply) {
      return reply && typeof reply.label === "string" && reply.label.trim() &&
        typeof reply.text === "string" && reply.text.trim() &&
        characterCount(reply.text.trim()) <= widget.maxMessageChars;
    }).slice(0, QUICK_REPLIES_MAX).map(function (reply) {
      var button = element("button", { type: "button", "class": "cw-quick-reply", "data-testid": "quick-reply" }, [
        reply.label.trim()
      ]);
      button.addEventListener("click", function () { widget.useQuickReply(reply.text.trim()); });
      return button;
    });
    if (!buttons.length) {
      return;
    }
    this.clearQuickReplies();
    var group = element("div", {
      "class": "cw-quick-replies",
      role: "group",
      "aria-label": this.text.quickReplies,
      "data-testid": "quick-replies"
    }, buttons);
    row.appendChild(group);
    this.quickReplies = { seq: seq, group: group };
  };

  ChatWidget.prototype.useQuickReply = function (text) {
    this.sendText(text); // Exactly as if typed: the same pending, ack and resend path.
    this.input.focus();
  };

  ChatWidget.prototype.clearQuickReplies = function () {
    if (!this.quickReplies) {
      return;
    }
    var group = this.quickReplies.group;
    var hadFocus = group.contains(document.activeElement);
    this.quickReplies = null;
    if (group.parentNode) {
      group.parentNode.removeChild(group);
    }
    if (hadFocus && this.isOpen) {
      this.input.focus(); // The focused button went away; the keyboard goes on from the input.
    }
  };

  // ---------------------------------------------------------------- rating an answer

  ChatWidget.prototype.showAnswerRating = function (row, seq, savedRating) {
    if (typeof seq !== "number" || row.querySelector(".cw-feedback")) {
      return;
    }
    var widget = this;
    var text = this.text;
    var thumb = function (rating, label, iconPath) {
      var button = element("button", {
        type: "button",
        "class": "cw-thumb",
        "data-rating": rating,
        "data-testid": "feedback-" + rating,
        "aria-label": label,
        "aria-pressed": "false",
        title: label
      }, [icon(iconPath)]);
      button.addEventListener("click", function () { widget.rateAnswer(seq, rating); });
      return button;
    };
    var rating = {
      saved: ANSWER_RATINGS.indexOf(savedRating) === -1 ? null : savedRating, // As the server keeps it.
      wanted: null, // Sent, not yet confirmed.
      up: thumb("up", text.feedbackUp, ICONS.thumbUp),
      down: thumb("down", text.feedbackDown, ICONS.thumbDown)
    };
    rating.group = element("div", {
      "class": "cw-feedback",
      role: "group",
      "aria-label": text.feedbackQuestion,
      "data-testid": "feedback"
    }, [rating.up, rating.down]);
    row.querySelector(".cw-meta").appendChild(rating.group);
    this.answerRatings.set(seq, rating);
    this.renderAnswerRating(rating);
  };

  ChatWidget.prototype.rateAnswer = function (seq, value) {
    var rating = this.answerRatings.get(seq);
    if (!rating || (rating.wanted || rating.saved) === value) {
      return; // Already so: a rating can be changed, not withdrawn.
    }
    if (!this.sendFrame({ type: "feedback", seq: seq, rating: value })) {
      this.showNotice(this.text.reconnecting);
      return;
    }
    rating.wanted = value;
    this.renderAnswerRating(rating);
  };

  ChatWidget.prototype.receiveRatingSaved = function (frame) {
    var rating = this.answerRatings.get(frame.seq);
    if (!rating || ANSWER_RATINGS.indexOf(frame.rating) === -1) {
      return;
    }
    rating.saved = frame.rating;
    if (rating.wanted === frame.rating) {
      rating.wanted = null;
    }
    this.renderAnswerRating(rating);
  };

  ChatWidget.prototype.ratingRefused = function (frame) {
    // An error naming a rated answer's seq answers its rating: show the saved one again.
    var rating = typeof frame.seq === "number" ? this.answerRatings.get(frame.seq) : null;
    if (rating) {
      rating.wanted = null;
      this.renderAnswerRating(rating);
      return true;
    }
    if (frame.code === "rate_limited") {
      this.forgetRatingsInFlight(); // A refused flood names no frame; none of them was kept.
    }
    return false;
  };

  ChatWidget.prototype.forgetRatingsInFlight = function () {
    this.answerRatings.forEach(function (rating) {
      if (rating.wanted !== null) {
        rating.wanted = null;
        this.renderAnswerRating(rating);
      }
    }, this);
  };

  ChatWidget.prototype.renderAnswerRating = function (rating) {
    var shown = rating.wanted || rating.saved;
    rating.up.setAttribute("aria-pressed", shown === "up" ? "true" : "false");
    rating.down.setAttribute("aria-pressed", shown === "down" ? "true" : "false");
    rating.group.setAttribute("data-saved", rating.saved || "");
    rating.group.toggleAttribute("data-saving", rating.wanted !== null);
  };

  // ---------------------------------------------------------------- handoff to a person

  ChatWidget.prototype.buildHandoff = function () {
    var text = this.text;
    var ids = {
      leaveText: "chat-widget-leave-text",
      leaveContact: "chat-widget-leave-contact",
      leaveError: "chat-widget-leave-error"
    };

    this.handoffTitle = element("span", { "class": "cw-handoff-title", "data-testid": "chat-handoff-title" });
    this.handoffDetail = element("span", { "class": "cw-handoff-detail", "data-testid": "chat-handoff-detail" });
    // Never hidden, only empty, so that screen readers hear every change of its text.
    this.handoffStatus = element("div", { "class": "cw-handoff-status", role: "status", "data-testid": "chat-handoff-status" }, [
      this.handoffTitle, " ", this.handoffDetail
    ]);
    this.handoffCancel = element("button", {
      type: "button",
      "class": "cw-handoff-button",
      "data-testid": "chat-handoff-cancel",
      hidden: true
    }, [text.cancelHandoff]);
    this.handoffDismiss = element("button", {
      type: "button",
      "class": "cw-handoff-dismiss",
      "data-testid": "chat-handoff-dismiss",
      "aria-label": text.dismiss,
      title: text.dismiss,
      hidden: true
    }, [icon(ICONS.close)]);
    this.handoffStrip = element("div", { "class": "cw-handoff-strip", "data-testid": "chat-handoff-strip", "data-state": "none" }, [
      this.handoffStatus,
      this.handoffDismiss,
      this.handoffCancel
    ]);

    // A small card under the conversation, which stays in view above it: the labels are read
    // out but not drawn, the fields say what they are for until the visitor writes in them.
    this.leaveText = element("textarea", {
      "class": "cw-field",
      id: ids.leaveText,
      rows: "1", // Grows with what is written (autosizeLeaveText).
      placeholder: text.leaveMessageLabel,
      "aria-describedby": ids.leaveError,
      "data-testid": "chat-leave-message-text"
    });
    this.leaveContact = element("input", {
      type: "text",
      "class": "cw-field",
      id: ids.leaveContact,
      maxlength: String(CONTACT_MAX_CHARS),
      placeholder: text.contactLabel,
      "data-testid": "chat-leave-message-contact"
    });
    this.leaveError = element("p", { "class": "cw-field-error", id: ids.leaveError, "aria-live": "assertive", "data-testid": "chat-leave-message-error" });
    this.leaveSend = element("button", { type: "submit", "class": "cw-handoff-button cw-is-primary", "data-testid": "chat-leave-message-send" }, [text.leaveMessageSend]);
    this.leaveForm = element("form", { "class": "cw-handoff-form cw-leave-message", novalidate: true, "data-testid": "chat-leave-message-form", hidden: true }, [
      element("label", { "class": "cw-visually-hidden", "for": ids.leaveText }, [text.leaveMessageLabel]),
      this.leaveText,
      this.leaveError,
      element("div", { "class": "cw-leave-message-row" }, [
        element("label", { "class": "cw-visually-hidden", "for": ids.leaveContact }, [text.contactLabel]),
        this.leaveContact,
        this.leaveSend
      ])
    ]);

    // Radio buttons, one per star: Tab reaches the group, the arrow keys choose, a button sends.
    this.ratingInputs = [];
    this.ratingStars = [];
    this.ratingPreview = 0;
    for (var score = 1; score <= RATING_MAX; score += 1) {
      var input = element("input", {
        type: "radio",
        name: "cw-rating",
        value: String(score),
        "aria-label": plural(text.rateStars, score),
        "data-testid": "chat-rating-" + score
      });
      var star = element("label", { "class": "cw-star", "data-score": String(score), title: plural(text.rateStars, score) }, [
        input,
        icon(ICONS.star)
      ]);
      this.ratingInputs.push(input);
      this.ratingStars.push(star);
    }
    this.ratingSend = element("button", { type: "submit", "class": "cw-handoff-button cw-is-primary", "data-testid": "chat-rating-send" }, [text.rateSend]);
    this.ratingForm = element("form", { "class": "cw-handoff-form cw-rating", novalidate: true, "data-testid": "chat-rating", hidden: true }, [
      element("fieldset", {}, [
        element("legend", {}, [text.rateQuestion]),
        element("div", { "class": "cw-stars" }, this.ratingStars)
      ]),
      this.ratingSend
    ]);

    this.handoffRequest = element("button", {
      type: "button",
      "class": "cw-handoff-request",
      "data-testid": "chat-handoff-request"
    }, [icon(ICONS.person), element("span", {}, [text.talkToPerson])]);

    this.handoffArea = element("div", { "class": "cw-handoff", "data-testid": "chat-handoff", "data-handoff": "none" }, [
      this.handoffStrip,
      this.leaveForm,
      this.ratingForm,
      this.handoffRequest
    ]);
    return this.handoffArea;
  };

  ChatWidget.prototype.bindHandoffEvents = function () {
    var widget = this;
    this.handoffRequest.addEventListener("click", function () { widget.requestHandoff(); });
    this.handoffCancel.addEventListener("click", function () { widget.cancelHandoff(); });
    this.handoffDismiss.addEventListener("click", function () { widget.dismissHandoff(); });
    this.leaveForm.addEventListener("submit", function (event) {
      event.preventDefault();
      widget.leaveMessage();
    });
    this.leaveText.addEventListener("input", function () {
      widget.checkLeaveMessage(false);
      widget.autosizeLeaveText();
    });
    this.ratingForm.addEventListener("submit", function (event) {
      event.preventDefault();
      widget.sendRating();
    });
    this.ratingForm.addEventListener("change", function () { widget.renderHandoff(); });
    this.ratingStars.forEach(function (star) {
      star.addEventListener("pointerenter", function () {
        widget.ratingPreview = Number(star.getAttribute("data-score"));
        widget.renderStars();
      });
    });
    this.ratingForm.addEventListener("pointerleave", function () {
      widget.ratingPreview = 0;
      widget.renderStars();
    });
  };

  ChatWidget.prototype.requestHandoff = function () {
    var widget = this;
    var handoff = this.handoff;
    if (handoff.isRequesting || this.connectionState !== "ready" || !this.sendFrame({ type: "handoff_request" })) {
      return;
    }
    handoff.isRequesting = true;
    this.handoffResendUntil = 0; // What comes now answers this request; it repeats nothing.
    clearTimeout(this.handoffRequestTimer);
    this.handoffRequestTimer = setTimeout(function () {
      // No answer at all (a server without handoff): offer the button again.
      widget.handoff.isRequesting = false;
      widget.renderHandoff();
    }, HANDOFF_REQUEST_TIMEOUT_MS);
    this.renderHandoff();
  };

  ChatWidget.prototype.cancelHandoff = function () {
    var handoff = this.handoff;
    if (handoff.status !== "waiting" || handoff.isCancelling || this.connectionState !== "ready") {
      return;
    }
    if (this.sendFrame({ type: "handoff_cancel" })) {
      handoff.isCancelling = true; // Until the server answers with status "bot".
      this.renderHandoff();
    }
  };

  ChatWidget.prototype.dismissHandoff = function () {
    this.handoff.isDismissed = true;
    this.handoff.isNoteShown = false;
    this.renderHandoff();
  };

  ChatWidget.prototype.checkLeaveMessage = function (isSubmitting) {
    var length = characterCount(this.leaveText.value.trim());
    var problem = "";
    if (length > LEAVE_MESSAGE_MAX_CHARS) {
      problem = format(this.text.tooLong, { n: length - LEAVE_MESSAGE_MAX_CHARS });
    } else if (length === 0 && isSubmitting) {
      problem = this.text.leaveMessageEmpty;
    }
    this.setLeaveError(problem);
    if (problem && isSubmitting) {
      this.leaveText.focus();
    }
    return problem === "";
  };

  ChatWidget.prototype.setLeaveError = function (problem) {
    if (this.leaveError.textContent !== problem) {
      this.leaveError.textContent = problem;
    }
    this.leaveText.setAttribute("aria-invalid", problem ? "true" : "false");
  };

  ChatWidget.prototype.autosizeLeaveText = function () {
    var stickToBottom = this.isNearBottom();
    this.leaveText.style.height = "auto";
    if (this.leaveText.value) {
      // scrollHeight leaves out the field's 1px borders.
      this.leaveText.style.height = Math.min(this.leaveText.scrollHeight + 2, LEAVE_TEXT_MAX_HEIGHT_PX) + "px";
    }
    this.afterRender(stickToBottom);
  };

  ChatWidget.prototype.leaveMessage = function () {
    var handoff = this.handoff;
    if (handoff.isLeavingMessage || !this.checkLeaveMessage(true)) {
      return;
    }
    var frame = {
      type: "leave_message",
      text: this.leaveText.value.trim(),
      contact: this.leaveContact.value.trim()
    };
    if (!this.sendFrame(frame)) {
      this.setLeaveError(this.text.reconnecting);
      return;
    }
    handoff.isLeavingMessage = true; // Until the server answers with status "message_left".
    this.renderHandoff();
  };

  ChatWidget.prototype.selectedRating = function () {
    for (var index = 0; index < this.ratingInputs.length; index += 1) {
      if (this.ratingInputs[index].checked) {
        return index + 1;
      }
    }
    return 0;
  };

  ChatWidget.prototype.sendRating = function () {
    var handoff = this.handoff;
    var score = this.selectedRating();
    if (handoff.isRatingSent || !score) {
      return; // Sent once per closed conversation.
    }
    if (!this.sendFrame({ type: "rate", score: score })) {
      this.showNotice(this.text.reconnecting);
      return;
    }
    handoff.isRatingSent = true; // Until the server answers with status "rated".
    this.renderHandoff();
  };

  ChatWidget.prototype.receiveHandoff = function (frame) {
    var status = frame.status;
    if (HANDOFF_STATUSES.indexOf(status) === -1) {
      return; // A status this widget does not know: nothing changes.
    }
    var handoff = this.handoff;
    var previous = handoff.status;
    // The first status after a (re)connection repeats the current one; applying it again
    // must not undo what the visitor already did (left a message, rated).
    var isResend = this.handoffResendUntil > Date.now();
    this.handoffResendUntil = 0;
    clearTimeout(this.handoffRequestTimer);
    handoff.isRequesting = false;
    handoff.isCancelling = false;

    if (status === "waiting") {
      handoff.position = wholeNumber(frame.position, 1);
      handoff.waitSeconds = wholeNumber(frame.estimated_wait_seconds, 0);
      this.setHandoffStatus(status, false);
    } else if (status === "agent") {
      handoff.agentName = cleanName(frame.agent && typeof frame.agent === "object" ? frame.agent.name : null);
      this.setHandoffStatus(status, false);
    } else if (status === "bot") {
      if (previous === "waiting" || previous === "agent") {
        this.setHandoffStatus(status, true);
      } else if (previous === null) {
        this.setHandoffStatus(status, false);
      }
      // Otherwise the visitor was with the assistant already: a leave-message form or a
      // rating still on show stays until it is used or dismissed.
    } else if (status === "unavailable") {
      if (!(isResend && previous === "message_left")) {
        handoff.why = typeof frame.why === "string" ? frame.why : null;
        handoff.canLeaveMessage = frame.can_leave_message === true;
        this.setHandoffStatus(status, false);
      }
    } else if (status === "closed") {
      if (!(isResend && previous === "rated")) {
        handoff.canRate = frame.can_rate === true;
        this.setHandoffStatus(status, false);
      }
    } else if (status === "message_left") {
      handoff.isLeavingMessage = false;
      this.leaveText.value = "";
      this.leaveContact.value = "";
      this.autosizeLeaveText();
      this.setLeaveError("");
      this.setHandoffStatus(status, previous !== null);
    } else if (status === "rated") {
      handoff.isRatingSent = true;
      handoff.isRatingConfirmed = true;
      this.setHandoffStatus(status, previous !== null);
    }
    this.renderHandoff();
    this.updateTypingIndicator(); // The agent's name may have changed.
    if (handoff.status !== previous) {
      this.emit("handoff", {
        status: handoff.status,
        position: handoff.position,
        estimated_wait_seconds: handoff.waitSeconds,
        agent_name: handoff.agentName
      });
    }
  };

  ChatWidget.prototype.setHandoffStatus = function (status, isNoteShown) {
    var widget = this;
    var handoff = this.handoff;
    if (handoff.status === status) {
      return; // The same status again (a resend, a new position): only its details changed.
    }
    handoff.status = status;
    handoff.isDismissed = false;
    if (status === "closed") {
      handoff.isRatingSent = false;
      handoff.isRatingConfirmed = false;
      this.ratingInputs.forEach(function (input) { input.checked = false; });
    }
    if (status === "unavailable") {
      handoff.isLeavingMessage = false;
    }
    clearTimeout(this.handoffNoteTimer);
    handoff.isNoteShown = isNoteShown;
    if (isNoteShown) {
      this.handoffNoteTimer = setTimeout(function () {
        widget.handoff.isNoteShown = false;
        widget.renderHandoff();
      }, HANDOFF_NOTE_MS);
    }
  };

  ChatWidget.prototype.handoffFrameRefused = function (frame) {
    // An error without a client_id may answer a handoff frame: release what waits for it.
    var handoff = this.handoff;
    var isShownInForm = false;
    if (handoff.isLeavingMessage) {
      handoff.isLeavingMessage = false;
      this.setLeaveError(frame.message || this.text.errorGeneric);
      isShownInForm = !this.leaveForm.hidden;
    }
    if (handoff.isRequesting) {
      clearTimeout(this.handoffRequestTimer);
      handoff.isRequesting = false;
    }
    handoff.isCancelling = false;
    if (!handoff.isRatingConfirmed) {
      handoff.isRatingSent = false;
    }
    this.renderHandoff();
    return isShownInForm;
  };

  ChatWidget.prototype.forgetHandoffFramesInFlight = function () {
    // The socket closed: answers to frames sent on it will not come. The server repeats the
    // current status after the next hello, which settles the rest.
    var handoff = this.handoff;
    clearTimeout(this.handoffRequestTimer);
    handoff.isRequesting = false;
    handoff.isCancelling = false;
    handoff.isLeavingMessage = false;
    if (!handoff.isRatingConfirmed) {
      handoff.isRatingSent = false;
    }
    this.renderHandoff();
  };

  ChatWidget.prototype.resetHandoff = function () {
    clearTimeout(this.handoffNoteTimer);
    clearTimeout(this.handoffRequestTimer);
    this.handoff = freshHandoffState();
    this.leaveText.value = "";
    this.leaveContact.value = "";
    this.autosizeLeaveText();
    this.setLeaveError("");
    this.ratingInputs.forEach(function (input) { input.checked = false; });
    this.renderHandoff();
  };

  ChatWidget.prototype.queueText = function () {
    var handoff = this.handoff;
    var text = this.text;
    var wait = "";
    if (handoff.waitSeconds !== null) {
      wait = handoff.waitSeconds < 60 ? text.waitUnderMinute : format(text.waitMinutes, { n: Math.ceil(handoff.waitSeconds / 60) });
    }
    if (handoff.position !== null) {
      return wait ? format(text.queuePositionAndWait, { n: handoff.position, wait: wait }) : format(text.queuePosition, { n: handoff.position });
    }
    return wait ? format(text.queueWait, { wait: wait }) : "";
  };

  ChatWidget.prototype.unavailableText = function () {
    var reasons = { no_agent_online: this.text.unavailableNoAgent, outside_hours: this.text.unavailableOutsideHours };
    return Object.prototype.hasOwnProperty.call(reasons, this.handoff.why) ? reasons[this.handoff.why] : this.text.unavailableOther;
  };

  /** Draw the handoff controls from this.handoff alone, so that drawing twice changes nothing. */
  ChatWidget.prototype.renderHandoff = function () {
    var handoff = this.handoff;
    var text = this.text;
    var isReady = this.connectionState === "ready";
    var focused = document.activeElement;
    // The controls take their room from the conversation: its newest lines stay in view.
    var stickToBottom = this.isNearBottom();
    var view = { state: "none", title: "", detail: "", cancel: false, dismiss: false, leave: false, rating: false, request: true };

    if (handoff.status === "waiting") {
      view = { state: "waiting", title: text.handoffWaiting, detail: this.queueText(), cancel: true, request: false };
    } else if (handoff.status === "agent") {
      view = {
        state: "agent",
        title: handoff.agentName ? format(text.agentJoined, { name: handoff.agentName }) : text.agentJoinedUnnamed,
        request: false
      };
    } else if (handoff.isRequesting) {
      view = { state: "waiting", title: text.handoffWaiting, request: false };
    } else if (!handoff.isDismissed) {
      if (handoff.status === "bot" && handoff.isNoteShown) {
        view = { state: "bot", title: text.backToBot, request: true };
      } else if (handoff.status === "unavailable") {
        view = {
          state: "unavailable",
          title: this.unavailableText(),
          detail: handoff.canLeaveMessage ? text.leaveMessagePrompt : "",
          leave: handoff.canLeaveMessage,
          dismiss: true,
          request: !handoff.canLeaveMessage
        };
      } else if (handoff.status === "message_left" && handoff.isNoteShown) {
        view = { state: "message_left", title: text.messageLeft, dismiss: true, request: true };
      } else if (handoff.status === "closed") {
        view = { state: "closed", title: text.handoffClosed, rating: handoff.canRate, dismiss: true, request: !handoff.canRate };
      } else if (handoff.status === "rated" && handoff.isNoteShown) {
        view = { state: "rated", title: text.rateThanks, dismiss: true, request: true };
      }
    }

    setTextIfChanged(this.handoffTitle, view.title || "");
    setTextIfChanged(this.handoffDetail, view.detail || "");
    this.handoffStrip.setAttribute("data-state", view.state);
    this.handoffArea.setAttribute("data-handoff", handoff.status || "none");

    this.handoffCancel.hidden = !view.cancel;
    setInert(this.handoffCancel, !isReady || handoff.isCancelling);
    this.handoffDismiss.hidden = !view.dismiss;

    this.leaveForm.hidden = !view.leave;
    this.leaveText.readOnly = handoff.isLeavingMessage;
    this.leaveContact.readOnly = handoff.isLeavingMessage;
    setInert(this.leaveSend, handoff.isLeavingMessage);
    setTextIfChanged(this.leaveSend, handoff.isLeavingMessage ? text.sending : text.leaveMessageSend);

    this.ratingForm.hidden = !view.rating;
    this.ratingInputs.forEach(function (input) { input.disabled = handoff.isRatingSent; });
    setInert(this.ratingSend, handoff.isRatingSent || this.selectedRating() === 0);
    setTextIfChanged(this.ratingSend, handoff.isRatingSent ? text.sending : text.rateSend);
    this.renderStars();

    this.handoffRequest.hidden = !view.request;
    setInert(this.handoffRequest, !isReady);
    this.afterRender(stickToBottom);

    // A control that just vanished or went inert must not take the keyboard focus with it.
    if (focused && focused !== document.body && this.handoffArea.contains(focused) &&
        (focused.disabled || focused.offsetParent === null) && this.isOpen) {
      this.input.focus();
    }
  };

  ChatWidget.prototype.renderStars = function () {
    var shown = this.ratingPreview && !this.handoff.isRatingSent ? this.ratingPreview : this.selectedRating();
    this.ratingStars.forEach(function (star, index) {
      star.toggleAttribute("data-filled", index < shown);
    });
  };

  // ---------------------------------------------------------------- the page's API

  function EventHub() {
    this.handlers = {};
  }

  EventHub.prototype.on = function (name, handler) {
    if (typeof handler !== "function") {
      return;
    }
    if (API_EVENTS.indexOf(name) === -1 && window.console) {
      console.warn("ChatWidget: no event is called " + JSON.stringify(name) + "; known: " + API_EVENTS.join(", "));
    }
    var handlers = this.handlers[name] || (this.handlers[name] = []);
    if (handlers.indexOf(handler) === -1) {
      handlers.push(handler);
    }
  };

  EventHub.prototype.off = function (name, handler) {
    var handlers = this.handlers[name] || [];
    this.handlers[name] = handler === undefined ? [] : handlers.filter(function (known) { return known !== handler; });
  };

  EventHub.prototype.emit = function (name, detail) {
    // A copy: a handler may call off() while the others are still to be called.
    (this.handlers[name] || []).slice().forEach(function (handler) { callHandler(handler, detail); });
  };

  function callHandler(handler, detail) {
    try {
      handler(detail);
    } catch (error) {
      // The page's mistake must not stop the chat; thrown again apart, it still reaches the console.
      setTimeout(function () { throw error; }, 0);
    }
  }

  var events = new EventHub();
  var widget = null;
  var isStarted = false;
  var callsBeforeStart = []; // [name, arguments], run in order once the widget has started.
  var widgetMethods = {
    open: function () { widget.open(); },
    close: function () { widget.close(); },
    identify: function (identity) { return widget.identify(identity); },
    logout: function () { widget.logout(); },
    send: function (text) { return widget.sendFromPage(text); }
  };

  function callApi(name, args) {
    if (name === "on" || name === "off") {
      // Listening needs no widget: a page's handlers are in place before anything happens.
      events[name].apply(events, args);
      if (name === "on" && args[0] === "ready" && isStarted && typeof args[1] === "function") {
        callHandler(args[1], {}); // Too late to hear it: it has happened already.
      }
      return undefined;
    }
    if (!widget) {
      callsBeforeStart.push([name, args]);
      return undefined;
    }
    return widgetMethods[name].apply(null, args);
  }

  function callQueued(call) {
    // One entry of the page's stub queue: [method name, ...arguments].
    if (call && typeof call.length === "number" && API_METHODS.indexOf(call[0]) !== -1) {
      callApi(call[0], Array.prototype.slice.call(call, 1));
    }
  }

  function start() {
    widget = new ChatWidget(readConfig(ownScript), events);
    var calls = callsBeforeStart;
    callsBeforeStart = [];
    calls.forEach(function (call) { callApi(call[0], call[1]); });
    widget.begin();
    isStarted = true;
    events.emit("ready", {});
  }

  var ownScript = findOwnScript(); // Only reliable while the script is first evaluated.
  // The page's stub, if it made one, is kept and filled in: a reference it holds stays good.
  var api = window.ChatWidget && typeof window.ChatWidget === "object" ? window.ChatWidget : {};
  var queuedByPage = Array.isArray(api.q) ? api.q : [];
  API_METHODS.forEach(function (name) {
    api[name] = function () { return callApi(name, Array.prototype.slice.call(arguments)); };
  });
  // Pushed after this point, a call runs at once (or once started), like a method call.
  api.q = { push: function () { Array.prototype.forEach.call(arguments, callQueued); } };
  api.isLoaded = true;
  window.ChatWidget = api;
  queuedByPage.forEach(callQueued);
  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();

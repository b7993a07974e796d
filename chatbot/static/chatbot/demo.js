/*
 * The demo bank page's own behaviour: its "Chat with us" buttons open the chat widget.
 * A file of its own, not an inline script, so the page works under a policy without
 * 'unsafe-inline'.
 */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-open-chat]") && window.ChatWidget) {
      window.ChatWidget.open();
    }
  });
})();

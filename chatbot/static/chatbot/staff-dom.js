/*
 * DOM helpers shared by the staff pages (the knowledge editor, the agent console and its
 * report): loaded before each page's own script, which takes them from window.StaffDom.
 * Text is only ever written as text nodes, never parsed as HTML.
 */
(() => {
  "use strict";

  const byId = (id) => document.getElementById(id);

  /** Build an element; strings among the children become text nodes, never markup. */
  function h(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name.startsWith("on") && typeof value === "function") {
        node.addEventListener(name.slice(2).toLowerCase(), value);
      } else if (name === "value") {
        node.value = value;
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    });
    children.flat(Infinity).forEach((child) => {
      if (child !== null && child !== undefined && child !== false) {
        node.appendChild(typeof child === "string" || typeof child === "number"
          ? document.createTextNode(String(child)) : child);
      }
    });
    return node;
  }

  function setHidden(node, isHidden) {
    node.hidden = Boolean(isHidden);
  }

  window.StaffDom = Object.freeze({ byId, h, setHidden });
})();

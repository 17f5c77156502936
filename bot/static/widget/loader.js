/*
 * SEND Local Offer chat: the loader a council adds to its pages with one tag:
 *   <script src="https://APP/widget.js" defer></script>
 * Optional: data-open="true" opens the chat as soon as the page loads.
 *
 * It adds a "Chat about SEND support" button and, when opened, a panel with the chat in an
 * iframe of APP/widget/frame, so the chat talks to APP on its own origin. Everything it adds
 * uses classes starting "lo-widget-" and styles from APP/widget.css, so the host page is untouched.
 * Hooks: button.lo-widget-launcher, .lo-widget-panel, button.lo-widget-close, iframe.lo-widget-frame
 */
(function () {
  "use strict";
  if (window.LocalOfferChatWidget !== undefined) {
    return; // the tag is on the page twice
  }
  var script = document.currentScript;
  if (!script || !script.src) {
    return;
  }
  var origin = new URL(script.src, window.location.href).origin;
  var openAtOnce = script.getAttribute("data-open") === "true";
  var TITLE = "Chat about SEND support";

  function element(tag, className, attributes) {
    var node = document.createElement(tag);
    node.className = className;
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    return node;
  }

  function start() {
    var root = element("div", "lo-widget-root");
    var launcher = element("button", "lo-widget-launcher", {
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "lo-widget-panel",
    });
    launcher.textContent = TITLE;
    var panel = element("div", "lo-widget-panel", {
      id: "lo-widget-panel",
      role: "dialog",
      "aria-label": TITLE,
    });
    panel.hidden = true;
    var header = element("div", "lo-widget-header");
    var heading = element("p", "lo-widget-title");
    heading.textContent = TITLE;
    var close = element("button", "lo-widget-close", { type: "button" });
    close.textContent = "Close";
    var closeHidden = element("span", "lo-widget-visually-hidden");
    closeHidden.textContent = " the chat";
    close.appendChild(closeHidden);
    header.appendChild(heading);
    header.appendChild(close);
    panel.appendChild(header);
    var frame = null;
    var frameReady = false;
    var focusWhenReady = false;

    function tellFrame(message) {
      if (frame && frameReady && frame.contentWindow) {
        frame.contentWindow.postMessage(message, origin);
      }
    }

    function open(moveFocus) {
      if (!frame) {
        frame = element("iframe", "lo-widget-frame", { title: TITLE, src: origin + "/widget/frame" });
        frame.addEventListener("load", function () {
          frameReady = true;
          if (focusWhenReady) {
            focusWhenReady = false;
            frame.focus();
            tellFrame({ type: "lo-widget:focus" });
          }
        });
        panel.appendChild(frame);
      }
      panel.hidden = false;
      root.classList.add("lo-widget-root--open");
      launcher.setAttribute("aria-expanded", "true");
      if (moveFocus) {
        if (frameReady) {
          frame.focus();
          tellFrame({ type: "lo-widget:focus" });
        } else {
          focusWhenReady = true;
          close.focus();
        }
      }
    }

    function closePanel() {
      if (panel.hidden) {
        return;
      }
      panel.hidden = true;
      focusWhenReady = false;
      root.classList.remove("lo-widget-root--open");
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
    }

    launcher.addEventListener("click", function () {
      if (panel.hidden) {
        open(true);
      } else {
        closePanel();
      }
    });
    close.addEventListener("click", closePanel);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closePanel();
      }
    });
    // Escape pressed inside the chat itself: the frame tells us (only our own frame is listened to).
    window.addEventListener("message", function (event) {
      if (event.origin !== origin || !frame || event.source !== frame.contentWindow) {
        return;
      }
      if (event.data && event.data.type === "lo-widget:close") {
        closePanel();
      }
    });

    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(root);
    window.LocalOfferChatWidget = { open: function () { open(true); }, close: closePanel };
    if (openAtOnce) {
      open(false);
    }
  }

  function fallback() {
    // Our styles could not be loaded: a plain link to the chat page still works.
    var link = element("a", "lo-widget-fallback", { href: origin + "/chat" });
    link.textContent = TITLE;
    document.body.appendChild(link);
  }

  function init() {
    var styles = element("link", "", { rel: "stylesheet", href: origin + "/widget.css" });
    styles.removeAttribute("class");
    styles.addEventListener("load", start, { once: true });
    styles.addEventListener("error", fallback, { once: true });
    document.head.appendChild(styles);
  }

  window.LocalOfferChatWidget = null;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

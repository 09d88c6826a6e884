/*
 * The portal's feedback widget, for the organisation's own pages (no framework, no cookies):
 *
 *   <script src="https://portal.example.org/static/widget.js"
 *           data-portal="https://portal.example.org" async></script>
 *
 * It adds a "Give feedback" button. On a wide screen the button opens a panel holding the
 * portal's feedback form in a frame (the portal lets only the origins its admin listed frame
 * it); on a small one (under 600 px) the form opens in a new tab. Either way the form is told
 * the address of this page, which the feedback keeps for the organisation's staff.
 *
 * With single sign-on, put the signed token your server made for this visitor in
 * data-sso-token (or call PortalWidget.signIn(token)): the widget hands it to the form, by
 * postMessage to the portal's origin alone, and the visitor sends feedback as themselves
 * without signing in again. Without it, the form's "Sign in to send" opens the portal in a
 * new tab with what they wrote.
 *
 * Optional: data-label="Feedback" (the button's words), data-position="left".
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.PortalWidget) {
    return;
  }
  var portal;
  try {
    portal = new URL(script.getAttribute("data-portal") || script.src, location.href).origin;
  } catch (error) {
    return;
  }
  var label = script.getAttribute("data-label") || "Give feedback";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var ssoToken = script.getAttribute("data-sso-token") || "";
  var SMALL_SCREEN = 600;
  var button, panel, frame, closeButton, handedIn = false, frameReady = false;

  function formAddress() {
    return portal + "/widget/?page=" + encodeURIComponent(location.href);
  }

  function css(element, rules) {
    // Set through the style object (CSSOM), which a page's CSP without 'unsafe-inline' allows.
    for (var name in rules) {
      element.style.setProperty(name, rules[name]);
    }
  }

  function handIn() {
    if (ssoToken && frame && frameReady && !handedIn) {
      handedIn = true; // a token signs in once
      frame.contentWindow.postMessage({ type: "portal-widget:sso", token: ssoToken }, portal);
    }
  }

  window.addEventListener("message", function (event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== portal) {
      return;
    }
    var data = event.data || {};
    if (data.type === "portal-widget:ready") {
      frameReady = !data.signedIn;
      if (data.signedIn) {
        handedIn = true;
      }
      handIn();
    } else if (data.type === "portal-widget:close") {
      close();
    }
  });

  function buildPanel() {
    panel = document.createElement("div");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", label);
    panel.id = "portal-widget-panel";
    css(panel, {
      position: "fixed",
      bottom: "4.5rem",
      width: "min(420px, calc(100vw - 2rem))",
      height: "min(640px, calc(100vh - 6rem))",
      background: "#fff",
      "border-radius": "8px",
      "box-shadow": "0 8px 32px rgba(0, 0, 0, 0.25)",
      overflow: "hidden",
      "z-index": "2147483000",
      display: "none",
    });
    panel.style.setProperty(side, "1rem");
    closeButton = document.createElement("button");
    closeButton.type = "button";
    closeButton.textContent = "\u00d7";
    closeButton.setAttribute("aria-label", "Close");
    css(closeButton, {
      position: "absolute",
      top: "0.25rem",
      right: "0.25rem",
      width: "2rem",
      height: "2rem",
      border: "0",
      background: "transparent",
      "font-size": "1.4rem",
      cursor: "pointer",
    });
    closeButton.addEventListener("click", close);
    frame = document.createElement("iframe");
    frame.title = label;
    frame.src = formAddress();
    // The form needs its own scripts and forms; it may open a new tab ("Sign in to send").
    frame.setAttribute(
      "sandbox",
      "allow-forms allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"
    );
    frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    css(frame, { width: "100%", height: "100%", border: "0" });
    panel.appendChild(frame);
    panel.appendChild(closeButton);
    document.body.appendChild(panel);
  }

  function postInNewTab() {
    // A form posted into a new tab: the token travels in the request body, not the address.
    var form = document.createElement("form");
    form.method = "post";
    form.action = portal + "/widget/sign-in";
    form.target = "_blank";
    [
      ["sso_token", ssoToken],
      ["page_url", location.href],
    ].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
    form.remove();
    handedIn = true;
  }

  function open() {
    if (window.innerWidth < SMALL_SCREEN) {
      if (ssoToken && !handedIn) {
        postInNewTab();
      } else {
        window.open(formAddress(), "_blank", "noopener");
      }
      return;
    }
    if (!panel) {
      buildPanel();
    }
    panel.style.display = "block";
    button.setAttribute("aria-expanded", "true");
    frame.focus();
  }

  function close() {
    if (panel && panel.style.display !== "none") {
      panel.style.display = "none";
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  }

  function start() {
    button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "portal-widget-panel");
    css(button, {
      position: "fixed",
      bottom: "1rem",
      padding: "0.7rem 1.1rem",
      border: "0",
      "border-radius": "999px",
      background: "#1d5c63",
      color: "#fff",
      font: "600 1rem/1.2 system-ui, sans-serif",
      cursor: "pointer",
      "box-shadow": "0 4px 16px rgba(0, 0, 0, 0.2)",
      "z-index": "2147483000",
    });
    button.style.setProperty(side, "1rem");
    button.addEventListener("click", function () {
      if (panel && panel.style.display !== "none") {
        close();
      } else {
        open();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        close();
      }
    });
    document.body.appendChild(button);
  }

  window.PortalWidget = {
    open: open,
    close: close,
    signIn: function (token) {
      ssoToken = String(token || "");
      handedIn = false;
      handIn();
    },
  };

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();

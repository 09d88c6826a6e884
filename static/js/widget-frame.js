// The feedback widget's own pages (templates/widget/). Framed by an allowed page of the
// organisation's site, they talk to static/widget.js there by postMessage, both ways checked:
// messages only from the parent window and its origin (which the server took from the
// page's address and its list of allowed origins), and ours sent to that origin alone.
(function () {
  "use strict";
  var root = document.querySelector("[data-widget-parent-origin]");
  var parentOrigin = root ? root.getAttribute("data-widget-parent-origin") : "";
  var framed = window.parent !== window;

  // "Sign in to send" leaves the frame for a new tab of this site, which sends it on again
  // from here (where the browser sends its cookies) at once.
  var onward = document.querySelector("form[data-widget-auto-continue]");
  if (onward) {
    onward.submit();
    return;
  }

  if (!framed || !parentOrigin) {
    return;
  }

  function tell(message) {
    window.parent.postMessage(message, parentOrigin);
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== parentOrigin) {
      return;
    }
    var data = event.data || {};
    var form = document.getElementById("widget-form");
    if (data.type === "portal-widget:sso" && typeof data.token === "string" && form) {
      // The organisation's single sign-on token: the form goes to sign in with it, keeping
      // what was typed, and comes back for the person it names.
      form.elements.namedItem("sso_token").value = data.token;
      form.action = form.getAttribute("data-sign-in-action");
      HTMLFormElement.prototype.submit.call(form);
    }
  });

  // Escape in the form closes the panel, as it does on the page around it.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      tell({ type: "portal-widget:close" });
    }
  });

  var close = document.querySelector("[data-widget-close]");
  if (close) {
    close.hidden = false;
    close.addEventListener("click", function () {
      tell({ type: "portal-widget:close" });
    });
  }

  // Ready for a sign-in token only while nobody is signed in (the form offers "Sign in to send").
  var form = document.getElementById("widget-form");
  var signedOut = form && form.querySelector("[formaction]");
  tell({ type: "portal-widget:ready", signedIn: !!(form && !signedOut) });
})();

// Sends the CSRF token with every htmx request. Loaded as a file so the CSP can forbid inline script.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
  }
});

// "Dismiss" on a message that an htmx request put in the message area.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-dismiss-message]")) {
    document.getElementById("htmx-messages").replaceChildren();
  }
});

// A file field whose images were just uploaded for their previews (attachments/_form_fields.html)
// is emptied: the form then sends their ids, not the same files again.
document.addEventListener("htmx:afterRequest", function (event) {
  var field = event.detail.elt;
  if (field instanceof HTMLInputElement && field.type === "file") {
    field.value = "";
  }
});

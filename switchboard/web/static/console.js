// The console's shared helpers: api() for JSON calls with the CSRF header, listen() for server-sent events,
// notify() for a short message under the header. Every page loads this file (base.html, deferred).
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// An API call the server refused: `status` is the HTTP status, the message is the server's `detail`.
class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

// FastAPI's `detail` is a string, or for a refused body a list of {loc, msg}: name the field in the message.
function detailMessage(body, fallback) {
  const detail = body && typeof body === "object" ? body.detail : body;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        const where = (item.loc || []).filter((part) => part !== "body").join(".");
        return where ? `${where}: ${item.msg}` : item.msg;
      })
      .join("; ");
  }
  return fallback;
}

// fetch() for the JSON API: sends `body` as JSON and the CSRF header; resolves to the parsed answer (null when
// empty); throws ApiError with the server's detail. A lost session goes back to the sign-in page.
async function api(method, url, body) {
  const headers = { Accept: "application/json", "X-CSRF-Token": csrfToken() };
  const options = { method: method.toUpperCase(), headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    throw new ApiError(0, `the console cannot be reached (${err.message})`, null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (_err) {
      data = text;
    }
  }
  if (response.status === 401) {
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(here)}`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, detailMessage(data, `${response.status} ${response.statusText}`), data);
  }
  return data;
}

// Server-sent events: `handlers` maps an event name ("message" for unnamed events) to fn(data, event), with
// data parsed as JSON when it is JSON; "open" and "error" get the raw event. EventSource reconnects by itself;
// the returned source has close().
function listen(url, handlers) {
  const source = new EventSource(url, { withCredentials: true });
  for (const [name, handler] of Object.entries(handlers)) {
    if (name === "open" || name === "error") {
      source.addEventListener(name, handler);
      continue;
    }
    source.addEventListener(name, (event) => {
      let data = event.data;
      try {
        data = JSON.parse(event.data);
      } catch (_err) {
        // not JSON: hand over the text
      }
      handler(data, event);
    });
  }
  return source;
}

// A short message under the header (kind "error" for a refusal); it fades after `seconds` (0: it stays).
function notify(message, kind = "info", seconds = 6) {
  const box = document.getElementById("notice");
  if (!box) return;
  box.textContent = message;
  box.className = kind === "error" ? "notice error" : "notice";
  box.hidden = false;
  window.clearTimeout(notify.timer);
  if (seconds > 0) notify.timer = window.setTimeout(() => (box.hidden = true), seconds * 1000);
}

window.Console = { api, listen, notify, csrfToken, ApiError };

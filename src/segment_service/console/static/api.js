// The console's only way to the service: its public HTTP API, with a service token that lives in this module's
// memory (never in a URL, a cookie or storage: a reload or a closed tab signs out).

const session = { token: null, tenant: null, scopes: [], clientId: null, expiresAt: 0 };
const listeners = new Set();
let expiryNotice = null;

/** Called with the new session (or null) whenever someone signs in or out. */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed() {
  const current = currentSession();
  for (const listener of listeners) listener(current);
}

/** The signed-in session ({tenant, scopes, clientId, expiresAt}) or null. */
export function currentSession() {
  if (!session.token) return null;
  return { tenant: session.tenant, scopes: [...session.scopes], clientId: session.clientId, expiresAt: session.expiresAt };
}

/** Why the last session ended by itself (an expired or revoked token), once; null otherwise. */
export function takeExpiryNotice() {
  const notice = expiryNotice;
  expiryNotice = null;
  return notice;
}

/** An answer the API refused, in words: `message`, and `fields` (a field's path -> its message) where it named one. */
export class ApiError extends Error {
  constructor(status, body, fallback) {
    super(messageOf(status, body, fallback));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.fields = fieldsOf(body);
  }
}

function messageOf(status, body, fallback) {
  if (status === 0) return "The service cannot be reached. Check that it is running, then try again.";
  if (body && typeof body === "object") {
    if (typeof body.message === "string" && body.message) return body.message;
    if (body.fault && typeof body.fault.faultstring === "string") return body.fault.faultstring;
  }
  if (typeof body === "string" && body.trim() && body.length < 400) return body.trim();
  return fallback || `The service answered ${status}.`;
}

// The services' error bodies name a field in three shapes (a list of {field, message}, one such object, or a list of
// "field: message" strings); all three become one map.
function fieldsOf(body) {
  const fields = {};
  const details = body && typeof body === "object" ? body.details : null;
  const items = Array.isArray(details) ? details : details ? [details] : [];
  for (const item of items) {
    if (item && typeof item === "object" && typeof item.field === "string") {
      fields[item.field] = item.message || body.message;
    } else if (typeof item === "string") {
      const match = /^([\w.[\]]+): (.*)$/.exec(item);
      if (match) fields[match[1]] = match[2];
    }
  }
  return fields;
}

/** Sign in with an API client's id and secret: a service token with all of the client's scopes. */
export async function signIn(clientId, clientSecret) {
  const form = new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret });
  const answer = await send("POST", "/oauth/token", {
    body: form,
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    signedIn: false,
  });
  const scopes = String(answer.data.scope || "").split(" ").filter(Boolean);
  const tenant = (scopes.find((s) => s.startsWith("tenant=")) || "").slice("tenant=".length);
  if (!tenant) throw new ApiError(500, null, "The token names no tenant.");
  session.token = answer.data.access_token;
  session.tenant = tenant;
  session.scopes = scopes.filter((s) => !s.startsWith("tenant="));
  session.clientId = clientId;
  session.expiresAt = Date.now() + Number(answer.data.expires_in || 0) * 1000;
  expiryNotice = null;
  changed();
  return currentSession();
}

export function signOut(notice = null) {
  session.token = null;
  session.tenant = null;
  session.scopes = [];
  session.clientId = null;
  session.expiresAt = 0;
  expiryNotice = notice;
  changed();
}

/** Whether the session's token holds `scope` (e.g. "customersegment.segment_manage"). */
export function can(scope) {
  return session.scopes.some((s) => s === scope || s.endsWith(`.${scope}`));
}

/** `path` with `{tenant}` filled in; `query` values that are null, undefined or "" are left out. */
export function url(path, query) {
  const filled = path.replaceAll("{tenant}", encodeURIComponent(session.tenant || ""));
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === null || value === undefined || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(key, String(one));
  }
  const text = params.toString();
  return text ? `${filled}?${text}` : filled;
}

/** An id or code as one path segment. */
export const seg = (value) => encodeURIComponent(String(value));

async function send(method, path, { query, body, headers = {}, signedIn = true, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal };
  if (signedIn) {
    if (!session.token) throw new ApiError(401, null, "You are signed out. Sign in again.");
    init.headers.Authorization = `Bearer ${session.token}`;
  }
  if (body instanceof URLSearchParams || typeof body === "string" || body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url(path, query), init);
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok && response.status !== 207) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && signedIn) {
      signOut("Your session ended (the token expired or was revoked). Sign in again.");
    }
    throw error;
  }
  const total = response.headers.get("X-Total-Count");
  return { status: response.status, data, total: total === null ? null : Number(total), headers: response.headers };
}

/** Send a file (a Blob) with upload progress: `onProgress(sent, total)` as the bytes leave. fetch reports no upload
 * progress, so this one request goes through XMLHttpRequest, with the same token, errors and answer as `send`. */
function upload(method, path, { query, body, headers = {}, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    if (!session.token) {
      reject(new ApiError(401, null, "You are signed out. Sign in again."));
      return;
    }
    const request = new XMLHttpRequest();
    request.open(method, url(path, query));
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("Authorization", `Bearer ${session.token}`);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    if (onProgress) request.upload.onprogress = (event) => onProgress(event.loaded, event.total || body.size);
    request.onerror = () => reject(new ApiError(0, null));
    request.onload = () => {
      let data = null;
      if (request.responseText) {
        try {
          data = JSON.parse(request.responseText);
        } catch {
          data = request.responseText;
        }
      }
      if (request.status < 200 || request.status >= 300) {
        if (request.status === 401) signOut("Your session ended (the token expired or was revoked). Sign in again.");
        reject(new ApiError(request.status, data));
        return;
      }
      resolve({ status: request.status, data, total: null, headers: null });
    };
    request.send(body);
  });
}

/** The API: each call resolves to {status, data, total, headers} or rejects with an ApiError. */
export const api = {
  get: (path, query, options) => send("GET", path, { ...options, query }),
  post: (path, body, options) => send("POST", path, { ...options, body }),
  put: (path, body, options) => send("PUT", path, { ...options, body }),
  patch: (path, body, options) => send("PATCH", path, { ...options, body }),
  delete: (path, query, options) => send("DELETE", path, { ...options, query }),
  /** One page of a list, with its total (the `X-Total-Count: true` request header asks for it). */
  list: async (path, query, options = {}) => {
    const answer = await send("GET", path, { ...options, query, headers: { "X-Total-Count": "true", ...options.headers } });
    return { items: Array.isArray(answer.data) ? answer.data : [], total: answer.total };
  },
  send,
  upload,
};

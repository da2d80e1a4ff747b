// The console's shared pieces: loading data, showing errors where they belong, fields, paging, confirmation and the
// live region that tells a screen reader what just happened. Pages build on these and on nothing else of each other.

import { html, useCallback, useEffect, useRef, useState } from "./vendor/preact-htm.js";

export { html, useCallback, useEffect, useMemo, useRef, useState } from "./vendor/preact-htm.js";

/** The text of a localized value ({"en": "…"} or a plain string) in `language`, else English, else any. */
export function localized(value, language = "en") {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object") return value[language] ?? value.en ?? Object.values(value)[0] ?? "";
  return String(value);
}

/** A date-time as the reader's locale writes it ("" for none). */
export function when(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/** Run `load` now and whenever `deps` change: {data, error, loading, reload}. An older answer never overwrites a
 * newer one. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((old) => ({ ...old, loading: true }));
    Promise.resolve()
      .then(load)
      .then(
        (data) => mine === generation.current && setState({ data, error: null, loading: false }),
        (error) => mine === generation.current && setState({ data: null, error, loading: false }),
      );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

/** What an action is doing: `run(fn)` sets busy, keeps the error (an ApiError) or clears it, and resolves to fn's
 * result (undefined when it failed). */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (caught) {
      setError(caught);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** An error the API answered, in words, announced to screen readers; field errors not shown beside a field are
 * listed under it. */
export function ErrorNotice({ error, shownFields = [] }) {
  if (!error) return null;
  const rest = Object.entries(error.fields || {}).filter(([field]) => !shownFields.includes(field));
  return html`<div class="notice error" role="alert">
    <strong>${error.status ? `${error.status}: ` : ""}</strong>${error.message}
    ${rest.length > 0 &&
    html`<ul>
      ${rest.map(([field, message]) => html`<li><code>${field}</code>: ${message}</li>`)}
    </ul>`}
  </div>`;
}

let fieldCounter = 0;

/** A labelled control with its hint and its error (from `error.fields[name]`), wired for assistive technology.
 * `children` is a function of the control's props ({id, name, "aria-invalid", "aria-describedby"}). */
export function Field({ label, name, error, hint, children }) {
  const id = useRef(`f${++fieldCounter}`).current;
  const message = error && error.fields ? error.fields[name] : null;
  const described = [hint ? `${id}-hint` : null, message ? `${id}-error` : null].filter(Boolean).join(" ");
  const control = children({
    id,
    name,
    "aria-invalid": message ? "true" : undefined,
    "aria-describedby": described || undefined,
  });
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${control}
    ${hint && html`<small id=${`${id}-hint`}>${hint}</small>`}
    ${message && html`<small id=${`${id}-error`} class="field-error">${message}</small>`}
  </div>`;
}

/** Previous/next paging with the position in words. */
export function Pager({ page, pageSize, total, count, onPage, label = "Pages" }) {
  const last = total === null || total === undefined ? null : Math.max(1, Math.ceil(total / pageSize));
  const hasNext = last === null ? count === pageSize : page < last;
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const end = (page - 1) * pageSize + count;
  return html`<nav class="pager" aria-label=${label}>
    <button type="button" class="secondary outline" disabled=${page <= 1} onClick=${() => onPage(page - 1)}>
      Previous
    </button>
    <span aria-live="polite">${position(first, end, total, count)}</span>
    <button type="button" class="secondary outline" disabled=${!hasNext} onClick=${() => onPage(page + 1)}>Next</button>
  </nav>`;
}

function position(first, end, total, count) {
  if (count === 0) return total ? `None here (${total} in all)` : "None";
  return total === null || total === undefined ? `${first}–${end}` : `${first}–${end} of ${total}`;
}

/** A modal question (the native <dialog>: focus moves in, Escape cancels). `onConfirm` may be async; its error stays
 * in the dialog. */
export function ConfirmDialog({ open, title, children, confirmLabel = "Confirm", danger = false, onConfirm, onCancel }) {
  const dialog = useRef(null);
  const titleId = useRef(`dialog${++fieldCounter}`).current;
  const action = useAction();
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);
  const confirm = async () => {
    const result = await action.run(onConfirm);
    return result;
  };
  return html`<dialog ref=${dialog} onCancel=${(event) => { event.preventDefault(); onCancel(); }}
      aria-labelledby=${titleId}>
    <article>
      <h2 id=${titleId}>${title}</h2>
      ${children}
      <${ErrorNotice} error=${action.error} />
      <footer>
        <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
        <button type="button" class=${danger ? "danger" : ""} aria-busy=${action.busy ? "true" : "false"}
          disabled=${action.busy} onClick=${confirm}>${confirmLabel}</button>
      </footer>
    </article>
  </dialog>`;
}

const announcements = new Set();

/** Say `message` in the page's live region (and show it for a few seconds). */
export function announce(message) {
  for (const listener of announcements) listener(message);
}

/** The live region; the shell renders one. */
export function Announcer() {
  const [message, setMessage] = useState("");
  useEffect(() => {
    let timer = null;
    const listener = (text) => {
      setMessage(text);
      clearTimeout(timer);
      timer = setTimeout(() => setMessage(""), 6000);
    };
    announcements.add(listener);
    return () => {
      announcements.delete(listener);
      clearTimeout(timer);
    };
  }, []);
  return html`<div class=${message ? "toast visible" : "toast"} role="status" aria-live="polite">${message}</div>`;
}

/** Tabs as links (each tab has its own address), marked for assistive technology. */
export function Tabs({ tabs, current }) {
  return html`<nav class="tabs" aria-label="Sections">
    <ul>
      ${tabs.map(
        (tab) => html`<li>
          <a href=${tab.href} aria-current=${tab.id === current ? "page" : undefined}>${tab.label}</a>
        </li>`,
      )}
    </ul>
  </nav>`;
}

/** A badge for a status word (ACTIVE, INACTIVE, MANUAL, AUTOMATIC, DELIVERED, FAILED, …). */
export function Badge({ value }) {
  const word = String(value || "");
  return html`<span class=${`badge badge-${word.toLowerCase()}`}>${word}</span>`;
}

/** The current address's route: `#/segments/abc?q=x` -> {path: ["segments", "abc"], query: {q: "x"}}. */
export function currentRoute() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [pathPart, queryPart = ""] = hash.split("?");
  const path = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(queryPart));
  return { path, query };
}

/** An address inside the console: href("segments", id) -> "#/segments/<id>", with an optional query object. */
export function href(...parts) {
  let query = null;
  if (parts.length && typeof parts[parts.length - 1] === "object" && parts[parts.length - 1] !== null) {
    query = parts.pop();
  }
  const path = `#/${parts.map((p) => encodeURIComponent(String(p))).join("/")}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Go to a console address. */
export function go(address) {
  window.location.hash = address.replace(/^#/, "");
}

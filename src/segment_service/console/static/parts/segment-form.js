// Pieces of the segment form: localized texts as rows of language + text, and date-times between the API's ISO UTC
// and the browser's datetime-local inputs (which have no zone: they mean the reader's own).

import { html, useRef } from "../ui.js";
import { messagesFor } from "./segment-common.js";

/** The reader's time zone in words, for the hint beside the validity inputs. */
export function timeZoneText() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "−";
  const abs = Math.abs(minutes);
  const offset = `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${zone} (${offset})`;
}

const pad = (n) => String(n).padStart(2, "0");

/** An ISO date-time as a datetime-local value in the reader's zone ("" for none). */
export function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.getSeconds() ? `${base}:${pad(d.getSeconds())}` : base;
}

/** A datetime-local value (the reader's zone) as ISO UTC; null for "", the text itself when it is no date (the API
 * then names the field). */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

/** {"en": "Gold"} as rows [{language: "en", text: "Gold"}]; one empty row for a new form. */
export function toRows(map, fallbackLanguage = "en") {
  const rows = Object.entries(map || {}).map(([language, text]) => ({ language, text }));
  return rows.length ? rows : [{ language: fallbackLanguage, text: "" }];
}

/** Rows back to a map, leaving out rows without text; null when none is left. */
export function fromRows(rows) {
  const map = {};
  for (const row of rows) {
    if (row.text.trim() && row.language.trim()) map[row.language.trim()] = row.text;
  }
  return Object.keys(map).length ? map : null;
}

let rowsCounter = 0;

/** A localized text as rows of language + text in a fieldset; the API's errors for `name` (or `name.xx`) show
 * under it. */
export function LocalizedRows({ legend, name, rows, onChange, error, multiline = false, hint }) {
  const id = useRef(`loc${++rowsCounter}`).current;
  const messages = messagesFor(error, name);
  const errorId = `${name}-error`;
  const hintId = `${name}-hint`;
  const described = [hint ? hintId : null, messages.length ? errorId : null].filter(Boolean).join(" ") || undefined;
  const set = (index, key, value) => onChange(rows.map((row, i) => (i === index ? { ...row, [key]: value } : row)));
  const remove = (index) => onChange(rows.filter((_, i) => i !== index));
  const add = () => onChange([...rows, { language: "", text: "" }]);
  return html`<fieldset class="localized" aria-describedby=${described}>
    <legend>${legend}</legend>
    ${rows.map((row, index) => {
      const label = `${legend} (${row.language.trim() || `language ${index + 1}`})`;
      return html`<div class="localized-row" key=${index}>
        <div>
          <label for=${`${id}-${index}-lang`}>Language</label>
          <input id=${`${id}-${index}-lang`} class="language" value=${row.language} maxlength="35"
            aria-label=${`Language of ${legend.toLowerCase()} ${index + 1}`} placeholder="en"
            onInput=${(e) => set(index, "language", e.target.value)} />
        </div>
        <div class="localized-text">
          <label for=${`${id}-${index}-text`}>${label}</label>
          ${multiline
            ? html`<textarea id=${`${id}-${index}-text`} rows="2" value=${row.text}
                aria-invalid=${messages.length ? "true" : undefined} aria-describedby=${described}
                onInput=${(e) => set(index, "text", e.target.value)}></textarea>`
            : html`<input id=${`${id}-${index}-text`} value=${row.text}
                aria-invalid=${messages.length ? "true" : undefined} aria-describedby=${described}
                onInput=${(e) => set(index, "text", e.target.value)} />`}
        </div>
        <button type="button" class="secondary outline small" disabled=${rows.length === 1 && !multiline}
          aria-label=${`Remove ${legend.toLowerCase()} ${row.language.trim() || index + 1}`} onClick=${() => remove(index)}>Remove</button>
      </div>`;
    })}
    <button type="button" class="secondary outline small" onClick=${add}>
      ${rows.length ? "Add a language" : `Add a ${legend.toLowerCase()}`}<span class="visually-hidden"> (${legend.toLowerCase()})</span>
    </button>
    ${hint && html`<small id=${hintId}>${hint}</small>`}
    ${messages.length > 0 && html`<small id=${errorId} class="field-error">${messages.join(" ")}</small>`}
  </fieldset>`;
}

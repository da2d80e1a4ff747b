// Finding customers by name or email. The `q` language has no OR between fields, so a word is looked up in first
// name, last name, email and id by one request each (at most 1,000 matches each) and the answers are merged and
// paged here; an email-like text is one request, paged by the service.

import { api } from "../api.js";
import { containsPattern, qValue } from "../query.js";
import { html, useState } from "../ui.js";

export const CUSTOMERS = "/customer/{tenant}/customers";
const MERGE_LIMIT = 1000;

/** A customer's name for people: "Jane Doe", else the email, else the id. */
export function customerName(customer) {
  if (!customer) return "";
  const name = [customer.firstName, customer.lastName].filter(Boolean).join(" ");
  return name || customer.contactEmail || customer.id;
}

function byName(a, b) {
  const key = (c) => `${c.lastName || "\uffff"} ${c.firstName || ""} ${c.id}`.toLowerCase();
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** One page of the customers whose name, email or id holds `text`: {items, total, capped}. */
export async function searchCustomers(text, page, pageSize) {
  const needle = (text || "").trim();
  const sort = "lastName:ASC,firstName:ASC";
  if (!needle) {
    const list = await api.list(CUSTOMERS, { pageNumber: page, pageSize, sort });
    return { ...list, capped: false };
  }
  if (needle.includes("@")) {
    const list = await api.list(CUSTOMERS, { q: `contactEmail:~(${containsPattern(needle)})`, pageNumber: page, pageSize, sort });
    return { ...list, capped: false };
  }
  const words = needle.split(/\s+/);
  const queries = [
    `firstName:~(${containsPattern(needle)})`,
    `lastName:~(${containsPattern(needle)})`,
    `contactEmail:~(${containsPattern(needle)})`,
    `id:${qValue(needle)}`,
  ];
  if (words.length === 2) queries.push(`firstName:~(${containsPattern(words[0])}) lastName:~(${containsPattern(words[1])})`);
  const answers = await Promise.all(queries.map((q) => api.list(CUSTOMERS, { q, pageSize: MERGE_LIMIT, sort })));
  const seen = new Map();
  for (const answer of answers) for (const customer of answer.items) seen.set(customer.id, customer);
  const all = [...seen.values()].sort(byName);
  const start = (page - 1) * pageSize;
  return { items: all.slice(start, start + pageSize), total: all.length, capped: answers.some((a) => a.items.length === MERGE_LIMIT) };
}

/** A search box and its results, each with a button that picks the customer (`onPick(customer)`). */
export function CustomerPicker({ label = "Find a customer", onPick, pickLabel = "Choose" }) {
  const [text, setText] = useState("");
  const [state, setState] = useState({ items: null, error: null, busy: false });
  const search = async (event) => {
    event.preventDefault();
    setState({ items: state.items, error: null, busy: true });
    try {
      const found = await searchCustomers(text, 1, 10);
      setState({ items: found.items, total: found.total, error: null, busy: false });
    } catch (error) {
      setState({ items: null, error, busy: false });
    }
  };
  return html`<div class="customer-picker">
    <form role="search" aria-label="Customer search" onSubmit=${search} class="toolbar">
      <div class="field">
        <label for="picker-text">${label}</label>
        <input id="picker-text" type="search" value=${text} placeholder="Name or email" onInput=${(e) => setText(e.target.value)} />
      </div>
      <button type="submit" aria-busy=${state.busy ? "true" : "false"} disabled=${state.busy}>Search</button>
    </form>
    ${state.error && html`<div class="notice error" role="alert">${state.error.message}</div>`}
    ${state.items && state.items.length === 0 && html`<p class="empty">No customer matches “${text}”.</p>`}
    ${state.items &&
    state.items.length > 0 &&
    html`<ul class="picker-results">
      ${state.items.map(
        (customer) => html`<li key=${customer.id}>
          <button type="button" class="outline small" aria-label=${`${pickLabel} ${customerName(customer)}`}
            onClick=${() => onPick(customer)}>${pickLabel}</button>
          <span>${customerName(customer)}</span> <small>${customer.contactEmail || ""} · <code>${customer.id}</code></small>
        </li>`,
      )}
      ${state.total > state.items.length && html`<li><small>${state.total - state.items.length} more: narrow the search.</small></li>`}
    </ul>`}
  </div>`;
}

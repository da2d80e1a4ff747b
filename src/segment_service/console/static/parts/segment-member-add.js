// Adding members to a segment by hand: a customer found by name or email (B2C), or a contact of a legal entity found
// by the legal entity's name (B2B). Both are PUTs, so adding someone who is a member already changes nothing.

import { api, seg } from "../api.js";
import { ErrorNotice, Field, announce, html, useAction, useLoad, useRef, useState } from "../ui.js";
import { containsPattern } from "../query.js";
import { CONTACT_ASSIGNMENTS, CUSTOMERS, LEGAL_ENTITIES, SEGMENTS, personName } from "./segment-common.js";

const RESULTS = 10;

/** Customers whose first name, last name or email contains `text` (any case). The customer q has no OR between
 * fields, so each field is asked on its own (and "Ada Love" as first + last name) and the answers merged. */
export async function findCustomers(text) {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const whole = containsPattern(text.trim());
  const queries = [`firstName:~(${whole})`, `lastName:~(${whole})`, `contactEmail:~(${whole})`];
  if (words.length > 1) {
    queries.push(`firstName:~(${containsPattern(words[0])}) lastName:~(${containsPattern(words.slice(1).join(" "))})`);
  }
  const pages = await Promise.all(queries.map((q) => api.list(CUSTOMERS, { q, pageSize: RESULTS, sort: "lastName:ASC" })));
  const found = new Map();
  for (const page of pages) for (const customer of page.items) if (!found.has(customer.id)) found.set(customer.id, customer);
  return [...found.values()].slice(0, RESULTS);
}

let hints = 0;

/** A search box that lists what `find(text)` answers when submitted. */
function SearchBox({ label, region, hint, find, render, empty }) {
  const [text, setText] = useState("");
  const [asked, setAsked] = useState("");
  const found = useLoad(() => (asked ? find(asked) : Promise.resolve(null)), [asked]);
  const hintId = useRef(`hint${++hints}`).current;
  return html`<form role="search" aria-label=${region} onSubmit=${(e) => { e.preventDefault(); setAsked(text.trim()); }}>
      <div class="toolbar">
        <${Field} label=${label} name="search">
          ${(props) => html`<input ...${props} type="search" value=${text} aria-describedby=${hintId}
            onInput=${(e) => setText(e.target.value)} />`}
        <//>
        <button type="submit" class="secondary" aria-busy=${found.loading && asked ? "true" : "false"}>Search</button>
      </div>
      <small id=${hintId} class="hint">${hint}</small>
    </form>
    <${ErrorNotice} error=${found.error} />
    ${found.data && found.data.length === 0 && html`<p class="empty">${empty}</p>`}
    ${found.data && found.data.length > 0 && html`<ul class="pick-list">${found.data.map(render)}</ul>`}`;
}

/** One "Add" per result: the PUT, the outcome in words, and the caller told. */
function useAdd(onAdded) {
  const action = useAction();
  const [busyKey, setBusyKey] = useState(null);
  const add = (key, path, who) => {
    setBusyKey(key);
    action.run(async () => {
      const answer = await api.put(path, {});
      announce(answer.status === 201 ? `${who} added to the segment.` : `${who} was a member already.`);
      onAdded();
    }).finally(() => setBusyKey(null));
  };
  return { add, busyKey, error: action.error };
}

function CustomerAdd({ segment, onAdded }) {
  const { add, busyKey, error } = useAdd(onAdded);
  const base = `${SEGMENTS}/${seg(segment.id)}/customers`;
  return html`<section class="add-panel" aria-labelledby="add-customer-heading">
    <h3 id="add-customer-heading">Add a customer (B2C)</h3>
    <${SearchBox} label="Find a customer" region="Customer search" hint="Part of a first name, last name or email." find=${findCustomers}
      empty="No customer matches."
      render=${(customer) => {
        const who = personName(customer);
        return html`<li key=${customer.id}>
          <span><strong>${who}</strong>${customer.contactEmail && who !== customer.contactEmail && html` <small>${customer.contactEmail}</small>`}</span>
          <button type="button" class="small" aria-label=${`Add ${who}`} aria-busy=${busyKey === customer.id ? "true" : "false"}
            disabled=${busyKey !== null} onClick=${() => add(customer.id, `${base}/${seg(customer.id)}`, who)}>Add</button>
        </li>`;
      }} />
    <${ErrorNotice} error=${error} />
  </section>`;
}

/** The contacts of a legal entity, each customer once (a customer may hold several contact types). */
async function contactsOf(legalEntityId) {
  const page = await api.list(CONTACT_ASSIGNMENTS, { "legalEntity.id": legalEntityId, pageSize: 200 });
  const found = new Map();
  for (const contact of page.items) {
    if (contact.customer && !found.has(contact.customer.id)) found.set(contact.customer.id, contact);
  }
  return [...found.values()];
}

function ContactAdd({ segment, onAdded }) {
  const [entity, setEntity] = useState(null);
  const { add, busyKey, error } = useAdd(onAdded);
  const contacts = useLoad(() => (entity ? contactsOf(entity.id) : Promise.resolve(null)), [entity && entity.id]);
  const base = `${SEGMENTS}/${seg(segment.id)}/customers`;
  const findEntities = (text) => api.list(LEGAL_ENTITIES, { name: text, pageSize: RESULTS, sort: "name:ASC" }).then((p) => p.items);
  return html`<section class="add-panel" aria-labelledby="add-contact-heading">
    <h3 id="add-contact-heading">Add a contact of a legal entity (B2B)</h3>
    <${SearchBox} label="Find a legal entity" region="Legal entity search" hint="Part of its name." find=${findEntities} empty="No legal entity matches."
      render=${(le) => html`<li key=${le.id}>
        <span><strong>${le.name}</strong> <small>${le.type === "SUBSIDIARY" ? "Subsidiary" : "Company"}</small></span>
        <button type="button" class="secondary small" aria-pressed=${entity && entity.id === le.id ? "true" : "false"}
          aria-label=${`Show the contacts of ${le.name}`} onClick=${() => setEntity(le)}>Contacts</button>
      </li>`} />
    ${entity &&
    html`<div class="contacts" aria-live="polite">
      <h4>Contacts of ${entity.name}</h4>
      <${ErrorNotice} error=${contacts.error} />
      ${contacts.loading && html`<p aria-busy="true">Loading contacts…</p>`}
      ${contacts.data && contacts.data.length === 0 && html`<p class="empty">${entity.name} has no contacts yet.</p>`}
      ${contacts.data && contacts.data.length > 0 &&
      html`<ul class="pick-list">
        ${contacts.data.map((contact) => {
          const who = personName(contact.customer);
          const key = `${contact.customer.id}/${entity.id}`;
          return html`<li key=${key}>
            <span><strong>${who}</strong>${contact.customer.email && who !== contact.customer.email && html` <small>${contact.customer.email}</small>`}</span>
            <button type="button" class="small" aria-label=${`Add ${who} as a contact of ${entity.name}`}
              aria-busy=${busyKey === key ? "true" : "false"} disabled=${busyKey !== null}
              onClick=${() => add(key, `${base}/${seg(contact.customer.id)}/${seg(entity.id)}`, `${who} (${entity.name})`)}>Add</button>
          </li>`;
        })}
      </ul>`}
    </div>`}
    <${ErrorNotice} error=${error} />
  </section>`;
}

export function AddMembers({ segment, onAdded }) {
  return html`<section class="add-members" aria-labelledby="add-members-heading">
    <h2 id="add-members-heading">Add members</h2>
    <div class="grid-2">
      <${CustomerAdd} segment=${segment} onAdded=${onAdded} />
      <${ContactAdd} segment=${segment} onAdded=${onAdded} />
    </div>
  </section>`;
}

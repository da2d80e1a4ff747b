// One customer: its facts, its legal entities (contact assignments), its segments with the reason for each
// membership, its coupons, and what the storefront shows it in a chosen legal-entity context.

import { api, can, seg } from "../api.js";
import { Badge, ErrorNotice, href, html, useLoad, useState, when } from "../ui.js";
import { CustomerCoupons } from "../parts/customer-coupons.js";
import { CUSTOMERS, customerName } from "../parts/customer-search.js";
import { CustomerSegments } from "../parts/customer-segments.js";
import { Storefront } from "../parts/customer-storefront.js";

const CONTACTS = "/customer-management/{tenant}/contact-assignments";

function Facts({ customer }) {
  const mixins = customer.mixins && Object.keys(customer.mixins).length ? customer.mixins : null;
  return html`<dl class="facts">
      <dt>Customer number</dt><dd><code>${customer.id}</code></dd>
      <dt>Email</dt><dd>${customer.contactEmail || "—"}</dd>
      <dt>Name</dt><dd>${[customer.title, customer.firstName, customer.lastName].filter(Boolean).join(" ") || "—"}</dd>
      <dt>Company</dt><dd>${customer.company || "—"}</dd>
      <dt>Preferred language</dt><dd>${customer.preferredLanguage || "—"}</dd>
      <dt>Active</dt><dd><${Badge} value=${customer.active === false ? "INACTIVE" : "ACTIVE"} /></dd>
      <dt>Registered</dt><dd>${when(customer.metadata && customer.metadata.createdAt)}</dd>
      <dt>Last changed</dt><dd>${when(customer.metadata && customer.metadata.modifiedAt)} (version ${customer.metadata && customer.metadata.version})</dd>
    </dl>
    ${mixins &&
    html`<details><summary>Mixins</summary><pre class="json">${JSON.stringify(mixins, null, 2)}</pre></details>`}`;
}

function LegalEntities({ contacts }) {
  if (contacts.error) return html`<${ErrorNotice} error=${contacts.error} />`;
  if (!contacts.data) return html`<p aria-busy="true">Loading legal entities…</p>`;
  if (contacts.data.length === 0) return html`<p class="empty">Not a contact of any legal entity (a B2C customer).</p>`;
  return html`<table class="striped">
    <caption class="visually-hidden">Legal entities</caption>
    <thead><tr><th scope="col">Legal entity</th><th scope="col">Type</th><th scope="col">Contact type</th><th scope="col">Primary</th></tr></thead>
    <tbody>
      ${contacts.data.map(
        (a) => html`<tr key=${a.id}>
          <td>${(a.legalEntity && a.legalEntity.name) || "—"} <small><code>${a.legalEntity && a.legalEntity.id}</code></small></td>
          <td>${a.legalEntity && a.legalEntity.type}</td>
          <td>${a.type}</td>
          <td>${a.primary ? "yes" : "no"}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

export default function CustomerPage({ params }) {
  const { customerId } = params;
  const customer = useLoad(
    () => api.get(`${CUSTOMERS}/${seg(customerId)}`, { expand: "mixin:*" }).then((a) => a.data),
    [customerId],
  );
  const contacts = useLoad(
    () => (can("customermanagement.contactassignment_read")
      ? api.list(CONTACTS, { "customer.id": customerId, pageSize: 1000 }).then((page) => page.items)
      : Promise.resolve([])),
    [customerId],
  );
  // The legal-entity context of the segments and the storefront: "" is no legal entity (every membership, as a
  // customer token without one sees them).
  const [context, setContext] = useState("");
  if (customer.error) {
    return html`<h1>Customer</h1><${ErrorNotice} error=${customer.error} />
      <p><a href="#/customers">Back to customers</a></p>`;
  }
  if (!customer.data) return html`<h1>Customer</h1><p aria-busy="true">Loading the customer…</p>`;
  const entities = [];
  for (const a of contacts.data || []) {
    if (a.legalEntity && !entities.some((e) => e.id === a.legalEntity.id)) entities.push(a.legalEntity);
  }
  return html`<div class="page-header">
      <h1>${customerName(customer.data)}</h1>
      <div class="actions"><a href="#/customers" role="button" class="secondary outline">All customers</a></div>
    </div>
    <div class="grid-2">
      <section aria-labelledby="facts-title">
        <h2 id="facts-title">Facts</h2>
        <${Facts} customer=${customer.data} />
      </section>
      <section aria-labelledby="entities-title">
        <h2 id="entities-title">Legal entities</h2>
        <${LegalEntities} contacts=${contacts} />
      </section>
    </div>
    <section class="context-bar" aria-label="Legal-entity context">
      <div class="field">
        <label for="customer-context">Legal-entity context</label>
        <select id="customer-context" value=${context} onChange=${(e) => setContext(e.target.value)}>
          <option value="">None (B2C: every membership)</option>
          ${entities.map((e) => html`<option value=${e.id}>${e.name || e.id}</option>`)}
        </select>
        <small>As a storefront token for this legal entity sees the customer: its memberships for it and its B2C ones.</small>
      </div>
    </section>
    <${CustomerSegments} customerId=${customerId} context=${context} />
    <${Storefront} customerId=${customerId} context=${context} />
    <${CustomerCoupons} customerId=${customerId} />
    <p><a href=${href("customers")}>Back to customers</a></p>`;
}

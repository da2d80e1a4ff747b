// "What the storefront shows": the customer's items and category tree in a legal-entity context, read from the
// storefront's own operations (GET …/segments/items and …/items/category-trees) with the console's service token
// naming the customer (`customerId`, docs/behaviour.md#storefront-my-items-my-category-tree-match): exactly what that
// customer's own token would get, not a re-creation of it.

import { api } from "../api.js";
import { ErrorNotice, html, localized, useLoad, useState } from "../ui.js";
import { loadCustomerSegments } from "./customer-segments.js";

const ITEMS = "/customer-segment/{tenant}/segments/items";
const TREES = "/customer-segment/{tenant}/segments/items/category-trees";
const PAGE = 1000;

async function loadStorefront(customerId, context, siteCode) {
  const query = { customerId, legalEntityId: context || null, siteCode: siteCode || null };
  const [items, trees, segments] = await Promise.all([
    api.list(ITEMS, { ...query, pageSize: PAGE }),
    api.get(TREES, query),
    loadCustomerSegments(customerId, context),
  ]);
  return { segments, items: items.items, trees: trees.data || [], capped: items.items.length === PAGE };
}

function Tree({ nodes, label }) {
  return html`<ul class="category-tree" aria-label=${label}>
    ${nodes.map(
      (node) => html`<li key=${node.id}>
        <span class=${node.isSegmentAssigned ? "assigned" : "label-only"}>${localized(node.name) || node.code || node.id}</span>
        ${node.isSegmentAssigned ? html` <small>(segment content)</small>` : html` <small>(on the way, a navigation label)</small>`}
        ${node.subcategories.length > 0 && html`<${Tree} nodes=${node.subcategories} />`}
      </li>`,
    )}
  </ul>`;
}

export function Storefront({ customerId, context }) {
  const [site, setSite] = useState("");
  const [siteCode, setSiteCode] = useState("");
  const data = useLoad(() => loadStorefront(customerId, context, siteCode), [customerId, context, siteCode]);
  const names = Object.fromEntries(((data.data && data.data.segments) || []).map((s) => [s.id, localized(s.name) || s.id]));
  return html`<section aria-labelledby="storefront-title" class="storefront">
    <h2 id="storefront-title">What the storefront shows</h2>
    <p><small>The items and categories of the customer's <em>active</em> segments in the chosen context, as the
      storefront's “my items” and “my category tree” read them for a customer token.</small></p>
    <form class="toolbar" aria-label="Storefront site" onSubmit=${(e) => { e.preventDefault(); setSiteCode(site.trim()); }}>
      <div class="field">
        <label for="storefront-site">Site</label>
        <input id="storefront-site" value=${site} placeholder="every site" onInput=${(e) => setSite(e.target.value)} />
      </div>
      <button type="submit" class="secondary">Show</button>
    </form>
    <${ErrorNotice} error=${data.error} />
    ${data.loading && html`<p aria-busy="true">Reading what the storefront shows…</p>`}
    ${data.data &&
    !data.loading &&
    html`${data.data.items.length === 0 && data.data.trees.length === 0 && html`<p class="empty">Nothing segment-specific: the customer's active segments (if any) hold no items here.</p>`}
      ${(data.data.items.length > 0 || data.data.trees.length > 0) &&
      html`<div class="grid-2">
        <div>
          <h3>My items</h3>
          ${data.data.items.length === 0
            ? html`<p class="empty">The customer's active segments hold no items.</p>`
            : html`<table class="striped">
                <caption class="visually-hidden">Storefront items</caption>
                <thead><tr><th scope="col">Item</th><th scope="col">Type</th><th scope="col">From segment</th></tr></thead>
                <tbody>
                  ${data.data.items.map(
                    (a) => html`<tr key=${`${a.segmentId}/${a.type}/${a.item.id}`}>
                      <td>${localized(a.item.name) || a.item.code || a.item.id} <small><code>${a.item.id}</code></small></td>
                      <td>${a.type === "PRODUCT" ? "Product" : "Category"}</td>
                      <td>${names[a.segmentId] || a.segmentId}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>`}
          ${data.data.capped && html`<p><small>Showing the first 1,000 items.</small></p>`}
        </div>
        <div>
          <h3>My category tree</h3>
          ${data.data.trees.length === 0
            ? html`<p class="empty">No category of the customer's segments (or none published).</p>`
            : html`<${Tree} nodes=${data.data.trees} label="My category tree" />`}
        </div>
      </div>`}`}
  </section>`;
}

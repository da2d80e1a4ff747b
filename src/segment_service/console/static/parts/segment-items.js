// The items tab of a segment: its product and category assignments, paged; adding a product found by name or code,
// or a category picked from the tenant's category trees (segment-category-tree.js); removing an item.

import { api, can, seg } from "../api.js";
import { Badge, ErrorNotice, Field, Pager, announce, go, href, html, localized, useAction, useLoad, useState } from "../ui.js";
import { containsPattern } from "../query.js";
import { MANAGE, PRODUCTS, SEGMENTS } from "./segment-common.js";
import { CategoryTreePicker } from "./segment-category-tree.js";

const PAGE_SIZE = 20;
const RESULTS = 10;

/** Products whose name (any language) or code contains `text`, any case: two queries, since q has no OR between
 * fields. */
async function findProducts(text) {
  const pattern = containsPattern(text);
  const pages = await Promise.all(
    [`name:~(${pattern})`, `code:~(${pattern})`].map((q) => api.list(PRODUCTS, { q, pageSize: RESULTS })),
  );
  const found = new Map();
  for (const page of pages) for (const product of page.items) if (!found.has(product.id)) found.set(product.id, product);
  return [...found.values()].slice(0, RESULTS);
}

/** Adds items by PUT (an upsert: an item already in the segment stays as it is), saying which it was. */
function useAddItem(segment, onAdded) {
  const action = useAction();
  const [busyKey, setBusyKey] = useState(null);
  const add = (type, id, label) => {
    setBusyKey(`${type}/${id}`);
    return action
      .run(async () => {
        const answer = await api.put(`${SEGMENTS}/${seg(segment.id)}/items/${type}/${seg(id)}`, {});
        const kind = type === "PRODUCT" ? "Product" : "Category";
        announce(answer.status === 201 ? `${kind} “${label}” added to the segment.` : `${kind} “${label}” was in the segment already.`);
        onAdded();
      })
      .finally(() => setBusyKey(null));
  };
  return { add, busyKey, error: action.error };
}

function ProductAdd({ segment, onAdded }) {
  const [text, setText] = useState("");
  const [asked, setAsked] = useState("");
  const found = useLoad(() => (asked ? findProducts(asked) : Promise.resolve(null)), [asked]);
  const { add, busyKey, error } = useAddItem(segment, onAdded);
  return html`<section class="add-panel" aria-labelledby="add-product-heading">
    <h3 id="add-product-heading">Add a product</h3>
    <form role="search" aria-label="Product search" onSubmit=${(e) => { e.preventDefault(); setAsked(text.trim()); }}>
      <div class="toolbar">
        <${Field} label="Find a product" name="product">
          ${(props) => html`<input ...${props} type="search" value=${text} aria-describedby="product-search-hint"
            onInput=${(e) => setText(e.target.value)} />`}
        <//>
        <button type="submit" class="secondary" aria-busy=${found.loading && asked ? "true" : "false"}>Search</button>
      </div>
      <small id="product-search-hint" class="hint">Part of its name or code.</small>
    </form>
    <${ErrorNotice} error=${found.error} />
    ${found.data && found.data.length === 0 && html`<p class="empty">No product matches.</p>`}
    ${found.data && found.data.length > 0 &&
    html`<ul class="pick-list">
      ${found.data.map((product) => {
        const name = localized(product.name) || product.code || product.id;
        return html`<li key=${product.id}>
          <span><strong>${name}</strong> <small>${product.code}</small>${product.published === false && html` <small>(unpublished)</small>`}</span>
          <button type="button" class="small" aria-label=${`Add product ${name}`} disabled=${busyKey !== null}
            aria-busy=${busyKey === `PRODUCT/${product.id}` ? "true" : "false"}
            onClick=${() => add("PRODUCT", product.id, name)}>Add</button>
        </li>`;
      })}
    </ul>`}
    <${ErrorNotice} error=${error} />
  </section>`;
}

function CategoryAdd({ segment, onAdded }) {
  const { add, busyKey, error } = useAddItem(segment, onAdded);
  return html`<section class="add-panel" aria-labelledby="add-category-heading">
    <h3 id="add-category-heading">Add a category</h3>
    <p class="hint">A category brings everything below it into the segment.</p>
    <${CategoryTreePicker} busyId=${busyKey && busyKey.startsWith("CATEGORY/") ? busyKey.slice(9) : null}
      disabled=${busyKey !== null} onPick=${(category, name) => add("CATEGORY", category.id, name)} />
    <${ErrorNotice} error=${error} />
  </section>`;
}

export function SegmentItems({ segment, query, confirm }) {
  const page = Math.max(1, Number(query.page) || 1);
  const [revision, setRevision] = useState(0);
  const base = `${SEGMENTS}/${seg(segment.id)}/items`;
  const list = useLoad(() => api.list(base, { pageNumber: page, pageSize: PAGE_SIZE }), [segment.id, page, revision]);
  const changed = () => setRevision((r) => r + 1);
  const manage = can(MANAGE);

  const remove = (assignment) => {
    const name = localized(assignment.item.name) || assignment.item.code || assignment.item.id;
    const kind = assignment.type === "PRODUCT" ? "product" : "category";
    confirm.ask({
      title: `Remove the ${kind} “${name}” from the segment?`,
      confirmLabel: "Remove item",
      body: html`<p>The segment's members no longer get this ${kind} through it.</p>`,
      onConfirm: async () => {
        await api.delete(`${base}/${assignment.type}/${seg(assignment.item.id)}`);
        announce(`${kind === "product" ? "Product" : "Category"} “${name}” removed from the segment.`);
        changed();
      },
    });
  };

  const data = list.data;
  return html`<section aria-labelledby="items-heading">
      <h2 id="items-heading" class="visually-hidden">Items</h2>
      <${ErrorNotice} error=${list.error} />
      ${list.loading && !data && html`<p aria-busy="true">Loading items…</p>`}
      ${data &&
      html`<figure aria-busy=${list.loading ? "true" : "false"}>
          <table class="striped">
            <caption class="visually-hidden">Items of the segment</caption>
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col">Type</th>
                <th scope="col">Code</th>
                <th scope="col">Id</th>
                ${manage && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
              </tr>
            </thead>
            <tbody>
              ${data.items.map((assignment) => {
                const name = localized(assignment.item.name) || assignment.item.code || assignment.item.id;
                return html`<tr key=${`${assignment.type}/${assignment.item.id}`}>
                  <td>${name}</td>
                  <td><${Badge} value=${assignment.type} /></td>
                  <td>${assignment.item.code}</td>
                  <td><code>${assignment.item.id}</code></td>
                  ${manage &&
                  html`<td class="row-actions">
                    <button type="button" class="secondary outline small" aria-label=${`Remove ${name}`}
                      onClick=${() => remove(assignment)}>Remove</button>
                  </td>`}
                </tr>`;
              })}
            </tbody>
          </table>
        </figure>
        ${data.items.length === 0 && html`<p class="empty">No items yet. Add products or categories below.</p>`}
        ${(data.items.length > 0 || page > 1) &&
        html`<${Pager} page=${page} pageSize=${PAGE_SIZE} total=${data.total} count=${data.items.length}
          label="Item pages" onPage=${(next) => go(href("segments", segment.id, "items", { page: next }))} />`}`}
    </section>
    ${manage &&
    html`<section class="add-items" aria-labelledby="add-items-heading">
      <h2 id="add-items-heading">Add items</h2>
      <div class="grid-2">
        <${ProductAdd} segment=${segment} onAdded=${changed} />
        <${CategoryAdd} segment=${segment} onAdded=${changed} />
      </div>
    </section>`}`;
}

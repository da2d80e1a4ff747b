// A picker over the tenant's category trees (GET /category-trees): a button tree whose branches open and close
// (aria-expanded), loaded when first shown, with an "Add" per category.

import { api, can } from "../api.js";
import { ErrorNotice, html, localized, useLoad, useState } from "../ui.js";
import { CATEGORY_TREES } from "./segment-common.js";

function nameOf(node) {
  return localized(node.localizedName) || node.name || node.code || node.id;
}

function TreeNode({ node, level, onPick, busyId, disabled }) {
  const [open, setOpen] = useState(false);
  const name = nameOf(node);
  const children = node.subcategories || [];
  return html`<li>
    <div class="tree-row">
      ${children.length > 0
        ? html`<button type="button" class="tree-toggle" aria-expanded=${open ? "true" : "false"}
            onClick=${() => setOpen(!open)}><span aria-hidden="true">${open ? "▾" : "▸"}</span> ${name}</button>`
        : html`<span class="tree-leaf">${name}</span>`}
      ${node.published === false && html`<small class="muted">unpublished</small>`}
      <button type="button" class="small secondary outline" aria-label=${`Add category ${name}`}
        aria-busy=${busyId === node.id ? "true" : "false"} disabled=${disabled} onClick=${() => onPick(node, name)}>Add</button>
    </div>
    ${open && children.length > 0 &&
    html`<ul class="tree" aria-label=${`Below ${name}`}>
      ${children.map((child) => html`<${TreeNode} key=${child.id} node=${child} level=${level + 1} onPick=${onPick}
        busyId=${busyId} disabled=${disabled} />`)}
    </ul>`}
  </li>`;
}

/** `onPick(category, name)` when a category's "Add" is pressed. */
export function CategoryTreePicker({ onPick, busyId, disabled }) {
  const [shown, setShown] = useState(false);
  const trees = useLoad(
    () =>
      shown
        ? api
            .get(CATEGORY_TREES, { showUnpublished: can("category.category_read_unpublished") ? "true" : undefined })
            .then((answer) => (Array.isArray(answer.data) ? answer.data : []))
        : Promise.resolve(null),
    [shown],
  );
  return html`<div class="category-picker">
    <button type="button" class="secondary" aria-expanded=${shown ? "true" : "false"} onClick=${() => setShown(!shown)}>
      ${shown ? "Hide the category trees" : "Choose from the category trees"}
    </button>
    ${shown &&
    html`<div>
      <${ErrorNotice} error=${trees.error} />
      ${trees.loading && html`<p aria-busy="true">Loading the category trees…</p>`}
      ${trees.data && trees.data.length === 0 && html`<p class="empty">This tenant has no categories yet.</p>`}
      ${trees.data && trees.data.length > 0 &&
      html`<ul class="tree" aria-label="Category trees">
        ${trees.data.map((root) => html`<${TreeNode} key=${root.id} node=${root} level=${1} onPick=${onPick}
          busyId=${busyId} disabled=${disabled} />`)}
      </ul>`}
    </div>`}
  </div>`;
}

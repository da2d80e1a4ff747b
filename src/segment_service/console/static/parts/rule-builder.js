// The condition builder: nested groups ("all", "any", "none of these") of field, order and segment conditions, each
// a row of labelled controls that reads as a sentence ("Number of orders in the last 365 days is at least 5"). The
// API's 400 for a condition is shown under it. Edits go up as a new tree (`onChange(root)`); nothing here talks to
// the service.

import { html } from "../ui.js";
import { ConditionValue, DurationInput } from "./rule-inputs.js";
import {
  ATTRIBUTES, JSON_KINDS, JSON_PREFIXES, MEASURES, ORDER_STATUSES, attributeKind, errorsAt, newAttribute, newGroup,
  newOrders, newSegment, opLabel, opsFor, valueKind,
} from "./rule-model.js";

const GROUP_WORDS = { all: "All of these are true", any: "Any of these is true", none: "None of these is true" };

/** The tree with the node `id` replaced by `fn(node)` (null removes it). */
export function replaceNode(node, id, fn) {
  if (node.id === id) return fn(node);
  if (node.type !== "group") return node;
  const items = node.items.map((item) => replaceNode(item, id, fn)).filter(Boolean);
  return { ...node, items };
}

/** Numbers for conditions and groups in reading order, for names like "Remove condition 3". */
function numbering(root) {
  const leaves = new Map();
  const groups = new Map();
  const walk = (node) => {
    if (node.type === "group") {
      if (node !== root) groups.set(node.id, groups.size + 1);
      node.items.forEach(walk);
    } else leaves.set(node.id, leaves.size + 1);
  };
  walk(root);
  return { leaves, groups };
}

/** The builder for the whole rule: `root` a group, `subject` CUSTOMER or CONTACT, `error` the preview's or save's
 * ApiError, `paths` node id -> JSON path, `segments` [{id, name}] for segment conditions. */
export function RuleBuilder({ root, subject, error, paths, segments, onChange, disabled }) {
  const ctx = {
    subject, fields: error && error.fields, paths, segments, disabled, numbers: numbering(root),
    update: (id, fn) => onChange(replaceNode(root, id, fn)),
  };
  return html`<div class="rule-builder"><${Group} node=${root} ctx=${ctx} root=${true} /></div>`;
}

function Errors({ messages, id }) {
  if (!messages.length) return null;
  return html`<div class="condition-error" id=${id} role="alert">${messages.map((m) => html`<div>${m}</div>`)}</div>`;
}

function Group({ node, ctx, root = false }) {
  const name = root ? "the rule" : `group ${ctx.numbers.groups.get(node.id)}`;
  const errors = errorsAt(ctx.fields, ctx.paths && ctx.paths.get(node.id), true);
  const add = (make) => ctx.update(node.id, (group) => ({ ...group, items: [...group.items, make()] }));
  return html`<fieldset class=${`rule-group rule-group-${node.kind}${errors.length ? " invalid" : ""}`}>
    <legend class="visually-hidden">${root ? "Rule conditions" : `Group ${ctx.numbers.groups.get(node.id)}`}</legend>
    <div class="group-head">
      <label for=${`${node.id}-kind`} class="visually-hidden">How the conditions of ${name} combine</label>
      <select id=${`${node.id}-kind`} value=${node.kind} disabled=${ctx.disabled}
        onChange=${(e) => ctx.update(node.id, (g) => ({ ...g, kind: e.target.value }))}>
        ${Object.entries(GROUP_WORDS).map(([kind, words]) => html`<option value=${kind}>${words}</option>`)}
      </select>
      ${!root &&
      html`<button type="button" class="secondary outline small" disabled=${ctx.disabled}
        aria-label=${`Remove ${name}`} onClick=${() => ctx.update(node.id, () => null)}>Remove group</button>`}
    </div>
    <${Errors} messages=${errors} />
    ${node.items.length === 0 &&
    html`<p class="empty">${root ? "No conditions yet: add one below to see who the rule matches." : "An empty group: add a condition or remove it."}</p>`}
    <ol class="conditions">
      ${node.items.map(
        (item) => html`<li key=${item.id}>
          ${item.type === "group" ? html`<${Group} node=${item} ctx=${ctx} />` : html`<${Leaf} node=${item} ctx=${ctx} />`}
        </li>`,
      )}
    </ol>
    <div class="group-add" role="group" aria-label=${`Add to ${name}`}>
      <button type="button" class="outline small" disabled=${ctx.disabled} aria-label=${`Add a customer field condition to ${name}`}
        onClick=${() => add(newAttribute)}>+ Field</button>
      <button type="button" class="outline small" disabled=${ctx.disabled} aria-label=${`Add an order condition to ${name}`}
        onClick=${() => add(newOrders)}>+ Order</button>
      <button type="button" class="outline small" disabled=${ctx.disabled} aria-label=${`Add a segment condition to ${name}`}
        onClick=${() => add(newSegment)}>+ Segment</button>
      <button type="button" class="outline small secondary" disabled=${ctx.disabled} aria-label=${`Add a group to ${name}`}
        onClick=${() => add(() => newGroup("any"))}>+ Group</button>
    </div>
  </fieldset>`;
}

function Leaf({ node, ctx }) {
  const number = ctx.numbers.leaves.get(node.id);
  const path = ctx.paths && ctx.paths.get(node.id);
  const errors = errorsAt(ctx.fields, path, false);
  const set = (patch) => ctx.update(node.id, (leaf) => fixOp({ ...leaf, ...patch }));
  const errorId = `${node.id}-error`;
  const common = { node, number, set, disabled: ctx.disabled, invalid: errors.length > 0, describedBy: errors.length ? errorId : undefined };
  let body;
  if (node.type === "attribute") body = html`<${AttributeLeaf} ...${common} subject=${ctx.subject} />`;
  else if (node.type === "orders") body = html`<${OrdersLeaf} ...${common} />`;
  else body = html`<${SegmentLeaf} ...${common} segments=${ctx.segments} />`;
  return html`<div class=${`condition${errors.length ? " invalid" : ""}`} data-condition=${number}>
    <div class="condition-row">
      <span class="condition-number" aria-hidden="true">${number}</span>
      <div class="condition-controls">${body}</div>
      <button type="button" class="secondary outline small remove" disabled=${ctx.disabled}
        aria-label=${`Remove condition ${number}`} onClick=${() => ctx.update(node.id, () => null)}>Remove</button>
    </div>
    <${Errors} messages=${errors} id=${errorId} />
  </div>`;
}

/** After a field or measure changes, keep the operator when it still applies, else take the first that does. */
function fixOp(leaf) {
  if (leaf.type === "segment") return leaf;
  const ops = opsFor(leaf);
  return ops.includes(leaf.op) ? leaf : { ...leaf, op: ops[0] };
}

function OpSelect({ node, number, set, disabled, kind }) {
  const id = `${node.id}-op`;
  return html`<span class="control">
    <label for=${id} class="visually-hidden">Comparison of condition ${number}</label>
    <select id=${id} value=${node.op} disabled=${disabled} onChange=${(e) => set({ op: e.target.value })}>
      ${opsFor(node).map((op) => html`<option value=${op}>${opLabel(op, kind)}</option>`)}
    </select>
  </span>`;
}

function AttributeLeaf({ node, number, set, disabled, subject, invalid, describedBy }) {
  const known = ATTRIBUTES.find((a) => a.path === node.attribute);
  const prefix = known ? null : JSON_PREFIXES.find((p) => node.attribute.startsWith(p.prefix)) || { prefix: "", label: "Other field…" };
  const allowed = (a) => subject === "CONTACT" || !a.contact;
  const choice = known ? known.path : `json:${prefix.prefix}`;
  const choose = (value) => {
    if (value.startsWith("json:")) {
      const start = value.slice(5);
      set({ attribute: start + (prefix && node.attribute.startsWith(prefix.prefix) ? node.attribute.slice(prefix.prefix.length) : ""), value: "", value2: "" });
    } else {
      const next = ATTRIBUTES.find((a) => a.path === value);
      const sameKind = known && next && known.kind === next.kind;
      set({ attribute: value, ...(sameKind ? {} : { value: next && next.kind === "boolean" ? "true" : "", value2: "" }) });
    }
  };
  const kind = valueKind(node);
  return html`<span class="control">
      <label for=${`${node.id}-field`} class="visually-hidden">Field of condition ${number}</label>
      <select id=${`${node.id}-field`} value=${choice} disabled=${disabled} onChange=${(e) => choose(e.target.value)}>
        ${ATTRIBUTES.filter(allowed).map((a) => html`<option value=${a.path}>${a.label}</option>`)}
        ${JSON_PREFIXES.filter(allowed).map((p) => html`<option value=${`json:${p.prefix}`}>${p.label}</option>`)}
        ${prefix && !prefix.prefix && html`<option value="json:">${prefix.label}</option>`}
      </select>
    </span>
    ${!known &&
    html`<span class="control">
        <label for=${`${node.id}-path`} class="visually-hidden">Field path of condition ${number}</label>
        <input id=${`${node.id}-path`} class="path" value=${node.attribute} disabled=${disabled} placeholder="customer.mixins.loyalty.tier"
          aria-invalid=${invalid ? "true" : undefined} aria-describedby=${describedBy}
          onInput=${(e) => set({ attribute: e.target.value })} />
      </span>
      <span class="control">
        <label for=${`${node.id}-as`} class="visually-hidden">Compare condition ${number} as</label>
        <select id=${`${node.id}-as`} value=${node.jsonKind} disabled=${disabled} title="Compare as"
          onChange=${(e) => set({ jsonKind: e.target.value, value: e.target.value === "boolean" ? "true" : "" })}>
          ${JSON_KINDS.map((k) => html`<option value=${k.value}>as ${k.label}</option>`)}
        </select>
      </span>`}
    <${OpSelect} node=${node} number=${number} set=${set} disabled=${disabled} kind=${attributeKind(node) === "json" ? node.jsonKind : kind} />
    <${ConditionValue} node=${node} number=${number} set=${set} disabled=${disabled} kind=${kind}
      options=${known && known.options} invalid=${invalid} describedBy=${describedBy} />`;
}

function OrdersLeaf({ node, number, set, disabled, invalid, describedBy }) {
  const measure = MEASURES.find((m) => m.value === node.measure) || MEASURES[0];
  const filters = [node.statuses.length && `${node.statuses.length} statuses`, node.siteCode && `site ${node.siteCode}`,
    node.currency, node.product && `product ${node.product}`, node.category && `category ${node.category}`].filter(Boolean);
  const toggleStatus = (status, on) => set({ statuses: on ? [...node.statuses, status] : node.statuses.filter((s) => s !== status) });
  return html`<span class="control">
      <label for=${`${node.id}-measure`} class="visually-hidden">Measure of condition ${number}</label>
      <select id=${`${node.id}-measure`} value=${node.measure} disabled=${disabled}
        onChange=${(e) => set({ measure: e.target.value, value: "", value2: "" })}>
        ${MEASURES.map((m) => html`<option value=${m.value}>${m.label}</option>`)}
      </select>
    </span>
    <span class="control">
      <label for=${`${node.id}-window`} class="visually-hidden">Order window of condition ${number}</label>
      <select id=${`${node.id}-window`} value=${node.windowOn ? "within" : "ever"} disabled=${disabled}
        onChange=${(e) => set({ windowOn: e.target.value === "within" })}>
        <option value="ever">ever</option>
        <option value="within">in the last</option>
      </select>
    </span>
    ${node.windowOn &&
    html`<${DurationInput} id=${`${node.id}-within`} label=${`Window of condition ${number}`} value=${node.window}
      disabled=${disabled} onChange=${(window) => set({ window })} />`}
    <${OpSelect} node=${node} number=${number} set=${set} disabled=${disabled} kind=${measure.kind} />
    <${ConditionValue} node=${node} number=${number} set=${set} disabled=${disabled} kind=${measure.kind}
      invalid=${invalid} describedBy=${describedBy} />
    <details class="order-filters">
      <summary>Filters${filters.length ? `: ${filters.join(", ")}` : ": counted statuses, every site"}</summary>
      <fieldset>
        <legend>Order statuses of condition ${number} <small>(none ticked: the tenant's counted statuses)</small></legend>
        ${ORDER_STATUSES.map(
          (status) => html`<label class="inline">
            <input type="checkbox" checked=${node.statuses.includes(status)} disabled=${disabled}
              onChange=${(e) => toggleStatus(status, e.target.checked)} /> ${status}
          </label>`,
        )}
      </fieldset>
      <div class="filter-grid">
        ${[["siteCode", "Site"], ["currency", "Currency"], ["product", "Product id"], ["category", "Category id (and below)"]].map(
          ([key, label]) => html`<span>
            <label for=${`${node.id}-${key}`}>${label} <span class="visually-hidden">of condition ${number}</span></label>
            <input id=${`${node.id}-${key}`} value=${node[key]} disabled=${disabled} placeholder="any"
              onInput=${(e) => set({ [key]: e.target.value })} />
          </span>`,
        )}
      </div>
    </details>`;
}

function SegmentLeaf({ node, number, set, disabled, segments, invalid, describedBy }) {
  const list = segments || [];
  const known = list.some((s) => s.id === node.segmentId);
  return html`<span class="control-text">Member of segment</span>
    <span class="control">
      <label for=${`${node.id}-segment`} class="visually-hidden">Segment of condition ${number}</label>
      <select id=${`${node.id}-segment`} value=${node.segmentId} disabled=${disabled}
        aria-invalid=${invalid ? "true" : undefined} aria-describedby=${describedBy}
        onChange=${(e) => set({ segmentId: e.target.value })}>
        <option value="">Choose a segment…</option>
        ${!known && node.segmentId && html`<option value=${node.segmentId}>${node.segmentId} (unknown)</option>`}
        ${list.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
      </select>
    </span>`;
}

// The value part of a condition: the right input for the field's kind and the operator (text, number, date-time in
// UTC, yes/no, a choice of known values, a list, a range, a duration such as "90 days"). Values stay the text the
// inputs hold; rule-model.js converts them for the API.

import { html } from "../ui.js";
import { DURATION_UNITS } from "./rule-model.js";

/** "90 days": an amount and a unit, or an ISO 8601 duration typed as is. */
export function DurationInput({ id, label, value, disabled, onChange, invalid, describedBy }) {
  return html`<span class="control duration">
    <label for=${`${id}-amount`} class="visually-hidden">${label}: amount</label>
    <input id=${`${id}-amount`} class=${value.unit === "raw" ? "path" : "amount"} value=${value.amount} disabled=${disabled}
      inputmode=${value.unit === "raw" ? undefined : "numeric"} aria-invalid=${invalid ? "true" : undefined}
      aria-describedby=${describedBy} onInput=${(e) => onChange({ ...value, amount: e.target.value })} />
    <label for=${`${id}-unit`} class="visually-hidden">${label}: unit</label>
    <select id=${`${id}-unit`} value=${value.unit} disabled=${disabled} onChange=${(e) => onChange({ ...value, unit: e.target.value })}>
      ${DURATION_UNITS.map((u) => html`<option value=${u.value}>${u.label}</option>`)}
      <option value="raw">ISO 8601 (P1Y2M…)</option>
    </select>
  </span>`;
}

function Input({ id, label, kind, value, disabled, onInput, invalid, describedBy, placeholder }) {
  const type = kind === "number" ? "number" : kind === "datetime" ? "datetime-local" : "text";
  return html`<span class="control">
    <label for=${id} class="visually-hidden">${label}</label>
    <input id=${id} type=${type} step=${kind === "number" ? "any" : undefined} value=${value} disabled=${disabled}
      class=${kind === "number" ? "amount" : ""} placeholder=${placeholder}
      aria-invalid=${invalid ? "true" : undefined} aria-describedby=${describedBy} onInput=${(e) => onInput(e.target.value)} />
    ${kind === "datetime" && html`<small class="unit">UTC</small>`}
  </span>`;
}

/** The value controls of condition `number` (none for "is set" / "is not set"). */
export function ConditionValue({ node, number, set, disabled, kind, options, invalid, describedBy }) {
  const label = `Value of condition ${number}`;
  const common = { disabled, invalid, describedBy, kind };
  const op = node.op;
  if (op === "exists" || op === "missing") return null;
  if (op === "withinLast" || op === "olderThan") {
    return html`<${DurationInput} id=${`${node.id}-duration`} label=${label} value=${node.duration} disabled=${disabled}
      invalid=${invalid} describedBy=${describedBy} onChange=${(duration) => set({ duration })} />`;
  }
  if (op === "between") {
    return html`<${Input} id=${`${node.id}-low`} label=${`${label}: from`} value=${node.value} ...${common}
        onInput=${(value) => set({ value })} />
      <span class="control-text">and</span>
      <${Input} id=${`${node.id}-high`} label=${`${label}: to`} value=${node.value2} ...${common}
        onInput=${(value2) => set({ value2 })} />`;
  }
  if ((op === "in" || op === "nin") && options) {
    const chosen = String(node.value).split(",").map((v) => v.trim()).filter(Boolean);
    const toggle = (option, on) => set({ value: (on ? [...chosen, option] : chosen.filter((v) => v !== option)).join(", ") });
    return html`<fieldset class="control choices" aria-describedby=${describedBy}>
      <legend class="visually-hidden">${label}</legend>
      ${options.map(
        (option) => html`<label class="inline">
          <input type="checkbox" checked=${chosen.includes(option)} disabled=${disabled}
            onChange=${(e) => toggle(option, e.target.checked)} /> ${option}
        </label>`,
      )}
    </fieldset>`;
  }
  if (op === "in" || op === "nin") {
    return html`<${Input} id=${`${node.id}-list`} label=${`${label} (separate values with commas)`} value=${node.value}
      ...${common} kind=${kind === "number" ? "text" : kind === "datetime" ? "text" : kind}
      placeholder=${kind === "number" ? "1, 2, 3" : "gold, platinum"} onInput=${(value) => set({ value })} />`;
  }
  if (kind === "boolean") {
    return html`<span class="control">
      <label for=${`${node.id}-bool`} class="visually-hidden">${label}</label>
      <select id=${`${node.id}-bool`} value=${node.value || "true"} disabled=${disabled}
        aria-invalid=${invalid ? "true" : undefined} aria-describedby=${describedBy}
        onChange=${(e) => set({ value: e.target.value })}>
        <option value="true">yes</option>
        <option value="false">no</option>
      </select>
    </span>`;
  }
  if (options && (op === "eq" || op === "ne")) {
    return html`<span class="control">
      <label for=${`${node.id}-choice`} class="visually-hidden">${label}</label>
      <select id=${`${node.id}-choice`} value=${node.value} disabled=${disabled}
        aria-invalid=${invalid ? "true" : undefined} aria-describedby=${describedBy}
        onChange=${(e) => set({ value: e.target.value })}>
        <option value="">Choose…</option>
        ${options.map((option) => html`<option value=${option}>${option}</option>`)}
      </select>
    </span>`;
  }
  return html`<${Input} id=${`${node.id}-value`} label=${label} value=${node.value} ...${common} onInput=${(value) => set({ value })} />`;
}

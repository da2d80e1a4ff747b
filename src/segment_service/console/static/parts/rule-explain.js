// "Why (not) in this segment?": GET …/explain for one customer (and legal entity, for B2B), shown as the rule's
// tree with each condition's actual value and its result, in words and colour (never colour alone), and the reason
// (`because`) in a sentence.

import { api, seg } from "../api.js";
import { Badge, ErrorNotice, html, useAction, useState, when } from "../ui.js";
import { CustomerPicker, customerName } from "./customer-search.js";
import { ATTRIBUTES, MEASURES, durationWords, opLabel } from "./rule-model.js";

const SEGMENTS = "/customer-segment/{tenant}/segments";

export const BECAUSE = {
  RULE: "Member, because the rule matches.",
  MANUAL: "Member, because someone assigned the customer by hand (the rule does not decide for manual members).",
  EXCLUDED: "Not a member, because the customer is excluded from this segment (exclusions beat the rule and manual assignments).",
  NO_MATCH: "Not a member, because the rule does not match.",
  NO_RULE: "Not a member: the segment has no rule, and the customer is not assigned by hand.",
};

/** The reason in a sentence; `member` corrects the rare NO_RULE member (an assignment made while the rule went). */
export function becauseText(answer) {
  return BECAUSE[answer.because] || `${answer.member ? "Member" : "Not a member"} (${answer.because}).`;
}

function shown(value, kind) {
  if (value === null || value === undefined) return "not set";
  if (Array.isArray(value)) return value.map((v) => shown(v, kind)).join(", ");
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  if (kind === "datetime" && typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) return when(value);
  return String(value);
}

/** A leaf in words: "Last name is Doe", "Number of orders in the last 365 days is at least 5". */
export function describeLeaf(raw, segmentNames = {}) {
  if ("inSegment" in raw) return `Member of segment ${segmentNames[raw.inSegment] || raw.inSegment}`;
  let subject;
  let kind;
  if ("orders" in raw) {
    const measure = MEASURES.find((m) => m.value === raw.measure);
    kind = measure ? measure.kind : "number";
    const spec = raw.orders || {};
    const filters = [spec.siteCode && `on site ${spec.siteCode}`, spec.currency && `in ${spec.currency}`,
      spec.product && `with product ${spec.product}`, spec.category && `in category ${spec.category}`,
      spec.statuses && `(${spec.statuses.join(", ")})`].filter(Boolean);
    subject = [measure ? measure.label : raw.measure, spec.within ? `in the last ${durationWords(spec.within)}` : "ever", ...filters].join(" ");
  } else {
    const known = ATTRIBUTES.find((a) => a.path === raw.attribute);
    kind = known ? known.kind : "json";
    subject = known ? known.label : raw.attribute;
  }
  const op = opLabel(raw.op, kind);
  if (raw.op === "exists" || raw.op === "missing") return `${subject} ${op}`;
  if (raw.op === "withinLast" || raw.op === "olderThan") return `${subject} ${op} ${durationWords(raw.value)}`;
  if (raw.op === "between" && Array.isArray(raw.value)) return `${subject} ${op} ${shown(raw.value[0], kind)} and ${shown(raw.value[1], kind)}`;
  return `${subject} ${op} ${shown(raw.value, kind)}`;
}

function Result({ value }) {
  return value
    ? html`<span class="result result-true"><span aria-hidden="true">✓ </span>true</span>`
    : html`<span class="result result-false"><span aria-hidden="true">✗ </span>false</span>`;
}

const GROUP_TITLES = { all: "All of these", any: "Any of these", not: "Not" };

/** The evaluated tree of an explain answer. */
export function ExplainTree({ node, segmentNames }) {
  const kind = ["all", "any", "not"].find((k) => k in node && !("attribute" in node) && !("orders" in node));
  if (kind) {
    const items = kind === "not" ? [node.not] : node[kind];
    return html`<div class=${`explain-group ${node.result ? "is-true" : "is-false"}`}>
      <div class="explain-head"><strong>${GROUP_TITLES[kind]}</strong> <${Result} value=${node.result} /></div>
      <ul>${items.map((item) => html`<li><${ExplainTree} node=${item} segmentNames=${segmentNames} /></li>`)}</ul>
    </div>`;
  }
  const kindOfActual = "orders" in node ? (MEASURES.find((m) => m.value === node.measure) || {}).kind : (ATTRIBUTES.find((a) => a.path === node.attribute) || {}).kind;
  return html`<div class=${`explain-leaf ${node.result ? "is-true" : "is-false"}`}>
    <span class="explain-text">${describeLeaf(node, segmentNames)}</span>
    <span class="explain-actual">actual: <strong>${"inSegment" in node ? shown(node.actual) : shown(node.actual, kindOfActual)}</strong></span>
    <${Result} value=${node.result} />
  </div>`;
}

/** An explain answer: the reason (left out when the caller shows it already) and the tree. */
export function ExplainResult({ answer, segmentNames, withReason = true }) {
  return html`<div class="explain-result">
    ${withReason &&
    html`<p class="because">
      <${Badge} value=${answer.because} /> <strong>${answer.member ? "Member" : "Not a member"}</strong> — ${becauseText(answer)}
    </p>`}
    ${answer.condition
      ? html`<${ExplainTree} node=${answer.condition} segmentNames=${segmentNames} />`
      : html`<p class="empty">The segment has no rule to evaluate.</p>`}
    <p><small>Evaluated now, ${when(new Date().toISOString())}.</small></p>
  </div>`;
}

/** The panel of the rule page: pick a customer (and for a CONTACT rule, a legal entity), see why. */
export function ExplainPanel({ segmentId, subject, segmentNames }) {
  const [customer, setCustomer] = useState(null);
  const [contexts, setContexts] = useState([]);
  const [legalEntityId, setLegalEntityId] = useState("");
  const [answer, setAnswer] = useState(null);
  const action = useAction();
  const explain = (chosen, le) =>
    action.run(async () => {
      setAnswer(null);
      const result = await api.get(`${SEGMENTS}/${seg(segmentId)}/explain`, { customerId: chosen.id, legalEntityId: le });
      setAnswer(result.data);
    });
  const pick = async (chosen) => {
    setCustomer(chosen);
    let le = "";
    if (subject === "CONTACT") {
      // A CONTACT rule decides per legal entity: offer the customer's, starting with the first.
      const list = await action.run(() => api.list("/customer-management/{tenant}/contact-assignments", { "customer.id": chosen.id, pageSize: 100 }));
      const entities = (list ? list.items : []).map((a) => a.legalEntity).filter(Boolean);
      setContexts(entities);
      le = entities.length ? entities[0].id : "";
    } else setContexts([]);
    setLegalEntityId(le);
    explain(chosen, le);
  };
  return html`<section class="explain" aria-labelledby="explain-title">
    <h2 id="explain-title">Why (not) in this segment?</h2>
    <${CustomerPicker} label="Customer to explain" pickLabel="Explain" onPick=${pick} />
    ${customer &&
    html`<div class="explain-for">
      <h3>${customerName(customer)} <small><code>${customer.id}</code></small></h3>
      ${subject === "CONTACT" &&
      html`<div class="field">
        <label for="explain-le">As a contact of</label>
        <select id="explain-le" value=${legalEntityId} onChange=${(e) => { setLegalEntityId(e.target.value); explain(customer, e.target.value); }}>
          <option value="">No legal entity (B2C)</option>
          ${contexts.map((le) => html`<option value=${le.id}>${le.name || le.id}</option>`)}
        </select>
      </div>`}
      <button type="button" class="secondary outline small" aria-busy=${action.busy ? "true" : "false"} disabled=${action.busy}
        onClick=${() => explain(customer, legalEntityId)}>Explain again</button>
      <${ErrorNotice} error=${action.error} />
      ${answer && html`<${ExplainResult} answer=${answer} segmentNames=${segmentNames} />`}
    </div>`}
  </section>`;
}

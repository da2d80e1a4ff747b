// The rule builder's model: what a rule may say (docs/rules.md#conditions, mirrored from rules/fields.py and
// rules/conditions.py, since the API has no operation that lists them), operator words for people, and the
// conversion between the API's condition JSON and the builder's editable tree (each node with an id, values as the
// text the inputs hold). Pure: no rendering, no requests.

let counter = 0;
const nextId = () => `n${++counter}`;

export const SUBJECTS = [
  { value: "CUSTOMER", label: "Customers (B2C)" },
  { value: "CONTACT", label: "Contacts of legal entities (B2B)" },
];

/** The fields a rule can read, by entity; `kind` decides the operators and the input, `options` make a select. */
export const ATTRIBUTES = [
  { path: "customer.firstName", label: "First name", kind: "string" },
  { path: "customer.lastName", label: "Last name", kind: "string" },
  { path: "customer.contactEmail", label: "Email", kind: "string" },
  { path: "customer.company", label: "Company", kind: "string" },
  { path: "customer.title", label: "Title", kind: "string" },
  { path: "customer.preferredLanguage", label: "Preferred language", kind: "string" },
  { path: "customer.id", label: "Customer number", kind: "string" },
  { path: "customer.active", label: "Active", kind: "boolean" },
  { path: "customer.metadata.createdAt", label: "Registered", kind: "datetime" },
  { path: "customer.metadata.modifiedAt", label: "Profile last changed", kind: "datetime" },
  { path: "customer.metadata.version", label: "Profile version", kind: "number" },
  { path: "legalEntity.id", label: "Legal entity id", kind: "string", contact: true },
  { path: "legalEntity.name", label: "Legal entity name", kind: "string", contact: true },
  { path: "legalEntity.type", label: "Legal entity type", kind: "string", contact: true, options: ["COMPANY", "SUBSIDIARY"] },
  { path: "legalEntity.parentId", label: "Parent legal entity id", kind: "string", contact: true },
  { path: "legalEntity.metadata.createdAt", label: "Legal entity created", kind: "datetime", contact: true },
  { path: "contact.type", label: "Contact type", kind: "string", contact: true, options: ["PRIMARY", "BILLING", "LOGISTICS", "CONTACT"] },
  { path: "contact.primary", label: "Primary contact", kind: "boolean", contact: true },
  { path: "contact.metadata.createdAt", label: "Contact since", kind: "datetime", contact: true },
];

/** JSON fields (mixins, legal info…): the user completes the path; the value's kind is chosen ("compare as"). */
export const JSON_PREFIXES = [
  { prefix: "customer.mixins.", label: "Customer mixin…" },
  { prefix: "legalEntity.legalInfo.", label: "Legal info…", contact: true },
  { prefix: "legalEntity.mixins.", label: "Legal entity mixin…", contact: true },
  { prefix: "contact.mixins.", label: "Contact mixin…", contact: true },
];
export const JSON_KINDS = [
  { value: "string", label: "text" },
  { value: "number", label: "number" },
  { value: "boolean", label: "yes / no" },
];

const EVERY_OP = ["eq", "ne", "contains", "startsWith", "in", "nin", "gt", "gte", "lt", "lte", "between", "withinLast", "olderThan", "exists", "missing"];
export const OPS_BY_KIND = {
  string: EVERY_OP,
  number: ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "nin", "exists", "missing"],
  boolean: ["eq", "ne", "exists", "missing"],
  datetime: ["withinLast", "olderThan", "gt", "gte", "lt", "lte", "between", "eq", "ne", "exists", "missing"],
  json: EVERY_OP,
};

const WORDS = {
  eq: "is", ne: "is not", gt: "is more than", gte: "is at least", lt: "is less than", lte: "is at most",
  in: "is one of", nin: "is none of", between: "is between", contains: "contains", startsWith: "starts with",
  exists: "is set", missing: "is not set", withinLast: "is in the last", olderThan: "is longer ago than",
};
const DATE_WORDS = { gt: "is after", gte: "is on or after", lt: "is before", lte: "is on or before", eq: "is exactly" };
const STRING_WORDS = { gt: "comes after", gte: "is or comes after", lt: "comes before", lte: "is or comes before" };

/** An operator in words, for a field of `kind`. */
export function opLabel(op, kind) {
  if (kind === "datetime" && DATE_WORDS[op]) return DATE_WORDS[op];
  if (kind === "string" && STRING_WORDS[op]) return STRING_WORDS[op];
  return WORDS[op] || op;
}

export const MEASURES = [
  { value: "count", label: "Number of orders", kind: "number" },
  { value: "total", label: "Amount spent (gross)", kind: "number" },
  { value: "lastOrderAt", label: "Last order", kind: "datetime" },
  { value: "firstOrderAt", label: "First order", kind: "datetime" },
];
export const ORDER_STATUSES = ["CREATED", "CONFIRMED", "SHIPPED", "COMPLETED", "IN_CHECKOUT", "DECLINED"];
export const DURATION_UNITS = [
  { value: "D", label: "days" },
  { value: "W", label: "weeks" },
  { value: "M", label: "months (30 days)" },
  { value: "Y", label: "years (365 days)" },
  { value: "H", label: "hours" },
];

/** An ISO 8601 duration as {amount, unit}; one the builder cannot split keeps its text (unit "raw"). */
export function parseDuration(text) {
  const simple = /^P(\d+)([DWMY])$/.exec(text || "");
  if (simple) return { amount: simple[1], unit: simple[2] };
  const hours = /^PT(\d+)H$/.exec(text || "");
  if (hours) return { amount: hours[1], unit: "H" };
  return text ? { amount: text, unit: "raw" } : { amount: "90", unit: "D" };
}

export function durationText({ amount, unit }) {
  if (unit === "raw") return String(amount).trim();
  const n = String(amount).trim();
  return unit === "H" ? `PT${n}H` : `P${n}${unit}`;
}

export function durationWords(text) {
  const d = parseDuration(text);
  if (d.unit === "raw") return text;
  const unit = DURATION_UNITS.find((u) => u.value === d.unit);
  return `${d.amount} ${unit ? unit.label.replace(/ \(.*\)$/, "") : d.unit}`;
}

/** The kind of an attribute leaf's field ("json" for a path inside a JSON column). */
export function attributeKind(leaf) {
  const known = ATTRIBUTES.find((a) => a.path === leaf.attribute);
  return known ? known.kind : "json";
}

/** The kind the leaf's value has: the field's, or for JSON fields the chosen one. */
export function valueKind(leaf) {
  if (leaf.type === "orders") return (MEASURES.find((m) => m.value === leaf.measure) || MEASURES[0]).kind;
  const kind = attributeKind(leaf);
  return kind === "json" ? leaf.jsonKind || "string" : kind;
}

export function opsFor(leaf) {
  if (leaf.type === "orders") return OPS_BY_KIND[valueKind(leaf)];
  return OPS_BY_KIND[attributeKind(leaf)];
}

// ------------------------------------------------------------------------------------------ new nodes

export const newGroup = (kind = "all", items = []) => ({ id: nextId(), type: "group", kind, items });
export const newAttribute = () => ({ id: nextId(), type: "attribute", attribute: "customer.firstName", jsonKind: "string", op: "eq", value: "", value2: "", duration: { amount: "30", unit: "D" } });
export const newOrders = () => ({ id: nextId(), type: "orders", measure: "count", op: "gte", value: "1", value2: "", duration: { amount: "30", unit: "D" }, window: { amount: "365", unit: "D" }, windowOn: true, statuses: [], siteCode: "", currency: "", product: "", category: "" });
export const newSegment = () => ({ id: nextId(), type: "segment", segmentId: "" });

// ------------------------------------------------------------------------------------- API JSON -> tree

/** Date-times as the datetime-local input holds them (UTC, minutes). */
function toLocalInput(value) {
  const date = new Date(value);
  if (typeof value !== "string" || Number.isNaN(date.getTime())) return value == null ? "" : String(value);
  return date.toISOString().slice(0, 16);
}

function valueToText(value, kind) {
  if (value === null || value === undefined) return "";
  if (kind === "datetime") return toLocalInput(value);
  return String(value);
}

function fillValue(leaf, raw) {
  const kind = valueKind(leaf);
  if (leaf.op === "withinLast" || leaf.op === "olderThan") leaf.duration = parseDuration(raw.value);
  else if (leaf.op === "between" && Array.isArray(raw.value)) {
    leaf.value = valueToText(raw.value[0], kind);
    leaf.value2 = valueToText(raw.value[1], kind);
  } else if (Array.isArray(raw.value)) leaf.value = raw.value.map((v) => valueToText(v, kind)).join(", ");
  else leaf.value = valueToText(raw.value, kind);
  return leaf;
}

/** The builder's tree for a stored condition; the root is always a group. */
export function fromApi(condition) {
  const node = nodeFromApi(condition);
  return node && node.type === "group" && node.kind !== "none" ? node : newGroup("all", node ? [node] : []);
}

function nodeFromApi(raw) {
  if (!raw || typeof raw !== "object") return null;
  if (Array.isArray(raw.all)) return newGroup("all", raw.all.map(nodeFromApi).filter(Boolean));
  if (Array.isArray(raw.any)) return newGroup("any", raw.any.map(nodeFromApi).filter(Boolean));
  if ("not" in raw) {
    // "None of these" is not(any(...)); a single negated condition is a "none" group of one.
    const inner = raw.not;
    if (inner && Array.isArray(inner.any)) return newGroup("none", inner.any.map(nodeFromApi).filter(Boolean));
    return newGroup("none", [nodeFromApi(inner)].filter(Boolean));
  }
  if ("inSegment" in raw) return { ...newSegment(), segmentId: String(raw.inSegment || "") };
  if ("orders" in raw) {
    const spec = raw.orders || {};
    const leaf = {
      ...newOrders(),
      measure: raw.measure,
      op: raw.op,
      value: "",
      windowOn: Boolean(spec.within),
      window: spec.within ? parseDuration(spec.within) : { amount: "365", unit: "D" },
      statuses: Array.isArray(spec.statuses) ? spec.statuses : [],
      siteCode: spec.siteCode || "",
      currency: spec.currency || "",
      product: spec.product || "",
      category: spec.category || "",
    };
    return fillValue(leaf, raw);
  }
  if ("attribute" in raw) {
    const leaf = { ...newAttribute(), attribute: String(raw.attribute), op: raw.op, value: "" };
    if (attributeKind(leaf) === "json") {
      const sample = Array.isArray(raw.value) ? raw.value[0] : raw.value;
      leaf.jsonKind = typeof sample === "number" ? "number" : typeof sample === "boolean" ? "boolean" : "string";
    }
    return fillValue(leaf, raw);
  }
  return null;
}

// ------------------------------------------------------------------------------------- tree -> API JSON

/** One value as the API wants it; text the builder cannot convert is sent as typed, so the API names the mistake. */
function typed(text, kind) {
  const trimmed = String(text).trim();
  if (kind === "number") {
    const number = Number(trimmed);
    return trimmed !== "" && Number.isFinite(number) ? number : trimmed;
  }
  if (kind === "boolean") return trimmed === "true" ? true : trimmed === "false" ? false : trimmed;
  if (kind === "datetime") return /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(trimmed) ? `${trimmed}:00Z` : trimmed;
  return String(text);
}

function leafValue(leaf) {
  const kind = valueKind(leaf);
  if (leaf.op === "exists" || leaf.op === "missing") return undefined;
  if (leaf.op === "withinLast" || leaf.op === "olderThan") return durationText(leaf.duration);
  if (leaf.op === "between") return [typed(leaf.value, kind), typed(leaf.value2, kind)];
  if (leaf.op === "in" || leaf.op === "nin") {
    return String(leaf.value).split(",").map((v) => v.trim()).filter((v) => v !== "").map((v) => typed(v, kind));
  }
  return typed(leaf.value, kind);
}

/** The API's condition JSON for the builder's tree, and the JSON path (`condition.all[1]`) of every node by id, so
 * that a 400 naming a path can be shown at its condition. */
export function toApi(root) {
  const paths = new Map();
  const walk = (node, path) => {
    paths.set(node.id, path);
    if (node.type === "group") {
      if (node.kind === "none") {
        if (node.items.length === 1) return { not: walk(node.items[0], `${path}.not`) };
        return { not: { any: node.items.map((item, i) => walk(item, `${path}.not.any[${i}]`)) } };
      }
      return { [node.kind]: node.items.map((item, i) => walk(item, `${path}.${node.kind}[${i}]`)) };
    }
    if (node.type === "segment") return { inSegment: node.segmentId };
    const value = leafValue(node);
    const body = node.type === "orders" ? { orders: ordersSpec(node), measure: node.measure, op: node.op } : { attribute: node.attribute, op: node.op };
    if (value !== undefined) body.value = value;
    return body;
  };
  return { condition: walk(root, "condition"), paths };
}

function ordersSpec(leaf) {
  const spec = {};
  if (leaf.windowOn) spec.within = durationText(leaf.window);
  if (leaf.statuses.length) spec.statuses = leaf.statuses;
  for (const key of ["siteCode", "currency", "product", "category"]) if (leaf[key].trim()) spec[key] = leaf[key].trim();
  return spec;
}

/** The API's errors (`fields`: path -> message) that belong to a node at `path`: its own path or below it, but not
 * those of a child group's conditions (each is shown at its own). */
export function errorsAt(fields, path, isGroup) {
  if (!fields || !path) return [];
  return Object.entries(fields)
    .filter(([field]) => {
      if (isGroup) return field === path || (field.startsWith(path) && /^\.(all|any|not\.any)$/.test(field.slice(path.length)));
      return field === path || (field.startsWith(path) && /^[.[]/.test(field.slice(path.length)));
    })
    .map(([, message]) => message);
}

/** Count the leaves (for "Remove condition 3" names). */
export function leafCount(node) {
  return node.type === "group" ? node.items.reduce((n, item) => n + leafCount(item), 0) : 1;
}

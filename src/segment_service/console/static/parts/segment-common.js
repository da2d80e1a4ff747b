// Shared by the segment pages (segment.js, segment-edit.js) and their parts: the API paths they use, one confirmation
// dialog per page, and how people, validity and field errors are written.

import { ConfirmDialog, html, useState, when } from "../ui.js";

export const SEGMENTS = "/customer-segment/{tenant}/segments";
export const CUSTOMERS = "/customer/{tenant}/customers";
export const LEGAL_ENTITIES = "/customer-management/{tenant}/legal-entities";
export const CONTACT_ASSIGNMENTS = "/customer-management/{tenant}/contact-assignments";
export const PRODUCTS = "/product/{tenant}/products";
export const CATEGORY_TREES = "/category/{tenant}/category-trees";
export const COUPONS = "/coupon/{tenant}/coupons";
export const MANAGE = "customersegment.segment_manage";

/** A page's one confirmation dialog: `ask({title, body, confirmLabel, danger, onConfirm})` opens it. A page keeps one,
 * because ConfirmDialog labels itself with a fixed id, so two on one page would share a name. Each question mounts
 * a fresh dialog (its key), so an old question's error never shows on a new one. */
export function useConfirm() {
  const [question, setQuestion] = useState(null);
  const [count, setCount] = useState(0);
  const ask = (next) => {
    setCount((c) => c + 1);
    setQuestion(next);
  };
  const close = () => setQuestion((old) => old && { ...old, open: false });
  const dialog = question
    ? html`<${ConfirmDialog} key=${count} open=${question.open !== false} title=${question.title}
        confirmLabel=${question.confirmLabel} danger=${question.danger !== false} onCancel=${close}
        onConfirm=${async () => {
          await question.onConfirm();
          close();
        }}>${question.body}<//>`
    : null;
  return { dialog, ask };
}

/** A customer as people read it: "First Last", else the email, else the id. */
export function personName(customer) {
  if (!customer) return "";
  const first = customer.firstName ?? customer.name ?? "";
  const last = customer.lastName ?? customer.surname ?? "";
  const full = `${first} ${last}`.trim();
  return full || customer.email || customer.contactEmail || customer.id || "";
}

/** A segment's validity in words ("Always" when open on both ends). */
export function validityText(validity) {
  if (!validity || (!validity.from && !validity.to)) return "Always";
  if (validity.from && validity.to) return `${when(validity.from)} – ${when(validity.to)}`;
  return validity.from ? `From ${when(validity.from)}` : `Until ${when(validity.to)}`;
}

/** The messages an error names for `field` or any path below it ("name" also takes "name.en"). */
export function messagesFor(error, field) {
  if (!error || !error.fields) return [];
  return Object.entries(error.fields)
    .filter(([path]) => path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`))
    .map(([, message]) => message);
}

/** "1 member" / "3 members". */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

// Coupons: the paths, list reads and the words the coupon pages share (discounts, limits, validity, segment names).

import { api, seg } from "../api.js";
import { containsPattern } from "../query.js";
import { html, localized, useLoad, when } from "../ui.js";

export const COUPONS = "/coupon/{tenant}/coupons";
export const SEGMENTS = "/customer-segment/{tenant}/segments";

export const couponPath = (code) => `${COUPONS}/${seg(code)}`;

/** One page of a coupon list: the Coupon Service answers its total in `Items-Count` (with `totalCount=true`), not
 * in the `X-Total-Count` that api.list reads. */
export async function listWithCount(path, query) {
  const answer = await api.get(path, { ...query, totalCount: true });
  const header = answer.headers.get("Items-Count");
  return { items: Array.isArray(answer.data) ? answer.data : [], total: header === null ? null : Number(header) };
}

/** The `q` of the coupon list's simple search; an explicit `q` wins. Codes are stored upper-case, names as written,
 * so both are searched case-insensitively. */
export function couponQuery({ text, field, status, q }) {
  if (q && q.trim()) return q.trim();
  const terms = [];
  if (text && text.trim()) terms.push(`${field === "code" ? "code" : "name"}:~(${containsPattern(text.trim())})`);
  if (status) terms.push(`status:${status}`);
  return terms.join(" ");
}

export function money(value) {
  if (!value || value.amount === undefined || value.amount === null) return "";
  const amount = Number(value.amount);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: value.currency || "USD" }).format(amount);
  } catch {
    return `${amount} ${value.currency || ""}`.trim();
  }
}

/** "25 % off", "€24.99 off", "Free shipping". */
export function discountText(coupon) {
  if (coupon.discountType === "PERCENT") return `${coupon.discountPercentage ?? "?"} % off`;
  if (coupon.discountType === "FREE_SHIPPING") return "Free shipping";
  return `${money(coupon.discountAbsolute) || "?"} off`;
}

/** -1 (or nothing) is unlimited. */
export const limitText = (value) => (value === undefined || value === null || Number(value) < 0 ? "unlimited" : String(value));

export function couponValidity(restrictions) {
  const from = restrictions && restrictions.validFrom;
  const until = restrictions && restrictions.validUntil;
  if (!from && !until) return "Always";
  if (from && until) return `${when(from)} – ${when(until)}`;
  return from ? `From ${when(from)}` : `Until ${when(until)}`;
}

// Segment names by id, kept for the session's page views: a list names the same few segments on every row.
const segmentNames = new Map();

export function segmentName(id) {
  if (!segmentNames.has(id)) {
    const found = api.get(`${SEGMENTS}/${seg(id)}`).then(
      (answer) => localized(answer.data && answer.data.name) || id,
      () => null, // a segment that is gone (or unreadable) is shown by its id
    );
    segmentNames.set(id, found);
  }
  return segmentNames.get(id);
}

/** Remember a name the page already has (a segment just picked), so no request is made for it. */
export function knowSegment(id, name) {
  segmentNames.set(id, Promise.resolve(name || id));
}

/** A segment's name, linked to its page; its id while loading or when it cannot be read. */
export function SegmentLink({ id }) {
  const { data } = useLoad(() => segmentName(id), [id]);
  return html`<a href=${`#/segments/${encodeURIComponent(id)}`}>${data || id}</a>`;
}

/** The segments a coupon is restricted to, or "Everyone" (customers in `validFor` are counted). */
export function Restriction({ coupon }) {
  const restrictions = coupon.restrictions || {};
  if (coupon.segmentRestricted && restrictions.segments && restrictions.segments.length) {
    return html`<span class="coupon-segments">${restrictions.segments.map(
      (id, index) => html`${index > 0 ? ", " : ""}<${SegmentLink} key=${id} id=${id} />`,
    )}</span>`;
  }
  if (restrictions.validFor && restrictions.validFor.length) {
    const count = restrictions.validFor.length;
    return `${count} customer${count === 1 ? "" : "s"}`;
  }
  return html`<span class="muted">Everyone</span>`;
}

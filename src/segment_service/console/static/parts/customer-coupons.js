// A customer's coupons: those issued to it (referral coupons), those valid for it by name (`restrictions.validFor`)
// and the segment-restricted ones of its active segments (`restrictions.segments`), each found by its own `q`
// (docs/coupons.md#q-and-sort: q has no OR between fields), with its redemptions of each. There is no list of
// redemptions across coupons, so they are asked per coupon shown (`q=customerNumber:…`).

import { api, can, seg } from "../api.js";
import { Badge, ErrorNotice, html, localized, useLoad, when } from "../ui.js";
import { qValue } from "../query.js";
import { activeNow, loadCustomerSegments } from "./customer-segments.js";

const COUPONS = "/coupon/{tenant}/coupons";
const PAGE = 1000;

async function loadCoupons(customerId) {
  const segments = await loadCustomerSegments(customerId, "");
  const active = new Set(segments.filter((segment) => activeNow(segment)).map((s) => s.id));
  const queries = [`issuedTo:${qValue(customerId)}`, `restrictions.validFor:${qValue(customerId)}`];
  if (active.size) queries.push(`restrictions.segments:(${[...active].map(qValue).join(",")})`);
  const pages = await Promise.all(queries.map((q) => api.list(COUPONS, { q, pageSize: PAGE, sort: "code:ASC" })));
  const byCode = new Map();
  for (const coupon of pages.flatMap((page) => page.items)) byCode.set(coupon.code, coupon);
  const coupons = [];
  for (const coupon of [...byCode.values()].sort((a, b) => a.code.localeCompare(b.code))) {
    const restrictions = coupon.restrictions || {};
    const reasons = [];
    if (coupon.issuedTo === customerId) reasons.push(coupon.referralCoupon ? "its referral coupon" : "issued to it");
    if ((restrictions.validFor || []).includes(customerId)) reasons.push("valid for it by name");
    const via = (restrictions.segments || []).filter((id) => active.has(id));
    if (via.length) reasons.push(`for its segment${via.length > 1 ? "s" : ""} ${via.join(", ")}`);
    if (reasons.length) coupons.push({ coupon, reasons });
  }
  return { coupons, capped: pages.some((page) => page.items.length === PAGE) };
}

function Redemptions({ code, customerId }) {
  const list = useLoad(
    () => api.list(`${COUPONS}/${seg(code)}/redemptions`, { q: `customerNumber:${qValue(customerId)}`, pageSize: 100 }),
    [code, customerId],
  );
  if (list.error) return html`<small class="field-error">${list.error.message}</small>`;
  if (!list.data) return html`<span aria-busy="true"></span>`;
  if (list.data.items.length === 0) return html`<small>none</small>`;
  return html`<ul class="redemptions">
    ${list.data.items.map(
      (r) => html`<li key=${r.id}>${when(r.redeemedAt)}${r.orderCode ? ` · order ${r.orderCode}` : ""}${r.legalEntityId ? ` · for ${r.legalEntityId}` : ""}</li>`,
    )}
  </ul>`;
}

export function CustomerCoupons({ customerId }) {
  const allowed = can("coupon.coupon_read") || can("coupon.coupon_manage");
  const data = useLoad(() => (allowed ? loadCoupons(customerId) : Promise.resolve(null)), [customerId, allowed]);
  return html`<section aria-labelledby="coupons-title">
    <h2 id="coupons-title">Coupons</h2>
    ${!allowed && html`<p class="notice">Your token may not read coupons.</p>`}
    <${ErrorNotice} error=${data.error} />
    ${allowed && data.loading && html`<p aria-busy="true">Looking for the customer's coupons…</p>`}
    ${data.data &&
    html`${data.data.coupons.length === 0 && html`<p class="empty">No coupon is issued to this customer, valid for it by name or restricted to its segments.</p>`}
      ${data.data.coupons.length > 0 &&
      html`<table class="striped">
        <caption class="visually-hidden">Coupons of the customer</caption>
        <thead><tr><th scope="col">Coupon</th><th scope="col">Status</th><th scope="col">Why it is the customer's</th><th scope="col">Redemptions by the customer</th></tr></thead>
        <tbody>
          ${data.data.coupons.map(
            ({ coupon, reasons }) => html`<tr key=${coupon.code}>
              <td><a href=${`#/coupons/${encodeURIComponent(coupon.code)}`}>${localized(coupon.name) || coupon.code}</a> <small><code>${coupon.code}</code></small></td>
              <td><${Badge} value=${coupon.status} /></td>
              <td>${reasons.join("; ")}</td>
              <td>${can("coupon.coupon_manage") ? html`<${Redemptions} code=${coupon.code} customerId=${customerId} />` : html`<small>needs coupon.coupon_manage</small>`}</td>
            </tr>`,
          )}
        </tbody>
      </table>`}
      ${data.data.capped && html`<p><small>Showing the first ${PAGE} coupons of each kind.</small></p>`}
      <p><small>Redemptions of open coupons (not issued, named or segment-restricted) cannot be found by customer: the
        coupon API lists redemptions per coupon only.</small></p>`}
  </section>`;
}

// The coupons tab of a segment: the coupons restricted to it (`q=restrictions.segments:<id>`,
// docs/coupons.md#q-and-sort), and a way to make one.

import { api, can } from "../api.js";
import { qValue } from "../query.js";
import { Badge, ErrorNotice, href, html, localized, useLoad } from "../ui.js";
import { COUPONS } from "./segment-common.js";

const PAGE_SIZE = 1000;

async function couponsOf(segmentId) {
  const answer = await api.list(COUPONS, { q: `restrictions.segments:${qValue(segmentId)}`, pageSize: PAGE_SIZE });
  return { coupons: answer.items, complete: answer.items.length < PAGE_SIZE };
}

function discountText(coupon) {
  if (coupon.discountType === "PERCENT" && coupon.discountPercentage !== undefined) return `${coupon.discountPercentage} %`;
  if (coupon.discountAbsolute) return `${coupon.discountAbsolute.amount} ${coupon.discountAbsolute.currency || ""}`.trim();
  if (coupon.discountType === "FREE_SHIPPING") return "Free shipping";
  return coupon.discountType || "";
}

export function SegmentCoupons({ segment }) {
  const list = useLoad(() => couponsOf(segment.id), [segment.id]);
  const data = list.data;
  return html`<section aria-labelledby="coupons-heading">
    <div class="section-header">
      <h2 id="coupons-heading">Coupons for this segment</h2>
      ${can("coupon.coupon_manage") &&
      html`<a role="button" class="secondary" href=${href("new-coupon", { segment: segment.id })}>New coupon for this segment</a>`}
    </div>
    <p class="hint">Only members of this segment (while it is active) can redeem these coupons.</p>
    <${ErrorNotice} error=${list.error} />
    ${list.loading && html`<p aria-busy="true">Loading coupons…</p>`}
    ${data && data.coupons.length === 0 && html`<p class="empty">No coupon is restricted to this segment yet.</p>`}
    ${data && data.coupons.length > 0 &&
    html`<table class="striped">
      <caption class="visually-hidden">Coupons restricted to the segment</caption>
      <thead>
        <tr>
          <th scope="col">Code</th>
          <th scope="col">Name</th>
          <th scope="col">Discount</th>
          <th scope="col">Status</th>
          <th scope="col" class="number">Redeemed</th>
        </tr>
      </thead>
      <tbody>
        ${data.coupons.map(
          (coupon) => html`<tr key=${coupon.code}>
            <td><a href=${href("coupons", coupon.code)}><code>${coupon.code}</code></a></td>
            <td>${localized(coupon.name)}</td>
            <td>${discountText(coupon)}</td>
            <td>${coupon.status && html`<${Badge} value=${coupon.status} />`}</td>
            <td class="number">${coupon.redemptionCount ?? ""}${coupon.maxRedemptions > 0 ? ` of ${coupon.maxRedemptions}` : ""}</td>
          </tr>`,
        )}
      </tbody>
    </table>`}
    ${data && !data.complete &&
    html`<p class="notice warning">Showing the first ${PAGE_SIZE} coupons of this segment.
      <a href=${href("coupons", { q: `restrictions.segments:${qValue(segment.id)}` })}>See them all in the coupon list</a></p>`}
  </section>`;
}

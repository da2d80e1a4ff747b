// One coupon: what it gives, to whom, when and how often, and its redemptions (newest first, paged), each of which
// can be deleted to give the use back.

import { api, can, seg } from "../api.js";
import {
  Restriction,
  couponPath,
  couponValidity,
  discountText,
  limitText,
  listWithCount,
  money,
} from "../parts/coupon-api.js";
import { DeleteCouponButton } from "../parts/coupon-delete.js";
import { Badge, ConfirmDialog, ErrorNotice, Pager, announce, go, href, html, useLoad, useState, when } from "../ui.js";

const PAGE_SIZE = 20;

export default function CouponPage({ params, query }) {
  const code = params.code;
  const loaded = useLoad(() => api.get(couponPath(code)).then((answer) => answer.data), [code]);
  if (loaded.loading && !loaded.data) return html`<h1>Coupon ${code}</h1><p aria-busy="true">Loading the coupon…</p>`;
  if (loaded.error) {
    return html`<h1>Coupon ${code}</h1>
      <${ErrorNotice} error=${loaded.error} />
      <p><a href="#/coupons">Back to the coupons</a></p>`;
  }
  const coupon = loaded.data;
  const r = coupon.restrictions || {};
  return html`<p><a href="#/coupons">← Coupons</a></p>
    <div class="page-header">
      <h1>${coupon.name} <code class="coupon-code">${coupon.code}</code></h1>
      <div class="actions">
        ${can("coupon.coupon_manage") && html`<a role="button" class="secondary" href=${href("coupons", coupon.code, "edit")}>Edit</a>`}
        <${DeleteCouponButton} coupon=${coupon} />
      </div>
    </div>
    <p class="subtitle"><${Badge} value=${coupon.status} /> ${discountText(coupon)}</p>
    ${coupon.description && html`<p>${coupon.description}</p>`}
    <div class="grid-2">
      <dl class="facts">
        <dt>Discount</dt>
        <dd>${discountText(coupon)} ${coupon.discountType !== "FREE_SHIPPING" &&
          html`<small>(of the ${coupon.discountCalculationType === "TOTAL" ? "total" : "subtotal"})</small>`}</dd>
        <dt>Who may redeem</dt>
        <dd><${Restriction} coupon=${coupon} />${coupon.allowAnonymous ? ", and guests" : ""}</dd>
        ${r.validFor && r.validFor.length > 0 && html`<dt>Customers</dt><dd>${r.validFor.join(", ")}</dd>`}
        <dt>Validity</dt>
        <dd>${couponValidity(r)}</dd>
        <dt>Minimum order</dt>
        <dd>${r.minOrderValue ? money(r.minOrderValue) : "None"}</dd>
      </dl>
      <dl class="facts">
        <dt>Redeemed</dt>
        <dd>${coupon.redemptionCount ?? 0} of ${limitText(coupon.maxRedemptions)}</dd>
        <dt>Per customer</dt>
        <dd>${limitText(coupon.maxRedemptionsPerCustomer)}</dd>
        ${coupon.categoryRestricted &&
        html`<dt>Categories</dt>
          <dd>${(r.includedCategories || []).join(", ") || "any"}${r.excludedCategories && r.excludedCategories.length
            ? `, except ${r.excludedCategories.join(", ")}` : ""}</dd>`}
        ${coupon.issuedTo && html`<dt>Issued to</dt><dd><a href=${href("customers", coupon.issuedTo)}>${coupon.issuedTo}</a></dd>`}
        <dt>Version</dt>
        <dd>${coupon.metadata.version}</dd>
      </dl>
    </div>
    <${Redemptions} coupon=${coupon} page=${Math.max(1, Number(query.page) || 1)} onChange=${loaded.reload} />`;
}

function Redemptions({ coupon, page, onChange }) {
  const path = `${couponPath(coupon.code)}/redemptions`;
  const list = useLoad(
    () => listWithCount(path, { pageNumber: page, pageSize: PAGE_SIZE, sort: "redeemedAt:desc" }),
    [path, page],
  );
  const [doomed, setDoomed] = useState(null);
  const remove = async () => {
    await api.delete(`${path}/${seg(doomed.id)}`);
    const order = doomed.orderCode ? `of order ${doomed.orderCode} ` : "";
    setDoomed(null);
    announce(`Redemption ${order}deleted; the coupon can be used once more.`);
    list.reload();
    onChange();
  };
  return html`<section aria-labelledby="redemptions-heading">
    <div class="page-header">
      <h2 id="redemptions-heading">Redemptions</h2>
      <div class="actions">
        <button type="button" class="secondary outline" aria-busy=${list.loading ? "true" : "false"}
          onClick=${() => { list.reload(); onChange(); }}>Refresh</button>
      </div>
    </div>
    <${ErrorNotice} error=${list.error} />
    ${list.loading && !list.data && html`<p aria-busy="true">Loading redemptions…</p>`}
    ${list.data && list.data.items.length === 0 && page === 1 && html`<p class="empty">Nobody has redeemed this coupon yet.</p>`}
    ${list.data && list.data.items.length > 0 &&
    html`<figure>
      <table class="striped">
        <caption class="visually-hidden">Redemptions of ${coupon.code}</caption>
        <thead>
          <tr>
            <th scope="col">Redeemed</th>
            <th scope="col">Order</th>
            <th scope="col">Customer</th>
            <th scope="col">Legal entity</th>
            <th scope="col" class="number">Order total</th>
            <th scope="col" class="number">Discount</th>
            ${can("coupon.coupon_manage") && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
          </tr>
        </thead>
        <tbody>
          ${list.data.items.map(
            (redemption) => html`<tr key=${redemption.id}>
              <td>${when(redemption.redeemedAt)}</td>
              <td>${redemption.orderCode ? html`<code>${redemption.orderCode}</code>` : html`<span class="muted">none</span>`}</td>
              <td>${redemption.customerNumber
                ? html`<a href=${href("customers", redemption.customerNumber)}>${redemption.customerNumber}</a>`
                : html`<span class="muted">guest</span>`}</td>
              <td>${redemption.legalEntityId || ""}</td>
              <td class="number">${money(redemption.orderTotal)}</td>
              <td class="number">${money(redemption.discount)}</td>
              ${can("coupon.coupon_manage") &&
              html`<td><button type="button" class="secondary outline small" onClick=${() => setDoomed(redemption)}
                aria-label=${`Delete the redemption ${redemption.orderCode ? `of order ${redemption.orderCode}` : `of ${when(redemption.redeemedAt)}`}`}>
                Delete</button></td>`}
            </tr>`,
          )}
        </tbody>
      </table>
    </figure>`}
    ${list.data && (page > 1 || list.data.items.length > 0) &&
    html`<${Pager} page=${page} pageSize=${PAGE_SIZE} total=${list.data.total} count=${list.data.items.length}
      label="Redemption pages" onPage=${(next) => go(href("coupons", coupon.code, { page: next }))} />`}
    <${ConfirmDialog} open=${doomed !== null} title="Delete this redemption?" confirmLabel="Delete redemption" danger
      onConfirm=${remove} onCancel=${() => setDoomed(null)}>
      ${doomed && html`<p>
        The redemption ${doomed.orderCode ? html`of order <code>${doomed.orderCode}</code> ` : ""}by ${doomed.customerNumber || "a guest"}${" "}
        (${money(doomed.discount)} off) is removed, and the coupon can be used once more.
      </p>`}
    <//>
  </section>`;
}

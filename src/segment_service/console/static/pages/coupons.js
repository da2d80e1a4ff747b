// Coupons: the list with search (code or name contains, status, or `q` itself), paging, and for each coupon its
// discount, who may redeem it, its validity and how often it was redeemed.

import { can } from "../api.js";
import {
  COUPONS,
  Restriction,
  couponQuery,
  couponValidity,
  discountText,
  limitText,
  listWithCount,
} from "../parts/coupon-api.js";
import { Badge, ErrorNotice, Field, Pager, go, href, html, useEffect, useLoad, useState } from "../ui.js";

const PAGE_SIZE = 20;

function formOf(query) {
  return { text: query.text || "", field: query.field || "name", status: query.status || "", q: query.q || "" };
}

export default function CouponsPage({ query }) {
  const page = Math.max(1, Number(query.page) || 1);
  const [form, setForm] = useState(() => formOf(query));
  const [advanced, setAdvanced] = useState(Boolean(query.q));
  useEffect(() => setForm(formOf(query)), [query.text, query.field, query.status, query.q]);
  const q = couponQuery(formOf(query));
  const list = useLoad(() => listWithCount(COUPONS, { q, pageNumber: page, pageSize: PAGE_SIZE }), [q, page]);
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  const search = (event) => {
    event.preventDefault();
    const chosen = advanced ? { q: form.q } : { text: form.text, field: form.field, status: form.status };
    go(href("coupons", chosen));
  };
  const builderQuery = couponQuery({ ...form, q: "" });
  const searching = Boolean(q);
  return html`<div class="page-header">
      <h1>Coupons</h1>
      <div class="actions">
        ${can("coupon.coupon_manage") && html`<a role="button" href="#/new-coupon">New coupon</a>`}
      </div>
    </div>
    <form class="search" role="search" aria-label="Find coupons" onSubmit=${search}>
      ${advanced
        ? html`<div class="toolbar">
            <${Field} label="q" name="q" error=${list.error} hint="For example: status:VALID segmentRestricted:true code:~^WINTER">
              ${(props) => html`<input ...${props} value=${form.q} onInput=${set("q")} placeholder="status:VALID" />`}
            <//>
            <button type="submit">Search</button>
          </div>`
        : html`<div class="toolbar">
            <${Field} label="Search in" name="field">
              ${(props) => html`<select ...${props} value=${form.field} onChange=${set("field")}>
                <option value="name">Name</option>
                <option value="code">Code</option>
              </select>`}
            <//>
            <${Field} label="Contains" name="text">
              ${(props) => html`<input ...${props} type="search" value=${form.text} onInput=${set("text")}
                placeholder=${form.field === "code" ? "WINTER" : "Winter sale"} />`}
            <//>
            <${Field} label="Status" name="status">
              ${(props) => html`<select ...${props} value=${form.status} onChange=${set("status")}>
                <option value="">Any</option>
                <option value="VALID">Valid</option>
                <option value="INACTIVE">Not yet valid</option>
                <option value="EXPIRED">Expired</option>
                <option value="USED">Used up</option>
              </select>`}
            <//>
            <button type="submit">Search</button>
          </div>`}
      <p class="search-mode">
        ${advanced ? "" : builderQuery ? html`Searching with <code>q=${builderQuery}</code>. ` : ""}
        <button type="button" class="link" onClick=${() => {
          if (!advanced) setForm({ ...form, q: builderQuery });
          setAdvanced(!advanced);
        }}>${advanced ? "Use the simple form" : "Write q yourself"}</button>
      </p>
    </form>
    <${ErrorNotice} error=${list.error} shownFields=${advanced ? ["q"] : []} />
    ${list.loading && !list.data && html`<p aria-busy="true">Loading coupons…</p>`}
    ${list.data &&
    html`${list.data.items.length > 0 &&
      html`<figure aria-busy=${list.loading ? "true" : "false"}>
        <table class="striped coupon-table">
          <caption class="visually-hidden">Coupons</caption>
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Name</th>
              <th scope="col">Discount</th>
              <th scope="col">Status</th>
              <th scope="col">Who may redeem</th>
              <th scope="col">Validity</th>
              <th scope="col" class="number">Redeemed</th>
            </tr>
          </thead>
          <tbody>
            ${list.data.items.map(
              (coupon) => html`<tr key=${coupon.code}>
                <td><a href=${href("coupons", coupon.code)}><code>${coupon.code}</code></a></td>
                <td>${coupon.name}</td>
                <td>${discountText(coupon)}</td>
                <td><${Badge} value=${coupon.status} /></td>
                <td><${Restriction} coupon=${coupon} /></td>
                <td>${couponValidity(coupon.restrictions)}</td>
                <td class="number">${coupon.redemptionCount ?? 0} of ${limitText(coupon.maxRedemptions)}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </figure>`}
      ${list.data.items.length === 0 &&
      html`<p class="empty">
        ${searching
          ? "No coupon matches this search."
          : html`No coupons yet. ${can("coupon.coupon_manage") && html`<a href="#/new-coupon">Create the first one</a>.`}`}
      </p>`}
      <${Pager} page=${page} pageSize=${PAGE_SIZE} total=${list.data.total} count=${list.data.items.length}
        label="Coupon pages" onPage=${(next) => go(href("coupons", { ...query, page: next }))} />`}`;
}

// A coupon's form: create (#/new-coupon, ?segment=<id> preselects a segment restriction) or edit
// (#/coupons/<code>/edit). The API checks every rule; its errors are shown at the input they name (parts/coupon-form.js
// maps them), a lost update (409, the coupon's version moved on) is said in words, and deleting asks first.

import { api } from "../api.js";
import { COUPONS, couponPath, discountText } from "../parts/coupon-api.js";
import { FORM_FIELDS, bodyFromForm, formError, formFromCoupon, timeZone } from "../parts/coupon-form.js";
import { DeleteCouponButton } from "../parts/coupon-delete.js";
import { SegmentPicker } from "../parts/coupon-segments.js";
import { ErrorNotice, Field, announce, go, href, html, useAction, useEffect, useLoad, useState } from "../ui.js";

export default function CouponEditPage({ params, query }) {
  const code = params.code || null;
  const loaded = useLoad(() => (code ? api.get(couponPath(code)).then((answer) => answer.data) : null), [code]);
  if (code && loaded.loading && !loaded.data) return html`<h1>Edit coupon</h1><p aria-busy="true">Loading the coupon…</p>`;
  if (loaded.error) {
    return html`<h1>Edit coupon</h1>
      <${ErrorNotice} error=${loaded.error} />
      <p><a href="#/coupons">Back to the coupons</a></p>`;
  }
  const coupon = loaded.data;
  // Keyed by version: after a reload (a 409) the form starts again from the coupon as it now is.
  return html`<${CouponForm} key=${coupon ? `${coupon.code}@${coupon.metadata.version}` : "new"} coupon=${coupon}
    segmentId=${query.segment} reload=${loaded.reload} />`;
}

function CouponForm({ coupon, segmentId, reload }) {
  const creating = !coupon;
  const [form, setForm] = useState(() => formFromCoupon(coupon, segmentId));
  const save = useAction();
  const set = (name) => (event) => {
    const target = event.target;
    setForm((old) => ({ ...old, [name]: target.type === "checkbox" ? target.checked : target.value }));
  };
  const error = formError(save.error, { creating, version: coupon && coupon.metadata.version });
  useEffect(() => {
    // The first input with an error takes the focus, so a keyboard user lands where the fix is.
    if (!error) return;
    const invalid = document.querySelector(".coupon-form [aria-invalid='true']");
    if (invalid) invalid.focus();
  }, [save.error]);
  const submit = async (event) => {
    event.preventDefault();
    const body = bodyFromForm(form, coupon);
    const saved = await save.run(async () => {
      if (creating) return (await api.post(COUPONS, body)).data.id;
      await api.put(couponPath(coupon.code), body);
      return coupon.code;
    });
    if (saved === undefined) return;
    announce(creating ? `Coupon ${saved} created.` : `Coupon ${saved} saved.`);
    go(href("coupons", saved));
  };
  const title = creating ? "New coupon" : `Edit coupon ${coupon.code}`;
  const field = (label, name, control, hint) => html`<${Field} label=${label} name=${name} error=${error} hint=${hint}>
    ${control}
  <//>`;
  return html`<div class="page-header">
      <h1>${title}</h1>
      <div class="actions">
        ${!creating && html`<${DeleteCouponButton} coupon=${coupon} />`}
      </div>
    </div>
    ${!creating && html`<p class="subtitle">${coupon.name} · ${discountText(coupon)} · version ${coupon.metadata.version}</p>`}
    <form class="coupon-form" onSubmit=${submit} noValidate aria-label=${title}>
      <${ErrorNotice} error=${error} shownFields=${FORM_FIELDS} />
      ${error && error.conflict && html`<p><button type="button" class="secondary" onClick=${reload}>Reload the coupon</button></p>`}
      <section aria-labelledby="coupon-basics">
        <h2 id="coupon-basics">Coupon</h2>
        <div class="grid-2">
          ${creating
            ? field("Code", "code", (p) => html`<input ...${p} value=${form.code} onInput=${set("code")} autocomplete="off"
                placeholder="WINTER25" />`, "Letters, digits, _ and -; stored in capitals. Leave empty to have one generated.")
            : html`<div class="field"><span class="label">Code</span><p><code>${coupon.code}</code></p></div>`}
          ${field("Name", "name", (p) => html`<input ...${p} value=${form.name} onInput=${set("name")} required />`)}
        </div>
        ${field("Description", "description", (p) => html`<textarea ...${p} rows="2" value=${form.description}
          onInput=${set("description")}></textarea>`)}
      </section>
      <section aria-labelledby="coupon-discount">
        <h2 id="coupon-discount">Discount</h2>
        <div class="grid-2">
          ${field("Discount type", "discountType", (p) => html`<select ...${p} value=${form.discountType} onChange=${set("discountType")}>
            <option value="PERCENT">Percentage of the order</option>
            <option value="ABSOLUTE">Fixed amount</option>
            <option value="FREE_SHIPPING">Free shipping</option>
          </select>`)}
          ${field("Applied to", "discountCalculationType", (p) => html`<select ...${p} value=${form.discountCalculationType}
            onChange=${set("discountCalculationType")}>
            <option value="SUBTOTAL">Subtotal (before shipping and taxes)</option>
            <option value="TOTAL">Total</option>
          </select>`)}
        </div>
        ${form.discountType === "PERCENT" &&
        field("Percentage off", "discountPercentage", (p) => html`<input ...${p} type="number" inputmode="decimal" min="0"
          max="100" step="any" value=${form.discountPercentage} onInput=${set("discountPercentage")} />`, "0 to 100.")}
        ${form.discountType === "ABSOLUTE" &&
        html`<div class="grid-2">
          ${field("Amount off", "discountAbsolute.amount", (p) => html`<input ...${p} type="number" inputmode="decimal"
            min="0" step="any" value=${form.amount} onInput=${set("amount")} />`)}
          ${field("Currency", "discountAbsolute.currency", (p) => html`<input ...${p} value=${form.currency} maxLength="3"
            class="currency" onInput=${set("currency")} />`, "ISO 4217, e.g. EUR or USD.")}
        </div>`}
      </section>
      <section aria-labelledby="coupon-audience">
        <h2 id="coupon-audience">Who may redeem it</h2>
        <fieldset>
          <legend class="visually-hidden">Who may redeem it</legend>
          ${[
            ["everyone", "Every customer"],
            ["segments", "Members of chosen segments"],
            ["customers", "Only the listed customers"],
          ].map(
            ([value, label]) => html`<label key=${value}>
              <input type="radio" name="audience" value=${value} checked=${form.audience === value}
                onChange=${() => setForm((old) => ({ ...old, audience: value }))} />
              ${label}
            </label>`,
          )}
        </fieldset>
        ${form.audience === "segments" &&
        html`<${SegmentPicker} chosen=${form.segments} error=${error}
          onChange=${(segments) => setForm((old) => ({ ...old, segments }))} />`}
        ${form.audience === "customers" &&
        field("Customer numbers", "restrictions.validFor", (p) => html`<textarea ...${p} rows="3" value=${form.validFor}
          onInput=${set("validFor")} placeholder="C1001, C1002"></textarea>`, "One per line, or separated by commas.")}
        <label class="checkbox">
          <input type="checkbox" name="allowAnonymous" checked=${form.allowAnonymous} onChange=${set("allowAnonymous")} />
          Guests without an account may redeem it too
        </label>
      </section>
      <section aria-labelledby="coupon-limits">
        <h2 id="coupon-limits">Limits</h2>
        <div class="grid-2">
          ${field("Redemptions in total", "maxRedemptions", (p) => html`<input ...${p} type="number" min="1" step="1"
            value=${form.maxRedemptions} onInput=${set("maxRedemptions")} placeholder="Unlimited" />`, "Empty: unlimited.")}
          ${field("Redemptions per customer", "maxRedemptionsPerCustomer", (p) => html`<input ...${p} type="number" min="1"
            step="1" value=${form.maxRedemptionsPerCustomer} onInput=${set("maxRedemptionsPerCustomer")}
            placeholder="Unlimited" />`, "Empty: unlimited. Must stay empty when guests may redeem it.")}
          ${field("Valid from", "restrictions.validFrom", (p) => html`<input ...${p} type="datetime-local"
            value=${form.validFrom} onInput=${set("validFrom")} />`, `Empty: from now on. Times are in ${timeZone()}.`)}
          ${field("Valid until", "restrictions.validUntil", (p) => html`<input ...${p} type="datetime-local"
            value=${form.validUntil} onInput=${set("validUntil")} />`, "Empty: no end. The end is included.")}
          ${field("Minimum order value", "restrictions.minOrderValue.amount", (p) => html`<input ...${p} type="number"
            min="0" step="any" inputmode="decimal" value=${form.minOrderAmount} onInput=${set("minOrderAmount")}
            placeholder="None" />`)}
          ${field("Minimum order currency", "restrictions.minOrderValue.currency", (p) => html`<input ...${p} maxLength="3"
            class="currency" value=${form.minOrderCurrency} onInput=${set("minOrderCurrency")} />`)}
        </div>
      </section>
      <div class="form-actions">
        <button type="submit" aria-busy=${save.busy ? "true" : "false"} disabled=${save.busy}>
          ${creating ? "Create coupon" : "Save changes"}
        </button>
        <a role="button" class="secondary outline" href=${creating ? "#/coupons" : href("coupons", coupon.code)}>Cancel</a>
      </div>
    </form>`;
}

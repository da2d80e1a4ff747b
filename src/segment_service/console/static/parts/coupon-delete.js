// Deleting a coupon, from its page or its edit page: a button and the question before the (soft) delete.

import { api, can } from "../api.js";
import { ConfirmDialog, announce, go, html, useState } from "../ui.js";
import { couponPath } from "./coupon-api.js";

export function DeleteCouponButton({ coupon }) {
  const [open, setOpen] = useState(false);
  if (!can("coupon.coupon_manage")) return null;
  const count = coupon.redemptionCount ?? 0;
  const remove = async () => {
    await api.delete(couponPath(coupon.code));
    setOpen(false);
    announce(`Coupon ${coupon.code} deleted.`);
    go("#/coupons");
  };
  return html`<button type="button" class="danger" onClick=${() => setOpen(true)}>Delete coupon</button>
    <${ConfirmDialog} open=${open} title=${`Delete coupon ${coupon.code}?`} confirmLabel="Delete coupon" danger
      onConfirm=${remove} onCancel=${() => setOpen(false)}>
      <p>Nobody can redeem “${coupon.name}” any more, and its code cannot be given to a new coupon.
        ${count > 0 ? ` Its ${count} redemption${count === 1 ? "" : "s"} stay readable through the API.` : ""}</p>
    <//>`;
}

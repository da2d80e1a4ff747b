// The coupon form's model: a coupon (coupon.yml) to the form's values and back, and the API's field errors matched
// to the form's inputs. Kept apart from the page so that the mapping can be read (and changed) in one place.

/** Members the API computes; they are left out of a PUT (it ignores them, but a body should say what it means). */
const READ_ONLY = ["code", "status", "redemptionCount", "legalEntityRedemptions", "referralCoupon", "deleted"];

/** "2025-01-31T23:59" in the reader's time zone, for <input type="datetime-local">; "" for none. */
export function toLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/** An ISO 8601 instant from the input's local time; text that is no date goes as it is, for the API to name. */
function fromLocalInput(value, original) {
  if (!value) return null;
  // Unchanged: send the stored instant, which may have seconds and milliseconds the input does not show.
  if (original && toLocalInput(original) === value) return original;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";

const numberText = (value) => (value === undefined || value === null ? "" : String(value));
const limitInput = (value) => (value === undefined || value === null || Number(value) < 0 ? "" : String(value));

/** The form's values for a coupon (or a new one, optionally restricted to `segmentId`). */
export function formFromCoupon(coupon, segmentId) {
  if (!coupon) {
    return {
      code: "",
      name: "",
      description: "",
      discountType: "PERCENT",
      discountPercentage: "",
      amount: "",
      currency: "EUR",
      discountCalculationType: "SUBTOTAL",
      allowAnonymous: false,
      maxRedemptions: "",
      maxRedemptionsPerCustomer: "",
      validFrom: "",
      validUntil: "",
      audience: segmentId ? "segments" : "everyone",
      segments: segmentId ? [segmentId] : [],
      validFor: "",
      minOrderAmount: "",
      minOrderCurrency: "EUR",
    };
  }
  const r = coupon.restrictions || {};
  const validFor = r.validFor || [];
  return {
    code: coupon.code,
    name: coupon.name || "",
    description: coupon.description || "",
    discountType: coupon.discountType || "ABSOLUTE",
    discountPercentage: numberText(coupon.discountPercentage),
    amount: numberText(coupon.discountAbsolute && coupon.discountAbsolute.amount),
    currency: (coupon.discountAbsolute && coupon.discountAbsolute.currency) || "EUR",
    discountCalculationType: coupon.discountCalculationType || "SUBTOTAL",
    allowAnonymous: Boolean(coupon.allowAnonymous),
    maxRedemptions: limitInput(coupon.maxRedemptions),
    maxRedemptionsPerCustomer: limitInput(coupon.maxRedemptionsPerCustomer),
    validFrom: toLocalInput(r.validFrom),
    validUntil: toLocalInput(r.validUntil),
    audience: coupon.segmentRestricted ? "segments" : validFor.length ? "customers" : "everyone",
    segments: r.segments || [],
    validFor: validFor.join("\n"),
    minOrderAmount: numberText(r.minOrderValue && r.minOrderValue.amount),
    minOrderCurrency: (r.minOrderValue && r.minOrderValue.currency) || "EUR",
  };
}

// Empty means "not given" (the API's default); anything else goes as a number, or as the text itself when it is no
// number, so that the API names the field.
function number(value) {
  const text = String(value).trim();
  if (text === "") return undefined;
  const parsed = Number(text.replace(",", "."));
  return Number.isFinite(parsed) ? parsed : text;
}

const currency = (value) => String(value || "").trim().toUpperCase();

/** The body of a create (no `original`) or of a PUT that replaces `original`: members the form does not show
 * (categories, mixins, issuedTo) are kept as they are, and `metadata.version` makes the write conditional. */
export function bodyFromForm(form, original) {
  const percentage = number(form.discountPercentage);
  const amount = number(form.amount);
  const minimum = number(form.minOrderAmount);
  const maxRedemptions = number(form.maxRedemptions);
  const perCustomer = number(form.maxRedemptionsPerCustomer);
  const before = (original && original.restrictions) || {};
  const restrictions = {
    ...before,
    validFrom: fromLocalInput(form.validFrom, before.validFrom),
    validUntil: fromLocalInput(form.validUntil, before.validUntil),
    segments: form.audience === "segments" ? form.segments : null,
    validFor:
      form.audience === "customers"
        ? form.validFor
            .split(/[\s,;]+/)
            .map((id) => id.trim())
            .filter(Boolean)
        : [],
    minOrderValue: minimum === undefined ? null : { amount: minimum, currency: currency(form.minOrderCurrency) },
  };
  const body = {
    name: form.name.trim(),
    description: form.description.trim() || null,
    discountType: form.discountType,
    discountCalculationType: form.discountCalculationType,
    allowAnonymous: form.allowAnonymous,
    maxRedemptions: maxRedemptions === undefined ? -1 : maxRedemptions,
    maxRedemptionsPerCustomer: perCustomer === undefined ? -1 : perCustomer,
    segmentRestricted: form.audience === "segments",
    restrictions,
  };
  // Only the discount of the chosen type: the API drops the other one anyway.
  if (form.discountType === "PERCENT" && percentage !== undefined) body.discountPercentage = percentage;
  if (form.discountType === "ABSOLUTE" && amount !== undefined) {
    body.discountAbsolute = { amount, currency: currency(form.currency) };
  }
  if (!original) {
    if (form.code.trim()) body.code = form.code.trim();
    return body;
  }
  const kept = { ...original };
  for (const member of READ_ONLY) delete kept[member];
  delete kept.discountPercentage;
  delete kept.discountAbsolute;
  return { ...kept, ...body, metadata: { ...(original.metadata || {}), version: original.metadata.version } };
}

/** The API's field paths that some input of the form shows under another name. */
const ALIASES = {
  discountAbsolute: "discountAbsolute.amount",
  "restrictions.minOrderValue": "restrictions.minOrderValue.amount",
  segmentRestricted: "restrictions.segments",
  categoryRestricted: "restrictions.segments",
  restrictions: "restrictions.validFrom",
};

/** Every field name an input of the form shows its error under (for ErrorNotice's shownFields). */
export const FORM_FIELDS = [
  "code",
  "name",
  "description",
  "discountType",
  "discountPercentage",
  "discountAbsolute.amount",
  "discountAbsolute.currency",
  "discountCalculationType",
  "allowAnonymous",
  "maxRedemptions",
  "maxRedemptionsPerCustomer",
  "restrictions.validFrom",
  "restrictions.validUntil",
  "restrictions.segments",
  "restrictions.validFor",
  "restrictions.minOrderValue.amount",
  "restrictions.minOrderValue.currency",
];

/** The save's error with each field error under the name of the input that shows it; a 409 in words. */
export function formError(error, { creating, version }) {
  if (!error) return null;
  const fields = {};
  for (const [field, message] of Object.entries(error.fields || {})) {
    // "$.discountPercentage" or "data.discountPercentage" in decode errors; the form's names in rule errors.
    const path = field.replace(/^\$\./, "").replace(/^data\./, "");
    fields[ALIASES[path] || path] = message;
  }
  let message = error.message;
  if (error.status === 409 && creating) {
    fields.code = "This code is taken, also when the coupon that had it was deleted. Choose another code.";
  } else if (error.status === 409) {
    message =
      `Someone else changed this coupon after you opened it (you edited version ${version}). ` +
      "Reload it to see the current coupon, then make your changes again.";
  }
  return { status: error.status, message, fields, conflict: error.status === 409 && !creating };
}

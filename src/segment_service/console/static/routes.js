// The console's addresses: a pattern (":name" is a parameter) and the module in pages/ that shows it. The first
// pattern that matches wins. Creation pages have addresses of their own (#/new-segment), so no id is ever taken for
// a word of the console's.

export const ROUTES = [
  { pattern: ["segments"], module: "segments" },
  { pattern: ["new-segment"], module: "segment-edit" },
  { pattern: ["segments", ":segmentId", "edit"], module: "segment-edit" },
  { pattern: ["segments", ":segmentId", "rule"], module: "rule" },
  { pattern: ["segments", ":segmentId"], module: "segment" },
  { pattern: ["segments", ":segmentId", ":tab"], module: "segment" },
  { pattern: ["customers"], module: "customers" },
  { pattern: ["customers", ":customerId"], module: "customer" },
  { pattern: ["coupons"], module: "coupons" },
  { pattern: ["new-coupon"], module: "coupon-edit" },
  { pattern: ["coupons", ":code", "edit"], module: "coupon-edit" },
  { pattern: ["coupons", ":code"], module: "coupon" },
  { pattern: ["webhooks"], module: "webhooks" },
  { pattern: ["webhooks", ":tab"], module: "webhooks" },
  { pattern: ["import"], module: "import" },
];

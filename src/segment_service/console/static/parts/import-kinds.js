// The kinds of rows the import takes (docs/operations.md#import): their labels, the scopes a token needs for each
// (every set, any one scope of a set; transfer/scopes.py), and an example file's first lines for the help.

export const KINDS = [
  {
    value: "customer-assignments",
    label: "Customer assignments (segment members)",
    scopes: [["customersegment.segment_manage"]],
    csv: ["segmentId,customerId,legalEntityId,mixins", 'gold,c1,,"{""rank"": 3}"', "gold,c2,acme,"],
    ndjson: '{"segmentId": "gold", "customerId": "c1", "mixins": {"rank": 3}}',
  },
  {
    value: "item-assignments",
    label: "Item assignments (products and categories of segments)",
    scopes: [["customersegment.segment_manage"]],
    csv: ["segmentId,type,id,mixins.note", "gold,PRODUCT,p1234,imported", "gold,CATEGORY,tools,"],
    ndjson: '{"segmentId": "gold", "type": "PRODUCT", "id": "p1234"}',
  },
  {
    value: "segments",
    label: "Segments",
    scopes: [["customersegment.segment_manage"]],
    csv: ["id,name.en,siteCode,status", "gold,Gold,main,ACTIVE"],
    ndjson: '{"id": "gold", "name": {"en": "Gold"}, "siteCode": "main", "status": "ACTIVE"}',
  },
  {
    value: "customers",
    label: "Customers",
    scopes: [["customer.customer_manage"]],
    csv: ["id,contactEmail,firstName,lastName,active", "c1,ann@example.com,Ann,Lee,true"],
    ndjson: '{"id": "c1", "contactEmail": "ann@example.com", "firstName": "Ann", "active": true}',
  },
  {
    value: "legal-entities",
    label: "Legal entities",
    scopes: [["customermanagement.legalentity_manage"]],
    csv: ["id,name,type", "acme,Acme Inc.,COMPANY"],
    ndjson: '{"id": "acme", "name": "Acme Inc.", "type": "COMPANY"}',
  },
  {
    value: "contacts",
    label: "Contacts (customers of legal entities)",
    scopes: [["customermanagement.contactassignment_manage"]],
    csv: ["id,legalEntity.id,customer.id,type,primary", "ca1,acme,c1,CONTACT,false"],
    ndjson: '{"id": "ca1", "legalEntity": {"id": "acme"}, "customer": {"id": "c1"}, "type": "CONTACT"}',
  },
  {
    value: "products",
    label: "Products",
    scopes: [["product.product_manage"]],
    csv: ["id,code,name.en,published", "p1234,p1234,Premium coffee,true"],
    ndjson: '{"id": "p1234", "code": "p1234", "name": {"en": "Premium coffee"}, "published": true}',
  },
  {
    value: "categories",
    label: "Categories",
    scopes: [["category.category_manage"]],
    csv: ["id,code,localizedName.en,published", "tools,tools,Tools,true"],
    ndjson: '{"id": "tools", "code": "tools", "localizedName": {"en": "Tools"}, "published": true}',
  },
  {
    value: "orders",
    label: "Orders (purchase history)",
    scopes: [["order.order_create"], ["order.order_update", "order.order_update_completed"]],
    csv: [
      "id,customer.id,currency,status,created,entries",
      'EON1,c1,EUR,COMPLETED,2024-05-14T12:00:00Z,"[{""id"": ""p1234"", ""amount"": 2, ""calculatedPrice"": {""finalPrice"": {""grossValue"": 9.5}}}]"',
    ],
    ndjson:
      '{"id": "EON1", "customer": {"id": "c1"}, "currency": "EUR", "status": "COMPLETED", "created": "2024-05-14T12:00:00Z", "entries": [{"id": "p1234", "amount": 2, "calculatedPrice": {"finalPrice": {"grossValue": 9.5}}}]}',
  },
];

/** The kind's entry, or null. */
export function kindOf(value) {
  return KINDS.find((kind) => kind.value === value) || null;
}

/** The kinds a token with `can(scope)` may import. */
export function importableKinds(can) {
  return KINDS.filter((kind) => kind.scopes.every((set) => set.some((scope) => can(scope))));
}

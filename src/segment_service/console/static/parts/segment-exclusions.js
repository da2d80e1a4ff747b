// A segment's exclusions (docs/rules.md#manual-overrides): who is kept out of it whatever its rule or a manual
// assignment says, and lifting one. The list names customers by id only, so their names are read in one query.

import { api, can, seg } from "../api.js";
import { ErrorNotice, Pager, announce, href, html, useLoad, useState, when } from "../ui.js";
import { CUSTOMERS, LEGAL_ENTITIES, MANAGE, SEGMENTS, personName } from "./segment-common.js";

const PAGE_SIZE = 20;

const quoted = (id) => `"${String(id).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;

/** The customers and legal entities an exclusion page names, by id (those gone are simply missing). */
async function namesOf(exclusions) {
  const customerIds = [...new Set(exclusions.map((e) => e.customerId))];
  const entityIds = [...new Set(exclusions.map((e) => e.legalEntityId).filter(Boolean))];
  const [customers, entities] = await Promise.all([
    customerIds.length
      ? api.list(CUSTOMERS, { q: `id:(${customerIds.map(quoted).join(",")})`, pageSize: customerIds.length })
      : { items: [] },
    entityIds.length
      ? api.list(LEGAL_ENTITIES, { q: `id:(${entityIds.map(quoted).join(",")})`, pageSize: entityIds.length })
      : { items: [] },
  ]);
  return {
    customers: new Map(customers.items.map((c) => [c.id, c])),
    entities: new Map(entities.items.map((le) => [le.id, le])),
  };
}

export function SegmentExclusions({ segment, revision, onChange, confirm }) {
  const [page, setPage] = useState(1);
  const path = `${SEGMENTS}/${seg(segment.id)}/exclusions`;
  const list = useLoad(async () => {
    const found = await api.list(path, { pageNumber: page, pageSize: PAGE_SIZE });
    // Names are a courtesy: without them the ids still say who is excluded.
    const names = await namesOf(found.items).catch(() => ({ customers: new Map(), entities: new Map() }));
    return { ...found, ...names };
  }, [segment.id, page, revision]);
  const manage = can(MANAGE);

  const lift = (exclusion, who) => {
    confirm.ask({
      title: `Lift the exclusion of ${who}?`,
      confirmLabel: "Lift exclusion",
      danger: false,
      body: html`<p>The segment's rule decides about <strong>${who}</strong> again at once, and they can be assigned
        by hand. Earlier manual assignments do not come back by themselves.</p>`,
      onConfirm: async () => {
        const le = exclusion.legalEntityId;
        await api.delete(le ? `${path}/${seg(exclusion.customerId)}/${seg(le)}` : `${path}/${seg(exclusion.customerId)}`);
        announce(`The exclusion of ${who} is lifted.`);
        onChange();
      },
    });
  };

  const data = list.data;
  return html`<section class="exclusions" aria-labelledby="exclusions-heading">
    <h2 id="exclusions-heading">Excluded</h2>
    <p class="hint">Excluded customers are never members of this segment, whatever its rule says or who assigns them.</p>
    <${ErrorNotice} error=${list.error} />
    ${list.loading && !data && html`<p aria-busy="true">Loading exclusions…</p>`}
    ${data && data.items.length === 0 && html`<p class="empty">No one is excluded.</p>`}
    ${data && data.items.length > 0 &&
    html`<table class="striped">
        <caption class="visually-hidden">Exclusions from the segment</caption>
        <thead>
          <tr>
            <th scope="col">Customer</th>
            <th scope="col">Excluded as</th>
            <th scope="col">Since</th>
            ${manage && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
          </tr>
        </thead>
        <tbody>
          ${data.items.map((exclusion) => {
            const customer = data.customers.get(exclusion.customerId);
            const who = customer ? personName(customer) : exclusion.customerId;
            const le = exclusion.legalEntityId;
            const entity = le ? data.entities.get(le) : null;
            return html`<tr key=${`${exclusion.customerId}/${le || ""}`}>
              <td><a href=${href("customers", exclusion.customerId)}>${who}</a></td>
              <td>${le ? `Contact of ${entity ? entity.name : le}` : "Everywhere (B2C and every legal entity)"}</td>
              <td>${when(exclusion.createdAt)}</td>
              ${manage &&
              html`<td class="row-actions">
                <button type="button" class="secondary outline small" aria-label=${`Lift the exclusion of ${who}`}
                  onClick=${() => lift(exclusion, who)}>Lift</button>
              </td>`}
            </tr>`;
          })}
        </tbody>
      </table>
      <${Pager} page=${page} pageSize=${PAGE_SIZE} total=${data.total} count=${data.items.length}
        label="Exclusion pages" onPage=${setPage} />`}
  </section>`;
}

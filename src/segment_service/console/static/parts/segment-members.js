// The members tab of a segment: its customer assignments, paged and searchable, with remove and exclude; adding
// customers and contacts (segment-member-add.js); and the segment's exclusions (segment-exclusions.js).

import { api, can, seg } from "../api.js";
import { Badge, ErrorNotice, Field, Pager, announce, go, href, html, useEffect, useLoad, useState } from "../ui.js";
import { containsPattern } from "../query.js";
import { MANAGE, SEGMENTS, personName } from "./segment-common.js";
import { AddMembers } from "./segment-member-add.js";
import { SegmentExclusions } from "./segment-exclusions.js";

const PAGE_SIZE = 20;
// The assignment list's q has no "any of these fields", so the reader picks the field to search in.
const SEARCH_FIELDS = [
  { value: "customer.email", label: "Email" },
  { value: "customer.lastName", label: "Last name" },
  { value: "customer.firstName", label: "First name" },
  { value: "legalEntity.name", label: "Legal entity" },
  { value: "customer.id", label: "Customer id" },
];

/** The assignment's path under the segment's customers: B2C by customer, B2B by customer and legal entity. */
function assignmentPath(segmentId, member) {
  const base = `${SEGMENTS}/${seg(segmentId)}`;
  const le = member.legalEntity && member.legalEntity.id;
  return le ? `${base}/customers/${seg(member.customer.id)}/${seg(le)}` : `${base}/customers/${seg(member.customer.id)}`;
}

function exclusionPath(segmentId, member) {
  const base = `${SEGMENTS}/${seg(segmentId)}/exclusions/${seg(member.customer.id)}`;
  const le = member.legalEntity && member.legalEntity.id;
  return le ? `${base}/${seg(le)}` : base;
}

export function SegmentMembers({ segment, query, confirm }) {
  const page = Math.max(1, Number(query.page) || 1);
  const field = SEARCH_FIELDS.some((f) => f.value === query.field) ? query.field : SEARCH_FIELDS[0].value;
  const text = (query.text || "").trim();
  const q = text ? `${field}:~(${containsPattern(text)})` : "";
  const [revision, setRevision] = useState(0);
  const [form, setForm] = useState({ field, text });
  // The address is the truth (back button, "Show all"): the form follows it.
  useEffect(() => setForm({ field, text }), [field, text]);
  const list = useLoad(
    () =>
      api.list(`${SEGMENTS}/${seg(segment.id)}/customers`, {
        q,
        pageNumber: page,
        pageSize: PAGE_SIZE,
        sort: "customer.lastName:ASC,customer.firstName:ASC",
      }),
    [segment.id, q, page, revision],
  );
  const changed = () => setRevision((r) => r + 1);
  const manage = can(MANAGE);

  const search = (event) => {
    event.preventDefault();
    go(href("segments", segment.id, "members", { field: form.field, text: form.text.trim() }));
  };

  const remove = (member) => {
    const who = personName(member.customer);
    confirm.ask({
      title: `Remove ${who} from the segment?`,
      confirmLabel: "Remove member",
      body: html`<p>The manual assignment of <strong>${who}</strong>
        ${member.legalEntity ? html` as a contact of <strong>${member.legalEntity.name || member.legalEntity.id}</strong>` : " (B2C)"}${" "}
        goes. If the segment's rule matches them, they stay as an automatic member; exclude them to keep them out.</p>`,
      onConfirm: async () => {
        await api.delete(assignmentPath(segment.id, member));
        announce(`${who} removed from the segment.`);
        changed();
      },
    });
  };

  const exclude = (member) => {
    const who = personName(member.customer);
    const le = member.legalEntity;
    confirm.ask({
      title: `Exclude ${who} from the segment?`,
      confirmLabel: "Exclude",
      body: html`<p>
        ${le
          ? html`<strong>${who}</strong> leaves the segment as a contact of <strong>${le.name || le.id}</strong>, and
              neither the rule nor a manual assignment can bring them back for that legal entity.`
          : html`<strong>${who}</strong> leaves the segment <strong>in every context</strong> (B2C and as a contact of
              any legal entity), and neither the rule nor a manual assignment can bring them back.`}${" "}
        You can lift the exclusion below at any time.</p>`,
      onConfirm: async () => {
        await api.put(exclusionPath(segment.id, member), {});
        announce(`${who} excluded from the segment.`);
        changed();
      },
    });
  };

  const data = list.data;
  return html`<section aria-labelledby="members-heading">
      <h2 id="members-heading" class="visually-hidden">Members</h2>
      <form class="search" role="search" aria-label="Find members" onSubmit=${search}>
        <div class="toolbar">
          <${Field} label="Search in" name="field">
            ${(props) => html`<select ...${props} value=${form.field} onChange=${(e) => setForm({ ...form, field: e.target.value })}>
              ${SEARCH_FIELDS.map((f) => html`<option value=${f.value}>${f.label}</option>`)}
            </select>`}
          <//>
          <${Field} label="Contains" name="text">
            ${(props) => html`<input ...${props} type="search" value=${form.text}
              onInput=${(e) => setForm({ ...form, text: e.target.value })} />`}
          <//>
          <button type="submit">Search</button>
          ${text && html`<a href=${href("segments", segment.id, "members")}>Show all</a>`}
        </div>
      </form>
      <${ErrorNotice} error=${list.error} />
      ${list.loading && !data && html`<p aria-busy="true">Loading members…</p>`}
      ${data &&
      html`<figure aria-busy=${list.loading ? "true" : "false"}>
          <table class="striped">
            <caption class="visually-hidden">Members of the segment</caption>
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Legal entity</th>
                <th scope="col">Assignment</th>
                ${manage && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
              </tr>
            </thead>
            <tbody>
              ${data.items.map((member) => {
                const who = personName(member.customer);
                const le = member.legalEntity;
                return html`<tr key=${`${member.customer.id}/${le ? le.id : ""}`}>
                  <td>
                    <a href=${href("customers", member.customer.id)}>${who}</a>
                    ${member.customer.email && who !== member.customer.email && html`<br /><small>${member.customer.email}</small>`}
                  </td>
                  <td>${le ? le.name || le.id : html`<span class="muted">B2C</span>`}</td>
                  <td><${Badge} value=${member.assignmentType} /></td>
                  ${manage &&
                  html`<td class="row-actions">
                    ${member.assignmentType !== "AUTOMATIC" &&
                    html`<button type="button" class="secondary outline small" aria-label=${`Remove ${who}`}
                      onClick=${() => remove(member)}>Remove</button>`}
                    <button type="button" class="secondary outline small" aria-label=${`Exclude ${who}`}
                      onClick=${() => exclude(member)}>Exclude</button>
                  </td>`}
                </tr>`;
              })}
            </tbody>
          </table>
        </figure>
        ${data.items.length === 0 &&
        html`<p class="empty">${text ? "No member matches." : "No members yet. Add customers below, or give the segment a rule."}</p>`}
        ${(data.items.length > 0 || page > 1) &&
        html`<${Pager} page=${page} pageSize=${PAGE_SIZE} total=${data.total} count=${data.items.length}
          label="Member pages" onPage=${(next) => go(href("segments", segment.id, "members", { ...query, page: next }))} />`}`}
    </section>
    ${manage && html`<${AddMembers} segment=${segment} onAdded=${changed} />`}
    <${SegmentExclusions} segment=${segment} revision=${revision} onChange=${changed} confirm=${confirm} />`;
}

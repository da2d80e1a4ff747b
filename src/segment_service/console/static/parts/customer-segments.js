// A customer's segments (the segments list filtered by `customerId`, and `legalEntityId` for a context) and, for
// each membership (B2C, or as a contact of a legal entity), why: GET …/explain with its tree.

import { api, seg } from "../api.js";
import { Badge, ErrorNotice, href, html, localized, useLoad } from "../ui.js";
import { qValue } from "../query.js";
import { ExplainResult, becauseText } from "./rule-explain.js";

const SEGMENTS = "/customer-segment/{tenant}/segments";

/** Whether a segment counts for storefront reads now: ACTIVE and inside its validity (from inclusive, to exclusive). */
export function activeNow(segment, now = Date.now()) {
  if (segment.status !== "ACTIVE") return false;
  const validity = segment.validity || {};
  if (validity.from && Date.parse(validity.from) > now) return false;
  if (validity.to && Date.parse(validity.to) <= now) return false;
  return true;
}

/** The customer's segments in a context: with `legalEntityId`, its memberships for it plus its B2C ones. */
export function loadCustomerSegments(customerId, context) {
  return api
    .list(SEGMENTS, { customerId, legalEntityId: context || null, pageSize: 1000, sort: "name:ASC" })
    .then((page) => page.items);
}

function Why({ segmentId, customerId, assignment }) {
  const legalEntityId = assignment.legalEntity ? assignment.legalEntity.id : null;
  const answer = useLoad(
    () => api.get(`${SEGMENTS}/${seg(segmentId)}/explain`, { customerId, legalEntityId }).then((a) => a.data),
    [segmentId, customerId, legalEntityId],
  );
  const where = assignment.legalEntity ? `as a contact of ${assignment.legalEntity.name || legalEntityId}` : "B2C";
  if (answer.error) return html`<div><small>${where}:</small> <${ErrorNotice} error=${answer.error} /></div>`;
  if (!answer.data) return html`<div aria-busy="true"><small>${where}: finding out why…</small></div>`;
  return html`<div class="why">
    <div><small>${where}:</small> <${Badge} value=${answer.data.because} /> ${becauseText(answer.data)}</div>
    ${answer.data.condition &&
    html`<details>
      <summary>The rule, evaluated for ${where === "B2C" ? "the customer" : where}</summary>
      <${ExplainResult} answer=${answer.data} withReason=${false} />
    </details>`}
  </div>`;
}

function SegmentRow({ segment, customerId, context }) {
  // The customer's assignments in this segment: each is a membership with a reason of its own.
  const assignments = useLoad(
    () => api.list(`${SEGMENTS}/${seg(segment.id)}/customers`, { q: `customer.id:${qValue(customerId)}`, pageSize: 100 })
      .then((page) => page.items.filter((a) => !context || !a.legalEntity || a.legalEntity.id === context)),
    [segment.id, customerId, context],
  );
  return html`<tr>
    <td><a href=${href("segments", segment.id)}>${localized(segment.name) || segment.id}</a></td>
    <td><${Badge} value=${segment.status} />${segment.status === "ACTIVE" && !activeNow(segment) ? html` <small>(outside its validity)</small>` : ""}</td>
    <td>
      ${assignments.error && html`<${ErrorNotice} error=${assignments.error} />`}
      ${!assignments.data && !assignments.error && html`<span aria-busy="true"></span>`}
      ${assignments.data && assignments.data.map((a) => html`<${Badge} value=${a.assignmentType} /> `)}
    </td>
    <td>
      ${assignments.data &&
      assignments.data.map((a) => html`<${Why} key=${a.legalEntity ? a.legalEntity.id : "b2c"} segmentId=${segment.id}
        customerId=${customerId} assignment=${a} />`)}
    </td>
  </tr>`;
}

export function CustomerSegments({ customerId, context }) {
  const list = useLoad(() => loadCustomerSegments(customerId, context), [customerId, context]);
  return html`<section aria-labelledby="segments-title">
    <h2 id="segments-title">Segments</h2>
    <${ErrorNotice} error=${list.error} />
    ${list.loading && !list.data && html`<p aria-busy="true">Loading segments…</p>`}
    ${list.data && list.data.length === 0 && html`<p class="empty">Not a member of any segment${context ? " in this context" : ""}.</p>`}
    ${list.data &&
    list.data.length > 0 &&
    html`<table class="striped customer-segments">
      <caption class="visually-hidden">Segments of the customer</caption>
      <thead><tr><th scope="col">Segment</th><th scope="col">Status</th><th scope="col">Membership</th><th scope="col">Why</th></tr></thead>
      <tbody>
        ${list.data.map((s) => html`<${SegmentRow} key=${s.id} segment=${s} customerId=${customerId} context=${context} />`)}
      </tbody>
    </table>`}
  </section>`;
}

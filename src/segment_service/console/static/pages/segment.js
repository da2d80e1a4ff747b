// One segment: its facts and actions, and tabs with their own addresses (#/segments/<id>/members, /items, /coupons)
// for its members (and exclusions), its items, and the coupons restricted to it.

import { api, can, seg } from "../api.js";
import { Badge, ErrorNotice, Tabs, href, html, localized, useLoad } from "../ui.js";
import { MANAGE, SEGMENTS, useConfirm, validityText } from "../parts/segment-common.js";
import { useDeleteSegment } from "../parts/segment-delete.js";
import { SegmentMembers } from "../parts/segment-members.js";
import { SegmentItems } from "../parts/segment-items.js";
import { SegmentCoupons } from "../parts/segment-coupons.js";

const TABS = [
  { id: "members", label: "Members", component: SegmentMembers },
  { id: "items", label: "Items", component: SegmentItems },
  { id: "coupons", label: "Coupons", component: SegmentCoupons },
];

export default function SegmentPage({ params, query }) {
  const segmentId = params.segmentId;
  const tabId = params.tab || "members";
  const loaded = useLoad(() => api.get(`${SEGMENTS}/${seg(segmentId)}`).then((answer) => answer.data), [segmentId]);
  const confirm = useConfirm();
  const deletion = useDeleteSegment(confirm);
  const segment = loaded.data;

  if (loaded.loading && !segment) return html`<p aria-busy="true">Loading the segment…</p>`;
  if (loaded.error) {
    return html`<h1>${loaded.error.status === 404 ? "Segment not found" : "The segment did not load"}</h1>
      <${ErrorNotice} error=${loaded.error} />
      <p><a href="#/segments">Back to the segments</a></p>`;
  }
  const tab = TABS.find((t) => t.id === tabId);
  const name = localized(segment.name) || segment.id;
  const description = localized(segment.description);
  const Content = tab ? tab.component : null;
  return html`<p class="breadcrumb"><a href="#/segments">Segments</a></p>
    <div class="page-header">
      <h1>${name}</h1>
      <div class="actions">
        ${can(MANAGE) && html`<a role="button" class="secondary" href=${href("segments", segment.id, "edit")}>Edit</a>`}
        <a role="button" class="secondary outline" href=${href("segments", segment.id, "rule")}>Rule</a>
        ${can(MANAGE) && html`<button type="button" class="danger outline" aria-busy=${deletion.busy ? "true" : "false"}
          disabled=${deletion.busy} onClick=${() => deletion.start(segment)}>Delete</button>`}
      </div>
    </div>
    ${description && html`<p class="subtitle">${description}</p>`}
    <dl class="facts segment-facts">
      <dt>Status</dt><dd><${Badge} value=${segment.status} /></dd>
      <dt>Site</dt><dd>${segment.siteCode}</dd>
      <dt>Valid</dt><dd>${validityText(segment.validity)}</dd>
      <dt>Id</dt><dd><code>${segment.id}</code></dd>
    </dl>
    <${ErrorNotice} error=${deletion.error} />
    <${Tabs} current=${tabId} tabs=${TABS.map((t) => ({ id: t.id, label: t.label, href: href("segments", segment.id, t.id) }))} />
    ${Content
      ? html`<${Content} key=${tabId} segment=${segment} query=${query} confirm=${confirm} />`
      : html`<p>This segment has no tab “${tabId}”. <a href=${href("segments", segment.id)}>Its members</a></p>`}
    ${confirm.dialog}`;
}

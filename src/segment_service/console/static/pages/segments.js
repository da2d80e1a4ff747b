// Segments: the list with search (a name, status and site builder that writes the `q` language, or `q` itself),
// paging, and each segment's member and item counts.

import { api, can, seg } from "../api.js";
import { containsPattern, qValue } from "../query.js";
import { Badge, ErrorNotice, Field, Pager, go, href, html, localized, useEffect, useLoad, useRef, useState, when } from "../ui.js";

const PAGE_SIZE = 20;
const SEGMENTS = "/customer-segment/{tenant}/segments";

/** The `q` the builder's choices mean; an explicit `q` wins. */
export function segmentQuery({ text, status, site, q }) {
  if (q && q.trim()) return q.trim();
  const terms = [];
  if (text && text.trim()) terms.push(`name:~(${containsPattern(text.trim())})`);
  if (status) terms.push(`status:${status}`);
  if (site && site.trim()) terms.push(`siteCode:${qValue(site.trim())}`);
  return terms.join(" ");
}

/** The number of members or items of a segment, read as a list's total. */
function Count({ segmentId, what }) {
  const { data, error } = useLoad(
    () => api.list(`${SEGMENTS}/${seg(segmentId)}/${what}`, { pageSize: 1 }).then((page) => page.total),
    [segmentId, what],
  );
  if (error) return html`<span title=${error.message}>—</span>`;
  return data === null ? html`<span aria-busy="true"></span>` : String(data);
}

export default function SegmentsPage({ query }) {
  const page = Math.max(1, Number(query.page) || 1);
  const [form, setForm] = useState({ text: query.text || "", status: query.status || "", site: query.site || "", q: query.q || "" });
  const [advanced, setAdvanced] = useState(Boolean(query.q));
  // The form follows the address when it changes (back, forward, a link), not on the first render: a reader may
  // already be typing then.
  const mounted = useRef(false);
  useEffect(() => {
    if (!mounted.current) {
      mounted.current = true;
      return;
    }
    setForm({ text: query.text || "", status: query.status || "", site: query.site || "", q: query.q || "" });
  }, [query.text, query.status, query.site, query.q]);
  const q = segmentQuery({ text: query.text, status: query.status, site: query.site, q: query.q });
  const list = useLoad(
    () => api.list(SEGMENTS, { q, pageNumber: page, pageSize: PAGE_SIZE, sort: "name:ASC" }),
    [q, page],
  );
  const search = (event) => {
    event.preventDefault();
    const chosen = advanced ? { q: form.q } : { text: form.text, status: form.status, site: form.site };
    go(href("segments", chosen));
  };
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  const builderQuery = segmentQuery({ ...form, q: "" });
  return html`<div class="page-header">
      <h1>Segments</h1>
      <div class="actions">
        ${can("customersegment.segment_manage") && html`<a role="button" href="#/new-segment">New segment</a>`}
      </div>
    </div>
    <form class="search" role="search" aria-label="Find segments" onSubmit=${search}>
      ${advanced
        ? html`<div class="toolbar">
            <${Field} label="q" name="q" error=${list.error} hint="For example: status:ACTIVE siteCode:main name.en:~Gold">
              ${(props) => html`<input ...${props} value=${form.q} onInput=${set("q")} placeholder="status:ACTIVE" />`}
            <//>
            <button type="submit">Search</button>
          </div>`
        : html`<div class="toolbar">
            <${Field} label="Name contains" name="text">
              ${(props) => html`<input ...${props} type="search" value=${form.text} onInput=${set("text")} />`}
            <//>
            <${Field} label="Status" name="status">
              ${(props) => html`<select ...${props} value=${form.status} onChange=${set("status")}>
                <option value="">Any</option>
                <option value="ACTIVE">Active</option>
                <option value="INACTIVE">Inactive</option>
              </select>`}
            <//>
            <${Field} label="Site" name="site">
              ${(props) => html`<input ...${props} value=${form.site} onInput=${set("site")} placeholder="main" />`}
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
    ${list.loading && !list.data && html`<p aria-busy="true">Loading segments…</p>`}
    ${list.data &&
    html`<figure>
        <table class="striped">
          <caption class="visually-hidden">Segments</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Status</th>
              <th scope="col">Site</th>
              <th scope="col">Validity</th>
              <th scope="col" class="number">Members</th>
              <th scope="col" class="number">Items</th>
            </tr>
          </thead>
          <tbody>
            ${list.data.items.map(
              (segment) => html`<tr key=${segment.id}>
                <td><a href=${href("segments", segment.id)}>${localized(segment.name) || segment.id}</a></td>
                <td><code>${segment.id}</code></td>
                <td><${Badge} value=${segment.status} /></td>
                <td>${segment.siteCode}</td>
                <td>${validityText(segment.validity)}</td>
                <td class="number"><${Count} segmentId=${segment.id} what="customers" /></td>
                <td class="number"><${Count} segmentId=${segment.id} what="items" /></td>
              </tr>`,
            )}
          </tbody>
        </table>
      </figure>
      ${list.data.items.length === 0 && html`<p class="empty">No segment matches.</p>`}
      <${Pager} page=${page} pageSize=${PAGE_SIZE} total=${list.data.total} count=${list.data.items.length}
        label="Segment pages" onPage=${(next) => go(href("segments", { ...query, page: next }))} />`}`;
}

function validityText(validity) {
  if (!validity || (!validity.from && !validity.to)) return "Always";
  if (validity.from && validity.to) return `${when(validity.from)} – ${when(validity.to)}`;
  return validity.from ? `From ${when(validity.from)}` : `Until ${when(validity.to)}`;
}

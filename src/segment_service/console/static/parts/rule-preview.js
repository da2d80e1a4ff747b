// The live preview of a rule being edited: POST …/rule/preview, 400 ms after the last change (a request per
// keystroke would be wasted work for the database), the older request cancelled when a newer one starts.

import { api, seg } from "../api.js";
import { ErrorNotice, href, html, useEffect, useLoad, useRef, useState } from "../ui.js";
import { CUSTOMERS, customerName } from "./customer-search.js";

const SEGMENTS = "/customer-segment/{tenant}/segments";
export const PREVIEW_DELAY_MS = 400;

/** {data, error, busy} of the preview of `body` (a rule body; null: nothing to preview); a new `refreshKey` (the
 * rule evaluated again) asks again, since who would join or leave depends on the members now. */
export function usePreview(segmentId, body, refreshKey = "") {
  const key = body ? JSON.stringify(body) : "";
  const [state, setState] = useState({ data: null, error: null, busy: false });
  const controller = useRef(null);
  useEffect(() => {
    if (controller.current) controller.current.abort();
    if (!key) {
      setState({ data: null, error: null, busy: false });
      return undefined;
    }
    setState((old) => ({ ...old, busy: true }));
    const mine = new AbortController();
    controller.current = mine;
    const timer = setTimeout(() => {
      api.post(`${SEGMENTS}/${seg(segmentId)}/rule/preview`, JSON.parse(key), { signal: mine.signal }).then(
        (answer) => !mine.signal.aborted && setState({ data: answer.data, error: null, busy: false }),
        (error) => !mine.signal.aborted && error.name !== "AbortError" && setState({ data: null, error, busy: false }),
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      clearTimeout(timer);
      mine.abort();
    };
  }, [segmentId, key, refreshKey]);
  return state;
}

function Sample({ sample, names }) {
  const customer = names && names[sample.customerId];
  return html`<li>
    <a href=${href("customers", sample.customerId)}>${customer ? customerName(customer) : sample.customerId}</a>
    ${customer && html` <small><code>${sample.customerId}</code></small>`}
    ${sample.legalEntityId && html` <small>for legal entity <code>${sample.legalEntityId}</code></small>`}
  </li>`;
}

function Change({ title, change, empty, names }) {
  return html`<div class="preview-change">
    <h3>${title} <span class="count">${change.count}</span></h3>
    ${change.count === 0
      ? html`<p class="empty">${empty}</p>`
      : html`<ul class="samples">${change.sample.map((s) => html`<${Sample} key=${s.customerId + (s.legalEntityId || "")} sample=${s} names=${names} />`)}</ul>
          ${change.count > change.sample.length && html`<small>and ${change.count - change.sample.length} more</small>`}`}
  </div>`;
}

/** The samples' customers by id (the preview names ids only): one request for all of them. */
function useSampleNames(data) {
  const ids = data ? [...new Set([...data.added.sample, ...data.removed.sample].map((s) => s.customerId))].sort() : [];
  const key = ids.join(",");
  const names = useLoad(async () => {
    if (!ids.length) return {};
    const q = `id:(${ids.map((id) => `"${id.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")})`;
    const page = await api.list(CUSTOMERS, { q, pageSize: ids.length });
    return Object.fromEntries(page.items.map((c) => [c.id, c]));
  }, [key]);
  return names.data;
}

/** The preview's figures: matches, members with the rule, who joins and who leaves. */
export function PreviewPanel({ preview, empty, errorShownAtConditions }) {
  const { data, error, busy } = preview;
  const names = useSampleNames(data);
  return html`<section class="preview" aria-labelledby="preview-title" aria-busy=${busy ? "true" : "false"}>
    <h2 id="preview-title">Preview ${busy && html`<small class="updating">updating…</small>`}</h2>
    ${empty && html`<p class="empty">Add a condition to see who the rule would match.</p>`}
    ${error &&
    (errorShownAtConditions
      ? html`<p class="notice error" role="status">The rule cannot be previewed: ${error.message}</p>`
      : html`<${ErrorNotice} error=${error} />`)}
    ${data &&
    html`<dl class="preview-figures" aria-live="polite">
        ${[["matches", "Matches", data.matchCount], ["members", "Members with this rule", data.memberCount],
          ["joins", "Would join", data.added.count], ["leaves", "Would leave", data.removed.count]].map(
          ([id, label, value]) => html`<div>
            <dt id=${`preview-${id}`}>${label}</dt><dd aria-labelledby=${`preview-${id}`}>${value}</dd>
          </div>`,
        )}
      </dl>
      <p class="hint"><small>Matches: customers the rule matches (exclusions not subtracted). Members: manual members plus
        matches, minus exclusions.</small></p>
      <div class="grid-2">
        <${Change} title="Would join" change=${data.added} empty="Nobody new." names=${names} />
        <${Change} title="Would leave" change=${data.removed} empty="Nobody leaves." names=${names} />
      </div>`}
  </section>`;
}

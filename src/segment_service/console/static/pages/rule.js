// A segment's rule: the condition builder with a live preview, saving with the version check, the evaluation state
// (polled while EVALUATING), the members it made, deleting the rule, and "why (not) in this segment?".

import { api, can, seg } from "../api.js";
import {
  Badge, ConfirmDialog, ErrorNotice, announce, href, html, localized, useAction, useEffect, useLoad, useMemo, useState, when,
} from "../ui.js";
import { RuleBuilder } from "../parts/rule-builder.js";
import { ExplainPanel } from "../parts/rule-explain.js";
import { SUBJECTS, fromApi, leafCount, newGroup, toApi } from "../parts/rule-model.js";
import { PreviewPanel, usePreview } from "../parts/rule-preview.js";

const SEGMENTS = "/customer-segment/{tenant}/segments";
const POLL_MS = 1000;

/** The stored rule, or null when the segment has none (404 is an answer here, not an error). */
async function loadRule(segmentId) {
  try {
    return (await api.get(`${SEGMENTS}/${seg(segmentId)}/rule`)).data;
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

function EvaluationState({ rule, busy, onRefresh }) {
  if (!rule) return html`<p class="empty">No rule saved yet: the segment's members are only the ones assigned by hand.</p>`;
  return html`<div class="evaluation" aria-live="polite">
    <dl class="facts">
      <dt>State</dt><dd><${Badge} value=${rule.state} /> ${rule.state === "EVALUATING" && html`<small>finding the members…</small>`}</dd>
      <dt>Evaluated</dt><dd>${rule.evaluatedAt ? when(rule.evaluatedAt) : "not yet"}</dd>
      <dt>Members</dt><dd>${rule.memberCount ?? "—"} <small>(manual and rule members, when the evaluation ended)</small></dd>
      <dt>Version</dt><dd>${rule.metadata.version}, saved ${when(rule.metadata.modifiedAt)}</dd>
    </dl>
    ${rule.error && html`<div class="notice error" role="alert"><strong>The evaluation failed:</strong> ${rule.error} Saving the rule again retries.</div>`}
    <button type="button" class="secondary outline small" aria-busy=${busy ? "true" : "false"} disabled=${busy} onClick=${onRefresh}>
      Refresh state
    </button>
  </div>`;
}

/** The first members of the segment, with how each got there (AUTOMATIC: by the rule). */
function Members({ segmentId, version }) {
  const list = useLoad(() => api.list(`${SEGMENTS}/${seg(segmentId)}/customers`, { pageSize: 10 }), [segmentId, version]);
  if (list.error) return html`<${ErrorNotice} error=${list.error} />`;
  if (!list.data) return html`<p aria-busy="true">Loading members…</p>`;
  if (list.data.items.length === 0) return html`<p class="empty">No members yet.</p>`;
  return html`<table class="striped">
      <caption class="visually-hidden">Members</caption>
      <thead><tr><th scope="col">Customer</th><th scope="col">Legal entity</th><th scope="col">How</th></tr></thead>
      <tbody>
        ${list.data.items.map(
          (m) => html`<tr key=${m.customer.id + (m.legalEntity ? m.legalEntity.id : "")}>
            <td><a href=${href("customers", m.customer.id)}>${[m.customer.firstName, m.customer.lastName].filter(Boolean).join(" ") || m.customer.id}</a></td>
            <td>${m.legalEntity ? m.legalEntity.name || m.legalEntity.id : "—"}</td>
            <td><${Badge} value=${m.assignmentType} /></td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${list.data.total > list.data.items.length && html`<p><small>${list.data.items.length} of ${list.data.total}.</small></p>`}`;
}

export default function RulePage({ params }) {
  const { segmentId } = params;
  const manage = can("customersegment.segment_manage");
  const segment = useLoad(() => api.get(`${SEGMENTS}/${seg(segmentId)}`).then((a) => a.data), [segmentId]);
  const others = useLoad(
    () => api.list(SEGMENTS, { pageSize: 1000, sort: "name:ASC", fields: "id,name" })
      .then((page) => page.items.filter((s) => s.id !== segmentId).map((s) => ({ id: s.id, name: localized(s.name) || s.id }))),
    [segmentId],
  );
  const stored = useLoad(() => loadRule(segmentId), [segmentId]);
  const [draft, setDraft] = useState(null); // {root, subject, version, dirty}
  const [conflict, setConflict] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const save = useAction();
  const refresh = useAction();
  const [rule, setRule] = useState(null);

  // A loaded (or reloaded) rule replaces the draft; edits in progress are only replaced when the user asks.
  useEffect(() => {
    if (stored.loading || stored.error) return;
    const data = stored.data;
    setRule(data);
    setDraft({
      root: data ? fromApi(data.condition) : newGroup("all"),
      subject: data ? data.subject : "CUSTOMER",
      version: data ? data.metadata.version : null,
      dirty: false,
    });
    setConflict(false);
  }, [stored.data, stored.loading]);

  // While the rule is being evaluated, look again every second until it is READY or FAILED.
  useEffect(() => {
    if (!rule || rule.state !== "EVALUATING") return undefined;
    const timer = setTimeout(async () => {
      const next = await refresh.run(() => loadRule(segmentId));
      if (next !== undefined) setRule(next);
      if (next && next.state === "READY") announce(`The rule is evaluated: ${next.memberCount} members.`);
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [rule]);

  const built = useMemo(() => (draft ? toApi(draft.root) : null), [draft && draft.root]);
  const empty = !draft || leafCount(draft.root) === 0;
  const preview = usePreview(
    segmentId,
    manage && draft && !empty ? { subject: draft.subject, condition: built.condition } : null,
    rule ? `${rule.state}-${rule.evaluatedAt}` : "",
  );
  const segmentNames = useMemo(() => Object.fromEntries((others.data || []).map((s) => [s.id, s.name])), [others.data]);

  if (stored.error || segment.error) return html`<h1>Rule</h1><${ErrorNotice} error=${stored.error || segment.error} />`;
  if (!draft || !segment.data) return html`<h1>Rule</h1><p aria-busy="true">Loading the rule…</p>`;

  const edit = (patch) => setDraft({ ...draft, ...patch, dirty: true });
  const doSave = (withVersion) =>
    save.run(async () => {
      const body = { subject: draft.subject, condition: built.condition };
      if (withVersion && draft.version !== null) body.metadata = { version: draft.version };
      try {
        await api.put(`${SEGMENTS}/${seg(segmentId)}/rule`, body);
      } catch (error) {
        if (error.status === 409) setConflict(true);
        throw error;
      }
      const next = await loadRule(segmentId);
      setRule(next);
      setDraft({ ...draft, version: next ? next.metadata.version : null, dirty: false });
      setConflict(false);
      announce("Rule saved. The service is finding its members.");
    });
  const doDelete = async () => {
    await api.delete(`${SEGMENTS}/${seg(segmentId)}/rule`);
    setConfirmDelete(false);
    announce("Rule deleted. Its members left the segment; manual members stay.");
    stored.reload();
  };
  // The save's 400 names conditions as the preview's does; whichever is newer is shown at the conditions.
  const conditionError = save.error && save.error.status === 400 ? save.error : preview.error && preview.error.status === 400 ? preview.error : null;
  const name = localized(segment.data.name) || segmentId;

  return html`<div class="page-header">
      <h1>Rule of ${name}</h1>
      <div class="actions">
        <a href=${href("segments", segmentId)} role="button" class="secondary outline">Back to the segment</a>
      </div>
    </div>
    <p class="subtitle">Customers the rule matches become members of the segment (<${Badge} value="AUTOMATIC" />),
      beside those assigned by hand; exclusions beat both. The service keeps the members up to date.</p>

    <div class="rule-layout">
      <section class="rule-edit" aria-labelledby="builder-title">
        <h2 id="builder-title">Conditions</h2>
        <div class="field subject">
          <label for="rule-subject">The rule is about</label>
          <select id="rule-subject" value=${draft.subject} disabled=${!manage} onChange=${(e) => edit({ subject: e.target.value })}>
            ${SUBJECTS.map((s) => html`<option value=${s.value}>${s.label}</option>`)}
          </select>
        </div>
        <${RuleBuilder} root=${draft.root} subject=${draft.subject} error=${conditionError} paths=${built.paths}
          segments=${others.data} disabled=${!manage} onChange=${(root) => edit({ root })} />
        ${conflict &&
        html`<div class="notice warning" role="alert">
          <strong>Someone else changed this rule</strong> since you opened it (version ${draft.version} is no longer the
          current one). Reload to see theirs (your edits are lost), or save yours over it.
          <div class="actions-row">
            <button type="button" class="secondary" onClick=${() => stored.reload()}>Reload the rule</button>
            <button type="button" class="danger" onClick=${() => doSave(false)}>Save mine anyway</button>
          </div>
        </div>`}
        ${save.error && !conflict && html`<${ErrorNotice} error=${save.error} shownFields=${Object.keys(save.error.fields || {})} />`}
        ${manage &&
        html`<div class="actions-row">
          <button type="button" aria-busy=${save.busy ? "true" : "false"} disabled=${save.busy || empty} onClick=${() => doSave(true)}>
            Save rule
          </button>
          ${draft.dirty && html`<span class="unsaved">Unsaved changes</span>`}
          ${rule && html`<button type="button" class="danger outline" onClick=${() => setConfirmDelete(true)}>Delete rule</button>`}
        </div>`}
      </section>

      <aside class="rule-side">
        ${manage
          ? html`<${PreviewPanel} preview=${preview} empty=${empty} errorShownAtConditions=${Boolean(preview.error && preview.error.status === 400)} />`
          : html`<p class="notice">Your token may read rules but not preview or change them.</p>`}
        <section aria-labelledby="state-title">
          <h2 id="state-title">Evaluation</h2>
          <${EvaluationState} rule=${rule} busy=${refresh.busy}
            onRefresh=${async () => { const next = await refresh.run(() => loadRule(segmentId)); if (next !== undefined) setRule(next); }} />
          <${ErrorNotice} error=${refresh.error} />
        </section>
        <section aria-labelledby="members-title">
          <h2 id="members-title">Members now</h2>
          <${Members} segmentId=${segmentId} version=${rule ? `${rule.metadata.version}-${rule.state}` : "none"} />
        </section>
      </aside>
    </div>

    <${ExplainPanel} segmentId=${segmentId} subject=${rule ? rule.subject : draft.subject} segmentNames=${segmentNames} />

    <${ConfirmDialog} open=${confirmDelete} title="Delete the rule?" confirmLabel="Delete rule" danger=${true}
      onConfirm=${doDelete} onCancel=${() => setConfirmDelete(false)}>
      <p>The members the rule made leave the segment (each announced as a deletion). Members assigned by hand stay.</p>
    <//>`;
}

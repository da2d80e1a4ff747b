// Creating a segment (#/new-segment: POST, so a taken id is refused rather than overwritten) and editing one
// (#/segments/<id>/edit: PUT with metadata.version, so a change made meanwhile is a 409 instead of being lost).

import { api, can, seg } from "../api.js";
import { ErrorNotice, Field, announce, go, href, html, localized, useAction, useEffect, useLoad, useState } from "../ui.js";
import { MANAGE, SEGMENTS, useConfirm } from "../parts/segment-common.js";
import { useDeleteSegment } from "../parts/segment-delete.js";
import { LocalizedRows, fromLocalInput, fromRows, timeZoneText, toLocalInput, toRows } from "../parts/segment-form.js";

// Fields the form shows beside a control; any other field the API names is listed above the buttons.
const SHOWN = ["id", "name", "description", "validity", "validity.from", "validity.to", "status", "siteCode"];

function formOf(segment) {
  return {
    id: segment ? segment.id : "",
    names: toRows(segment && segment.name),
    descriptions: segment && segment.description && Object.keys(segment.description).length ? toRows(segment.description) : [],
    from: toLocalInput(segment && segment.validity && segment.validity.from),
    to: toLocalInput(segment && segment.validity && segment.validity.to),
    status: segment ? segment.status || "INACTIVE" : "ACTIVE",
    siteCode: segment ? segment.siteCode || "" : "main",
  };
}

/** The body of a POST or PUT. A date-time the reader did not touch is sent as stored (the input drops
 * milliseconds); mixins are sent back as loaded, since PUT replaces the whole segment. */
function bodyOf(form, original) {
  const initial = formOf(original);
  const stored = (original && original.validity) || {};
  const from = form.from === initial.from && stored.from ? stored.from : fromLocalInput(form.from);
  const to = form.to === initial.to && stored.to ? stored.to : fromLocalInput(form.to);
  const body = {
    name: fromRows(form.names) || {},
    description: fromRows(form.descriptions),
    validity: from || to ? { ...(from ? { from } : {}), ...(to ? { to } : {}) } : null,
    status: form.status,
    siteCode: form.siteCode.trim(),
  };
  if (!original && form.id.trim()) body.id = form.id.trim();
  if (original) {
    if (original.mixins) body.mixins = original.mixins;
    body.metadata = { version: original.metadata && original.metadata.version };
    if (original.metadata && original.metadata.mixins) body.metadata.mixins = original.metadata.mixins;
  }
  return body;
}

/** The fields of an error that the form shows beside a control (also "name.en" under "name"). */
function shownFields(error) {
  return Object.keys((error && error.fields) || {}).filter((path) => SHOWN.some((f) => path === f || path.startsWith(`${f}.`)));
}

/** The API names "validity" when `to` is not after `from`: show that beside `to`. */
function withValidityAtTo(error) {
  if (!error || !error.fields || !error.fields.validity || error.fields["validity.to"]) return error;
  return { ...error, message: error.message, status: error.status, fields: { ...error.fields, "validity.to": error.fields.validity } };
}

export default function SegmentEditPage({ params }) {
  const segmentId = params.segmentId || null;
  const loaded = useLoad(
    () => (segmentId ? api.get(`${SEGMENTS}/${seg(segmentId)}`).then((answer) => answer.data) : Promise.resolve(null)),
    [segmentId],
  );
  const original = loaded.data;
  const [form, setForm] = useState(() => formOf(null));
  // Only a loaded segment replaces the form: a new form keeps whatever was typed before the first effects ran.
  useEffect(() => {
    if (original) setForm(formOf(original));
  }, [original]);
  const save = useAction();
  const confirm = useConfirm();
  const deletion = useDeleteSegment(confirm);
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  useEffect(() => {
    // The first control with an error takes the focus, so a keyboard user lands where the fix is.
    if (!save.error) return;
    const invalid = document.querySelector(".segment-form [aria-invalid='true']");
    if (invalid) invalid.focus();
  }, [save.error]);

  if (segmentId && loaded.loading && !original) return html`<p aria-busy="true">Loading the segment…</p>`;
  if (segmentId && loaded.error) {
    return html`<h1>Edit segment</h1>
      <${ErrorNotice} error=${loaded.error} />
      <p><a href="#/segments">Back to the segments</a></p>`;
  }

  const submit = async (event) => {
    event.preventDefault();
    const body = bodyOf(form, original);
    const done = await save.run(async () =>
      original
        ? api.put(`${SEGMENTS}/${seg(original.id)}`, body).then(() => original.id)
        : api.post(SEGMENTS, body).then((answer) => answer.data.id),
    );
    if (done === undefined) return;
    const name = localized(body.name) || done;
    announce(original ? `Segment “${name}” saved.` : `Segment “${name}” created.`);
    go(href("segments", done));
  };

  const reload = () => {
    save.setError(null);
    loaded.reload();
  };

  const error = withValidityAtTo(save.error);
  const conflict = original && save.error && save.error.status === 409;
  const title = original ? `Edit “${localized(original.name) || original.id}”` : "New segment";
  const zone = timeZoneText();
  return html`<div class="page-header">
      <h1>${title}</h1>
      <div class="actions">
        ${original && can(MANAGE) && html`<button type="button" class="danger outline"
          aria-busy=${deletion.busy ? "true" : "false"} disabled=${deletion.busy}
          onClick=${() => deletion.start(original)}>Delete segment</button>`}
      </div>
    </div>
    ${original && html`<p class="subtitle">Id <code>${original.id}</code> · version ${original.metadata && original.metadata.version}</p>`}
    <${ErrorNotice} error=${deletion.error} />
    ${conflict &&
    html`<div class="notice warning" role="alert">
      <p><strong>This segment was changed by someone else since you opened it</strong> (${save.error.message}) Your
        changes were not saved. Reload it to see the current version, then make your changes again.</p>
      <button type="button" class="secondary" onClick=${reload}>Reload the segment</button>
    </div>`}
    <form class="segment-form" onSubmit=${submit} aria-label=${title} novalidate>
      ${!original &&
      html`<${Field} label="Id (optional)" name="id" error=${error}
          hint="Letters, digits, _ and -. Left empty, the service makes one. It cannot be changed later.">
        ${(props) => html`<input ...${props} value=${form.id} onInput=${set("id")} autocomplete="off" />`}
      <//>`}
      <${LocalizedRows} legend="Name" name="name" rows=${form.names} error=${error}
        onChange=${(names) => setForm({ ...form, names })} />
      <${LocalizedRows} legend="Description" name="description" rows=${form.descriptions} error=${error} multiline
        hint=${form.descriptions.length ? null : "No description yet."}
        onChange=${(descriptions) => setForm({ ...form, descriptions })} />
      <fieldset>
        <legend>Validity</legend>
        <p class="hint">Times are in your time zone, ${zone}; they are stored in UTC. The segment is valid from the
          first moment up to, not including, the second. Leave both empty for always.</p>
        <div class="grid-2">
          <${Field} label="Valid from" name="validity.from" error=${error}>
            ${(props) => html`<input ...${props} type="datetime-local" step="1" value=${form.from} onInput=${set("from")} />`}
          <//>
          <${Field} label="Valid until" name="validity.to" error=${error}>
            ${(props) => html`<input ...${props} type="datetime-local" step="1" value=${form.to} onInput=${set("to")} />`}
          <//>
        </div>
      </fieldset>
      <div class="grid-2">
        <${Field} label="Status" name="status" error=${error} hint="Only active segments count for their members.">
          ${(props) => html`<select ...${props} value=${form.status} onChange=${set("status")}>
            <option value="ACTIVE">Active</option>
            <option value="INACTIVE">Inactive</option>
          </select>`}
        <//>
        <${Field} label="Site code" name="siteCode" error=${error} hint="The site the segment belongs to, e.g. main.">
          ${(props) => html`<input ...${props} value=${form.siteCode} onInput=${set("siteCode")} />`}
        <//>
      </div>
      ${!conflict && html`<${ErrorNotice} error=${error} shownFields=${shownFields(error)} />`}
      <div class="form-actions">
        <button type="submit" aria-busy=${save.busy ? "true" : "false"} disabled=${save.busy}>
          ${original ? "Save changes" : "Create segment"}
        </button>
        <a role="button" class="secondary outline" href=${original ? href("segments", original.id) : "#/segments"}>Cancel</a>
      </div>
    </form>
    ${confirm.dialog}`;
}

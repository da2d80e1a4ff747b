// The coupon form's segment picker: the chosen segments (each removable) and a search over the tenant's segments by
// name, whose results are added with a button. Its search box is the field that shows `restrictions.segments` errors.

import { api } from "../api.js";
import { Badge, Field, announce, html, localized, useEffect, useLoad, useState } from "../ui.js";
import { containsPattern } from "../query.js";
import { SEGMENTS, SegmentLink, knowSegment, segmentName } from "./coupon-api.js";

const RESULTS = 8;

/** `text` typed, then left alone for a moment: a search per pause, not per key. */
function useSettled(text, delay = 250) {
  const [settled, setSettled] = useState(text);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(text), delay);
    return () => clearTimeout(timer);
  }, [text, delay]);
  return settled;
}

export function SegmentPicker({ chosen, onChange, error }) {
  const [text, setText] = useState("");
  const wanted = useSettled(text.trim());
  const results = useLoad(
    () =>
      api.list(SEGMENTS, {
        q: wanted ? `name:~(${containsPattern(wanted)})` : "",
        pageSize: RESULTS,
        sort: "name:ASC",
      }),
    [wanted],
  );
  const add = (segment) => {
    const name = localized(segment.name) || segment.id;
    knowSegment(segment.id, name);
    onChange([...chosen, segment.id]);
    announce(`Added segment ${name}.`);
  };
  const remove = async (id) => {
    onChange(chosen.filter((one) => one !== id));
    announce(`Removed segment ${(await segmentName(id)) || id}.`);
  };
  const offered = results.data ? results.data.items.filter((segment) => !chosen.includes(segment.id)) : [];
  return html`<fieldset class="segment-picker">
    <legend>Segments whose members may redeem it</legend>
    ${chosen.length === 0
      ? html`<p class="empty">No segment chosen yet.</p>`
      : html`<ul class="chosen-segments" aria-label="Chosen segments">
          ${chosen.map(
            (id) => html`<li key=${id}>
              <${SegmentLink} id=${id} />
              <${RemoveButton} id=${id} onRemove=${remove} />
            </li>`,
          )}
        </ul>`}
    <${Field} label="Find a segment to add" name="restrictions.segments" error=${error}
      hint="A customer who is a member of at least one of these segments, while it is active, may redeem the coupon.">
      ${(props) => html`<input ...${props} type="search" value=${text} placeholder="Segment name"
        onInput=${(event) => setText(event.target.value)}
        onKeyDown=${(event) => {
          // Enter adds the only match rather than submitting the whole coupon form.
          if (event.key !== "Enter") return;
          event.preventDefault();
          if (offered.length === 1) add(offered[0]);
        }} />`}
    <//>
    ${results.error && html`<p class="field-error" role="alert">${results.error.message}</p>`}
    ${results.loading && !results.data && html`<p aria-busy="true">Looking for segments…</p>`}
    ${results.data &&
    (offered.length === 0
      ? html`<p class="empty">${wanted ? `No other segment's name contains “${wanted}”.` : "No other segments."}</p>`
      : html`<ul class="segment-results" aria-label="Matching segments" aria-busy=${results.loading ? "true" : "false"}>
          ${offered.map(
            (segment) => html`<li key=${segment.id}>
              <span>${localized(segment.name) || segment.id} <code>${segment.id}</code> <${Badge} value=${segment.status} /></span>
              <button type="button" class="secondary outline small" onClick=${() => add(segment)}
                aria-label=${`Add segment ${localized(segment.name) || segment.id}`}>Add</button>
            </li>`,
          )}
        </ul>`)}
  </fieldset>`;
}

function RemoveButton({ id, onRemove }) {
  const { data } = useLoad(() => segmentName(id), [id]);
  return html`<button type="button" class="secondary outline small" onClick=${() => onRemove(id)}
    aria-label=${`Remove segment ${data || id}`}>Remove</button>`;
}

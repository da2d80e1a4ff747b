// One import job as it runs: read again every POLL_MS while RUNNING, with a progress bar (processed of rows), the
// counts and the rows that were not imported, by line.

import { Badge, ErrorNotice, announce, html, useEffect, useRef, useState, when } from "../ui.js";
import { kindOf } from "./import-kinds.js";
import { POLL_MS, readJob } from "./import-upload.js";

/** Follows the job `id`; `onFinished(job)` is called once when it is no longer RUNNING. */
export function useJob(id, onFinished) {
  const [state, setState] = useState({ job: null, error: null });
  const finished = useRef(onFinished);
  finished.current = onFinished;
  useEffect(() => {
    setState({ job: null, error: null });
    if (!id) return undefined;
    const control = new AbortController();
    let timer = null;
    let stopped = false;
    const poll = async () => {
      try {
        const job = await readJob(id, control.signal);
        if (stopped) return;
        setState({ job, error: null });
        if (job.state === "RUNNING") {
          timer = setTimeout(poll, POLL_MS);
        } else if (finished.current) {
          finished.current(job);
        }
      } catch (error) {
        if (!stopped && !(error && error.name === "AbortError")) setState((old) => ({ ...old, error }));
      }
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
      control.abort();
    };
  }, [id]);
  return state;
}

export function JobView({ id, onFinished }) {
  const { job, error } = useJob(id, (finished) => {
    announce(`Import ${finished.state === "DONE" ? "done" : "failed"}: ${finished.imported} imported, ${finished.failed} failed.`);
    if (onFinished) onFinished(finished);
  });
  if (error) return html`<${ErrorNotice} error=${error} />`;
  if (!job) return html`<p aria-busy="true">Loading the import…</p>`;
  const kind = kindOf(job.kind);
  const done = job.state !== "RUNNING";
  const max = Math.max(job.rows, 1);
  const value = job.rows === 0 && done ? 1 : job.processed;
  return html`<section class="import-job" aria-labelledby="import-job-title">
    <h2 id="import-job-title">
      ${job.fileName ? html`Import of <code>${job.fileName}</code>` : "Import"} <${Badge} value=${job.state} />
    </h2>
    <p class="subtitle">
      ${`${kind ? kind.label : job.kind} · started ${when(job.createdAt)}`}
      ${job.finishedAt ? `, ended ${when(job.finishedAt)}` : ""}${" · job "}<code>${job.id}</code>
    </p>
    <div class="import-progress">
      <label for="import-progress-bar">Rows processed</label>
      <progress id="import-progress-bar" value=${value} max=${max}></progress>
      <span class="import-progress-label" aria-live="polite">${job.processed} of ${job.rows} rows</span>
    </div>
    <dl class="import-counts" aria-label="Counts">
      <div><dt>Imported</dt><dd>${job.imported}</dd></div>
      <div><dt>Created</dt><dd>${job.created}</dd></div>
      <div><dt>Updated</dt><dd>${job.updated}</dd></div>
      <div class=${job.failed ? "failed" : ""}><dt>Failed</dt><dd>${job.failed}</dd></div>
    </dl>
    ${job.message && html`<div class="notice error" role="alert">${job.message}</div>`}
    ${job.errors.length > 0 && html`<${RowErrors} errors=${job.errors} more=${job.moreErrors} />`}
    ${done && job.failed === 0 && job.state === "DONE" && html`<p class="notice">Every row was imported.</p>`}
  </section>`;
}

function RowErrors({ errors, more }) {
  return html`<figure>
    <table class="striped import-errors">
      <caption>Rows that were not imported</caption>
      <thead>
        <tr>
          <th scope="col" class="number">Line</th>
          <th scope="col" class="number">Status</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        ${errors.map(
          (error) => html`<tr key=${error.line}>
            <td class="number">${error.line}</td>
            <td class="number">${error.status}</td>
            <td>${error.message}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${more > 0 && html`<p><small>… and ${more} more rows (the first ${errors.length} by line are listed).</small></p>`}
  </figure>`;
}

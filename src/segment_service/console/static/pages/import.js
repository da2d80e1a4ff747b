// Import: upload a CSV or NDJSON file of one kind as an import job, follow its progress and the rows that were not
// imported, and the recent jobs (docs/operations.md#import-over-http).

import { can } from "../api.js";
import { Badge, ErrorNotice, Field, Pager, go, href, html, useAction, useLoad, useState, when } from "../ui.js";
import { JobView } from "../parts/import-job.js";
import { importableKinds, kindOf } from "../parts/import-kinds.js";
import { listJobs, sizeText, startImport } from "../parts/import-upload.js";

const PAGE_SIZE = 10;

export default function ImportPage({ query }) {
  const kinds = importableKinds(can);
  const [kind, setKind] = useState(kinds.length ? kinds[0].value : "");
  const [file, setFile] = useState(null);
  const upload = useAction();
  const [sent, setSent] = useState(null);
  const page = Math.max(1, Number(query.page) || 1);
  const jobs = useLoad(() => listJobs(page, PAGE_SIZE), [page]);
  const submit = async (event) => {
    event.preventDefault();
    setSent(null);
    const id = await upload.run(() => startImport(kind, file, (loaded, total) => setSent({ loaded, total })));
    if (id) {
      go(href("import", { job: id }));
      jobs.reload();
    }
  };
  const chosen = kindOf(kind);
  return html`<div class="page-header">
      <h1>Import</h1>
    </div>
    <p class="subtitle">
      Load rows from a CSV or NDJSON file into this tenant. Each row is checked as the API checks that request body;
      rows that fail are listed with their line, and the others are imported. Every kind is safe to import again.
    </p>
    ${kinds.length === 0
      ? html`<div class="notice warning" role="status">This token may import nothing: importing needs the scopes that
          writing the rows through the API needs (for example customersegment.segment_manage).</div>`
      : html`<form class="import-form" aria-label="Upload a file" onSubmit=${submit}>
          <div class="toolbar">
            <${Field} label="Kind" name="kind" error=${upload.error}>
              ${(props) => html`<select ...${props} value=${kind} onChange=${(e) => setKind(e.target.value)}>
                ${kinds.map((k) => html`<option value=${k.value}>${k.label}</option>`)}
              </select>`}
            <//>
            <${Field} label="File" name="file" hint="A .csv file with a header row, or an .ndjson file; at most 10 MB.">
              ${(props) => html`<input ...${props} type="file" accept=".csv,.ndjson,.jsonl,text/csv,application/x-ndjson"
                required onChange=${(e) => setFile(e.target.files[0] || null)} />`}
            <//>
            <button type="submit" disabled=${!file || upload.busy} aria-busy=${upload.busy ? "true" : "false"}>Upload</button>
          </div>
          ${upload.busy &&
          html`<div class="import-progress">
            <label for="import-upload-bar">Uploading ${file.name}: ${sent ? `${sizeText(sent.loaded)} of ` : ""}${sizeText(file.size)}…</label>
            ${sent && sent.total
              ? html`<progress id="import-upload-bar" value=${sent.loaded} max=${sent.total}></progress>`
              : html`<progress id="import-upload-bar"></progress>`}
          </div>`}
          <${ErrorNotice} error=${upload.error} shownFields=${["kind"]} />
          ${chosen && html`<${KindHelp} kind=${chosen} />`}
        </form>`}
    ${query.job && html`<${JobView} id=${query.job} onFinished=${() => jobs.reload()} />`}
    <section aria-labelledby="import-recent">
      <h2 id="import-recent">Recent imports</h2>
      <${ErrorNotice} error=${jobs.error} />
      ${jobs.loading && !jobs.data && html`<p aria-busy="true">Loading imports…</p>`}
      ${jobs.data && html`<${RecentJobs} items=${jobs.data.items} current=${query.job} />
        <${Pager} page=${page} pageSize=${PAGE_SIZE} total=${jobs.data.total} count=${jobs.data.items.length}
          label="Import pages" onPage=${(next) => go(href("import", { ...query, page: next }))} />`}
    </section>`;
}

function KindHelp({ kind }) {
  return html`<details class="import-help">
    <summary>What a file of ${kind.label.toLowerCase()} looks like</summary>
    <p>CSV: the first row names the API's fields, dotted for nested ones; an empty cell leaves the field out, a cell
      starting with <code>[</code> or <code>{</code> is JSON.</p>
    <pre><code>${kind.csv.join("\n")}</code></pre>
    <p>NDJSON: one API request body per line.</p>
    <pre><code>${kind.ndjson}</code></pre>
  </details>`;
}

function RecentJobs({ items, current }) {
  if (items.length === 0) return html`<p class="empty">No imports yet.</p>`;
  return html`<figure>
    <table class="striped">
      <caption class="visually-hidden">Recent imports</caption>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Kind</th>
          <th scope="col">File</th>
          <th scope="col">State</th>
          <th scope="col" class="number">Rows</th>
          <th scope="col" class="number">Imported</th>
          <th scope="col" class="number">Failed</th>
        </tr>
      </thead>
      <tbody>
        ${items.map(
          (job) => html`<tr key=${job.id} aria-current=${job.id === current ? "true" : undefined}>
            <td><a href=${href("import", { job: job.id })}>${when(job.createdAt)}</a></td>
            <td>${kindOf(job.kind) ? kindOf(job.kind).label : job.kind}</td>
            <td>${job.fileName || ""}</td>
            <td><${Badge} value=${job.state} /></td>
            <td class="number">${job.rows}</td>
            <td class="number">${job.imported}</td>
            <td class="number">${job.failed}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </figure>`;
}

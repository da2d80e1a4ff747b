// The import jobs API (docs/operations.md#import-over-http): start a job with a file, read one, list the recent ones.
// The upload reports its bytes as they leave (api.upload), then the page follows the job's own progress.

import { api, seg } from "../api.js";

export const JOBS = "/import/{tenant}/jobs";
/** How often a running job is read again. */
export const POLL_MS = 500;

/** The request media type for a file: by its name's ending, else what the browser says it is (the API answers 415,
 * in words, for anything but CSV and NDJSON). */
export function mediaType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".csv")) return "text/csv";
  if (name.endsWith(".ndjson") || name.endsWith(".jsonl")) return "application/x-ndjson";
  return file.type || "application/octet-stream";
}

/** Start importing `file` as `kind`: resolves to the job's id; `onProgress(sent, total)` follows the upload. */
export async function startImport(kind, file, onProgress) {
  const answer = await api.upload("POST", JOBS, {
    query: { kind, fileName: file.name },
    body: file,
    headers: { "Content-Type": mediaType(file) },
    onProgress,
  });
  return answer.data.id;
}

export async function readJob(id, signal) {
  return (await api.get(`${JOBS}/${seg(id)}`, null, { signal })).data;
}

export function listJobs(pageNumber, pageSize) {
  return api.list(JOBS, { pageNumber, pageSize });
}

/** A file size in words: 812 bytes, 14.2 KB, 3.1 MB. */
export function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

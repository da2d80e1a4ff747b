// The webhooks page's delivery log (beyond webhook.yml; docs/webhooks.md): newest first, filtered by status and event
// type, paged; a delivery expands to its attempts and the exact payload sent, and a finished one can be sent again.
// While a shown delivery is pending the list refreshes itself, so a retry's outcome appears without a click.

import { api, can, seg } from "../api.js";
import { Badge, ErrorNotice, Field, Pager, announce, go, href, html, localized, useEffect, useLoad, useState, when } from "../ui.js";
import { loadSubscriptions } from "./webhook-subscriptions.js";

const DELIVERIES = "/webhook/{tenant}/deliveries";
const PAGE_SIZE = 20;
const POLL_MS = 2000;

export function DeliveriesTab({ query }) {
  const page = Math.max(1, Number(query.page) || 1);
  const status = query.status || "";
  const eventType = query.eventType || "";
  const list = useLoad(
    () => api.list(DELIVERIES, { status, eventType, pageNumber: page, pageSize: PAGE_SIZE }),
    [status, eventType, page],
  );
  const catalogue = useLoad(loadSubscriptions, []);
  const [open, setOpen] = useState(() => new Set());
  const pendingShown = list.data && list.data.items.some((delivery) => delivery.status === "PENDING");
  useEffect(() => {
    if (!pendingShown || list.loading) return undefined;
    const timer = setTimeout(list.reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [pendingShown, list.loading, list.data]);
  const filter = (name) => (event) =>
    go(href("webhooks", "deliveries", { status, eventType, [name]: event.target.value, page: null }));
  const toggle = (id) =>
    setOpen((old) => {
      const next = new Set(old);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return html`<section aria-labelledby="deliveries-heading">
    <div class="page-header">
      <h2 id="deliveries-heading">Delivery log</h2>
      <div class="actions">
        <button type="button" class="secondary" aria-busy=${list.loading ? "true" : "false"}
          onClick=${() => { list.reload(); announce("Delivery log refreshed."); }}>Refresh</button>
      </div>
    </div>
    <div class="toolbar" role="search" aria-label="Filter deliveries">
      <${Field} label="Status" name="status">
        ${(p) => html`<select ...${p} value=${status} onChange=${filter("status")}>
          <option value="">Any</option>
          <option value="PENDING">Pending (or retrying)</option>
          <option value="DELIVERED">Delivered</option>
          <option value="FAILED">Failed</option>
          <option value="CANCELLED">Cancelled</option>
        </select>`}
      <//>
      <${Field} label="Event type" name="eventType">
        ${(p) => html`<select ...${p} value=${eventType} onChange=${filter("eventType")}>
          <option value="">Any</option>
          ${(catalogue.data || []).map((item) => html`<option key=${item.event.type} value=${item.event.type}>
            ${localized(item.event.group)}: ${localized(item.event.name)}</option>`)}
        </select>`}
      <//>
    </div>
    <${ErrorNotice} error=${list.error} />
    ${list.loading && !list.data && html`<p aria-busy="true">Loading deliveries…</p>`}
    ${list.data && list.data.items.length === 0 &&
    html`<p class="empty">${status || eventType
      ? "No delivery matches these filters."
      : "Nothing has been sent yet. Deliveries appear here once a subscribed event happens."}</p>`}
    ${list.data && list.data.items.length > 0 &&
    html`<table class="deliveries">
      <caption class="visually-hidden">Deliveries, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Status</th><th scope="col">Event</th><th scope="col">Destination</th>
          <th scope="col" class="number">Attempts</th><th scope="col" class="number">Last answer</th>
          <th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      ${list.data.items.map((delivery) => html`<${DeliveryRows} key=${delivery.id} delivery=${delivery}
        open=${open.has(delivery.id)} onToggle=${() => toggle(delivery.id)} onRetried=${list.reload} />`)}
    </table>`}
    ${list.data && (page > 1 || list.data.items.length > 0) &&
    html`<${Pager} page=${page} pageSize=${PAGE_SIZE} total=${list.data.total} count=${list.data.items.length}
      label="Delivery pages" onPage=${(next) => go(href("webhooks", "deliveries", { status, eventType, page: next }))} />`}
  </section>`;
}

function statusNote(delivery) {
  if (delivery.status === "PENDING" && delivery.attempts > 0) return `retrying ${when(delivery.nextAttemptAt)}`;
  if (delivery.status === "PENDING") return "sending";
  return delivery.finishedAt ? when(delivery.finishedAt) : "";
}

/** One delivery: its row, and when open a second row with its attempts and payload. A <tbody> each, so the pair
 * stays together. */
function DeliveryRows({ delivery, open, onToggle, onRetried }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const detailId = `delivery-${delivery.id}`;
  const retry = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.post(`${DELIVERIES}/${seg(delivery.id)}/retry`);
      announce(`The ${delivery.eventType} delivery is being sent again.`);
      onRetried();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const again = delivery.status === "DELIVERED" ? "Send again" : "Retry";
  return html`<tbody class=${open ? "open" : ""}>
    <tr>
      <td><${Badge} value=${delivery.status} /><br /><small class="muted">${statusNote(delivery)}</small></td>
      <td><code>${delivery.eventType}</code></td>
      <td class="destination">${delivery.destinationUrl}${delivery.endpoint !== "root" && html`<br /><small class="muted">per-event destination</small>`}</td>
      <td class="number">${delivery.attempts}</td>
      <td class="number">${delivery.lastStatusCode ?? (delivery.lastError ? "error" : "—")}</td>
      <td>${when(delivery.createdAt)}</td>
      <td class="actions-cell">
        <button type="button" class="secondary outline small" aria-expanded=${open ? "true" : "false"} aria-controls=${detailId}
          onClick=${onToggle} aria-label=${`${open ? "Hide" : "Show"} details of the ${delivery.eventType} delivery`}>
          ${open ? "Hide" : "Details"}</button>
        ${delivery.status !== "PENDING" && can("webhook.subscription_manage") &&
        html`<button type="button" class="small" disabled=${busy} aria-busy=${busy ? "true" : "false"} onClick=${retry}
          aria-label=${`${again}: the ${delivery.eventType} delivery`}>${again}</button>`}
      </td>
    </tr>
    ${error && html`<tr><td colspan="7"><${ErrorNotice} error=${error} /></td></tr>`}
    ${open && html`<tr id=${detailId} class="delivery-detail"><td colspan="7"><${DeliveryDetail} delivery=${delivery} /></td></tr>`}
  </tbody>`;
}

function DeliveryDetail({ delivery }) {
  return html`<div class="grid-2">
    <div>
      <h3>Attempts</h3>
      ${delivery.lastError && html`<p class="field-error">Last error: ${delivery.lastError}</p>`}
      ${delivery.attemptLog.length === 0
        ? html`<p class="empty">Not attempted yet.</p>`
        : html`<table class="attempts">
            <caption class="visually-hidden">Attempts of delivery ${delivery.id}</caption>
            <thead><tr><th scope="col">#</th><th scope="col">Started</th><th scope="col" class="number">Answer</th>
              <th scope="col" class="number">Took</th><th scope="col">Response or error</th></tr></thead>
            <tbody>
              ${delivery.attemptLog.map((attempt) => html`<tr key=${attempt.attempt}>
                <td>${attempt.attempt}</td>
                <td>${when(attempt.startedAt)}</td>
                <td class="number">${attempt.statusCode ?? "—"}</td>
                <td class="number">${Math.round(attempt.durationMs)} ms</td>
                <td>${attempt.error && html`<span class="field-error">${attempt.error}</span>`}
                  ${attempt.error && attempt.responseExcerpt && html`<br />`}
                  ${attempt.responseExcerpt && html`<code>${attempt.responseExcerpt}</code>`}</td>
              </tr>`)}
            </tbody>
          </table>`}
      <dl class="facts">
        <dt>Event id</dt><dd><code>${delivery.eventId}</code></dd>
        <dt>Delivery id</dt><dd><code>${delivery.id}</code></dd>
      </dl>
    </div>
    <div>
      <h3>Payload</h3>
      <pre class="json" tabindex="0" role="region" aria-label="Payload">${JSON.stringify(delivery.payload, null, 2)}</pre>
    </div>
  </div>`;
}

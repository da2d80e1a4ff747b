// The webhooks page's subscriptions tab: every event the service publishes (the API's catalogue), grouped, each with
// the tenant's subscription and a button that subscribes or unsubscribes it. Changes send the subscription's current
// version, as the API requires; a change someone else made first (409) is said in words and the list reloaded.

import { api, can } from "../api.js";
import { ErrorNotice, announce, html, localized, useLoad, useState } from "../ui.js";
import { loadConfig } from "./webhook-config.js";

export const SUBSCRIPTIONS = "/webhook/{tenant}/event-subscriptions";

/** The catalogue with the tenant's subscriptions (webhook.yml's list of {event, subscription, metadata}). */
export const loadSubscriptions = () => api.get(SUBSCRIPTIONS).then((answer) => answer.data || []);

const STATE_WORDS = { SUBSCRIBED: "Subscribed", UNSUBSCRIBED: "Unsubscribed", NONE: "Not subscribed" };

export function SubscriptionsTab() {
  const list = useLoad(loadSubscriptions, []);
  const config = useLoad(loadConfig, []);
  const [pending, setPending] = useState(null);
  const [failure, setFailure] = useState(null);
  const manage = can("webhook.subscription_manage");
  const change = async (item, action) => {
    const name = localized(item.event.name);
    const group = localized(item.event.group);
    setPending(item.event.type);
    setFailure(null);
    try {
      const change = { eventType: item.event.type, action };
      if (item.metadata && item.metadata.version) change.metadata = { version: item.metadata.version };
      const answer = await api.patch(SUBSCRIPTIONS, [change]);
      const result = (answer.data || [])[0] || {};
      if (result.code && result.code !== 200) {
        const words =
          result.code === 409
            ? `Someone changed the subscription to “${group}: ${name}” meanwhile; the list now shows its current state. Try again if needed.`
            : result.message || `The service answered ${result.code}.`;
        setFailure({ status: result.code, message: words });
      } else {
        announce(`${action === "SUBSCRIBE" ? "Subscribed to" : "Unsubscribed from"} ${group}: ${name}.`);
      }
    } catch (error) {
      setFailure(error);
    } finally {
      setPending(null);
      list.reload();
    }
  };
  if (list.loading && !list.data) return html`<p aria-busy="true">Loading the events…</p>`;
  if (list.error) return html`<${ErrorNotice} error=${list.error} />`;
  const groups = new Map();
  for (const item of list.data) {
    const group = localized(item.event.group) || "Other";
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(item);
  }
  const subscribed = list.data.filter((item) => item.subscription === "SUBSCRIBED").length;
  const active = config.data && config.data.active;
  return html`<section aria-labelledby="subscriptions-heading">
    <h2 id="subscriptions-heading">Events to send</h2>
    <p>${subscribed === 0 ? "No event is subscribed yet." : `${subscribed} of ${list.data.length} events are subscribed.`}${" "}
      An event is sent when it is subscribed <em>and</em> the configuration is active.</p>
    ${config.data && !active &&
    html`<div class="notice warning" role="status">The webhook configuration is inactive: subscribed events are not
      sent. <a href="#/webhooks/configuration">Activate it</a>.</div>`}
    ${config.data === null && !config.loading && !config.error &&
    html`<div class="notice warning" role="status">There is no webhook configuration yet: subscribed events are not sent.${" "}
      <a href="#/webhooks/configuration">Set it up</a>.</div>`}
    <${ErrorNotice} error=${failure} />
    ${[...groups.entries()].map(
      ([group, items]) => html`<table class="striped subscriptions" key=${group}>
        <caption>${group}</caption>
        <thead>
          <tr><th scope="col">Event</th><th scope="col">Type</th><th scope="col">State</th>
            ${manage && html`<th scope="col"><span class="visually-hidden">Change</span></th>`}</tr>
        </thead>
        <tbody>
          ${items.map((item) => {
            const name = localized(item.event.name);
            const on = item.subscription === "SUBSCRIBED";
            const excluded = item.excludedFields || [];
            return html`<tr key=${item.event.type}>
              <td>${name}<br /><small class="muted">${localized(item.event.description)}</small></td>
              <td><code>${item.event.type}</code></td>
              <td><span class=${`badge badge-${on ? "subscribed" : "unsubscribed"}`}>${STATE_WORDS[item.subscription] || item.subscription}</span>
                ${excluded.length > 0 && html`<br /><small>Without ${excluded.join(", ")}</small>`}</td>
              ${manage && html`<td class="actions-cell">
                <button type="button" class=${on ? "secondary outline small" : "small"} disabled=${pending !== null}
                  aria-busy=${pending === item.event.type ? "true" : "false"}
                  aria-label=${`${on ? "Unsubscribe from" : "Subscribe to"} ${group}: ${name}`}
                  onClick=${() => change(item, on ? "UNSUBSCRIBE" : "SUBSCRIBE")}>${on ? "Unsubscribe" : "Subscribe"}</button>
              </td>`}
            </tr>`;
          })}
        </tbody>
      </table>`,
    )}
  </section>`;
}

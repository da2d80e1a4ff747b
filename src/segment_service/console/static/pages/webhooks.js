// Webhooks: where the service sends its events (configuration), which events it sends (subscriptions) and what
// happened to each (deliveries), as three tabs with addresses of their own (#/webhooks/<tab>).

import { DeliveriesTab } from "../parts/webhook-deliveries.js";
import { ConfigurationTab } from "../parts/webhook-config.js";
import { SubscriptionsTab } from "../parts/webhook-subscriptions.js";
import { Tabs, href, html } from "../ui.js";

const TABS = [
  { id: "configuration", label: "Configuration", Component: ConfigurationTab },
  { id: "subscriptions", label: "Subscriptions", Component: SubscriptionsTab },
  { id: "deliveries", label: "Deliveries", Component: DeliveriesTab },
];

export default function WebhooksPage({ params, query }) {
  const current = TABS.find((tab) => tab.id === (params.tab || "configuration"));
  if (!current) {
    return html`<h1>Webhooks</h1><p>There is no such section. <a href="#/webhooks">Webhooks</a></p>`;
  }
  const Component = current.Component;
  return html`<h1>Webhooks</h1>
    <p class="subtitle">Segment, customer and catalogue changes, pushed to your systems over HTTP as they happen.</p>
    <${Tabs} current=${current.id} tabs=${TABS.map((tab) => ({ id: tab.id, label: tab.label, href: href("webhooks", tab.id) }))} />
    <${Component} query=${query} />`;
}

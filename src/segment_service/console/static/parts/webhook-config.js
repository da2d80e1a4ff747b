// The webhooks page's configuration tab: the tenant's one HTTP configuration (webhook.yml's HTTP strategy): where
// events go, the signing secret, extra headers and whether it is active. A new one is POSTed; changes go as one PATCH
// of UPSERT/REMOVE operations, so a secret the API never shows back is kept unless a new one is typed or it is removed.

import { api, can } from "../api.js";
import { ConfirmDialog, ErrorNotice, Field, announce, html, useAction, useEffect, useLoad, useState } from "../ui.js";

export const CONFIG = "/webhook/{tenant}/config";
const HTTP_CONFIG = `${CONFIG}/http`;

/** The tenant's HTTP configuration, or null when it has none. */
export const loadConfig = () => api.get(CONFIG).then((answer) => (Array.isArray(answer.data) && answer.data[0]) || null);

function formOf(config) {
  const c = (config && config.configuration) || {};
  const headers = Object.entries(c.headers || {}).map(([name, spec]) => ({ name, value: (spec && spec.value) || "" }));
  return { active: config ? Boolean(config.active) : true, destinationUrl: c.destinationUrl || "", secret: "", removeSecret: false, headers };
}

function headersOf(rows) {
  const headers = {};
  for (const row of rows) if (row.name.trim()) headers[row.name.trim()] = { value: row.value };
  return headers;
}

/** The operations of a save, each with the form field that shows its errors. */
function operationsOf(form) {
  const http = "/configuration/http";
  const url = form.destinationUrl.trim();
  const headers = headersOf(form.headers);
  const ops = [
    [{ op: "UPSERT", path: "/active", value: form.active }, "active"],
    [url ? { op: "UPSERT", path: `${http}/destinationUrl`, value: url } : { op: "REMOVE", path: `${http}/destinationUrl` },
      "configuration.destinationUrl"],
    [Object.keys(headers).length ? { op: "UPSERT", path: `${http}/headers`, value: headers } : { op: "REMOVE", path: `${http}/headers` },
      "configuration.headers"],
  ];
  if (form.secret) ops.push([{ op: "UPSERT", path: `${http}/secretKey`, value: form.secret }, "configuration.secretKey"]);
  else if (form.removeSecret) ops.push([{ op: "REMOVE", path: `${http}/secretKey` }, "configuration.secretKey"]);
  return ops;
}

/** The API's error with each message at its field: a PATCH names the operation ("operation 1: …"), a POST the member
 * ("configuration.destinationUrl: …", which the message repeats). */
function placed(error, fieldsOfOps) {
  if (!error) return null;
  const fields = {};
  for (const [field, message] of Object.entries(error.fields || {})) fields[field] = message.replace(`${field}: `, "");
  const op = /^operation (\d+): (?:operation \d+: )?(.*)$/s.exec(error.message || "");
  if (op && fieldsOfOps[Number(op[1])]) fields[fieldsOfOps[Number(op[1])]] = op[2];
  return { status: error.status, message: error.message, fields };
}

export function ConfigurationTab() {
  const loaded = useLoad(loadConfig, []);
  if (loaded.loading && !loaded.data) return html`<p aria-busy="true">Loading the configuration…</p>`;
  if (loaded.error) return html`<${ErrorNotice} error=${loaded.error} />`;
  const config = loaded.data;
  return html`<${ConfigForm} key=${config ? JSON.stringify(config) : "none"} config=${config} reload=${loaded.reload} />`;
}

function ConfigForm({ config, reload }) {
  const [form, setForm] = useState(() => formOf(config));
  const [fieldsOfOps, setFieldsOfOps] = useState([]);
  const [confirming, setConfirming] = useState(false);
  const save = useAction();
  useEffect(() => {
    // The first control with an error takes the focus, so a keyboard user lands where the fix is.
    if (!save.error) return;
    const invalid = document.querySelector(".webhook-config [aria-invalid='true']");
    if (invalid) invalid.focus();
  }, [save.error]);
  const manage = can("webhook.subscription_manage");
  const creating = !config;
  const set = (name) => (event) => {
    const target = event.target;
    setForm((old) => ({ ...old, [name]: target.type === "checkbox" ? target.checked : target.value }));
  };
  const setHeader = (index, key) => (event) => {
    const value = event.target.value;
    setForm((old) => ({ ...old, headers: old.headers.map((row, i) => (i === index ? { ...row, [key]: value } : row)) }));
  };
  const submit = async (event) => {
    event.preventDefault();
    const done = await save.run(async () => {
      if (creating) {
        const configuration = { headers: headersOf(form.headers) };
        if (form.destinationUrl.trim()) configuration.destinationUrl = form.destinationUrl.trim();
        if (form.secret) configuration.secretKey = form.secret;
        await api.post(CONFIG, { code: "http", provider: "HTTP", active: form.active, configuration });
      } else {
        const ops = operationsOf(form);
        setFieldsOfOps(ops.map(([, field]) => field));
        await api.patch(HTTP_CONFIG, ops.map(([op]) => op));
      }
      return true;
    });
    if (!done) return;
    announce(creating ? "Webhook configuration created." : "Webhook configuration saved.");
    reload();
  };
  const remove = async () => {
    await api.delete(HTTP_CONFIG, { force: "true" });
    setConfirming(false);
    announce("Webhook configuration deleted; no events are sent.");
    reload();
  };
  const error = placed(save.error, fieldsOfOps);
  const c = (config && config.configuration) || {};
  const entries = c.eventsConfiguration || [];
  const field = (label, name, control, hint) => html`<${Field} label=${label} name=${name} error=${error} hint=${hint}>${control}<//>`;
  return html`<section aria-labelledby="config-heading">
    <h2 id="config-heading">${creating ? "Set up webhook delivery" : "Where events are sent"}</h2>
    ${creating && html`<p class="empty">No webhook configuration yet: no events are sent. Give the address of your
      receiver to start; then subscribe to the events it should get.</p>`}
    ${config && !config.active && html`<div class="notice warning" role="status">The configuration is inactive: no events are
      sent until it is active again.</div>`}
    <form class="webhook-config" onSubmit=${submit} noValidate aria-label="Webhook configuration">
      <${ErrorNotice} error=${error} shownFields=${["active", "configuration.destinationUrl", "configuration.secretKey", "configuration.headers"]} />
      ${field("Destination URL", "configuration.destinationUrl", (p) => html`<input ...${p} type="url" value=${form.destinationUrl}
        onInput=${set("destinationUrl")} placeholder="https://example.com/hooks/segments" disabled=${!manage} />`,
        "Every subscribed event is POSTed here as JSON, unless an event has a destination of its own below.")}
      ${field("Signing secret", "configuration.secretKey", (p) => html`<input ...${p} type="password" autocomplete="new-password"
        value=${form.secret} onInput=${set("secret")} disabled=${!manage || form.removeSecret}
        placeholder=${c.secretKeyExists ? "•••••••• (kept)" : "None"} />`,
        c.secretKeyExists
          ? "A secret is set; it is never shown. Type a new one to replace it."
          : "Signs each delivery (emporix-event-signature and webhook-signature headers) so your receiver can check it.")}
      ${c.secretKeyExists && html`<label class="checkbox">
        <input type="checkbox" checked=${form.removeSecret} onChange=${set("removeSecret")} disabled=${!manage} />
        Remove the secret (deliveries are no longer signed)
      </label>`}
      <fieldset class="webhook-headers">
        <legend>Extra headers</legend>
        ${error && error.fields["configuration.headers"] &&
        html`<p class="field-error">${error.fields["configuration.headers"]}</p>`}
        ${form.headers.length === 0 && html`<p class="empty">None.</p>`}
        ${form.headers.map(
          (row, index) => html`<div class="header-row" key=${index}>
            <${Field} label=${`Header ${index + 1} name`} name=${`header-${index}-name`}>
              ${(p) => html`<input ...${p} value=${row.name} onInput=${setHeader(index, "name")} placeholder="X-Api-Key" disabled=${!manage} />`}
            <//>
            <${Field} label=${`Header ${index + 1} value`} name=${`header-${index}-value`}>
              ${(p) => html`<input ...${p} value=${row.value} onInput=${setHeader(index, "value")} disabled=${!manage} />`}
            <//>
            ${manage && html`<button type="button" class="secondary outline small" aria-label=${`Remove header ${index + 1}`}
              onClick=${() => setForm((old) => ({ ...old, headers: old.headers.filter((_, i) => i !== index) }))}>Remove</button>`}
          </div>`,
        )}
        ${manage && form.headers.length < 10 &&
        html`<button type="button" class="secondary outline small"
          onClick=${() => setForm((old) => ({ ...old, headers: [...old.headers, { name: "", value: "" }] }))}>Add a header</button>`}
      </fieldset>
      <label class="checkbox">
        <input type="checkbox" checked=${form.active} onChange=${set("active")} disabled=${!manage} />
        Active: send events (turning this off cancels deliveries still pending)
      </label>
      ${manage && html`<div class="form-actions">
        <button type="submit" aria-busy=${save.busy ? "true" : "false"} disabled=${save.busy}>
          ${creating ? "Create configuration" : "Save configuration"}</button>
        ${!creating && html`<button type="button" class="danger" onClick=${() => setConfirming(true)}>Delete configuration</button>`}
      </div>`}
    </form>
    ${entries.length > 0 && html`<${Entries} entries=${entries} />`}
    <${ConfirmDialog} open=${confirming} title="Delete the webhook configuration?" confirmLabel="Delete configuration" danger
      onConfirm=${remove} onCancel=${() => setConfirming(false)}>
      <p>No events are sent any more, deliveries still pending are cancelled, and the secret, headers and per-event
        destinations are gone. Subscriptions are kept.</p>
    <//>
  </section>`;
}

/** Per-event destinations (eventsConfiguration), as the API has them; they are managed through the API. */
function Entries({ entries }) {
  return html`<h3>Per-event destinations</h3>
    <p><small>Set through the API (<code>eventsConfiguration</code>); events of these types go here instead of the
      destination above.</small></p>
    <table class="striped">
      <thead><tr><th scope="col">Event</th><th scope="col">Name</th><th scope="col">Destination</th>
        <th scope="col">Filter</th><th scope="col">State</th></tr></thead>
      <tbody>
        ${entries.map((entry) => html`<tr key=${entry.id}>
          <td><code>${entry.eventType}</code></td>
          <td>${entry.name || ""}</td>
          <td>${entry.destinationUrl || html`<span class="empty">the destination above</span>`}</td>
          <td>${entry.filter ? html`<code>${entry.filter}</code>` : ""}</td>
          <td>${entry.active ? "Active" : "Inactive"}</td>
        </tr>`)}
      </tbody>
    </table>`;
}

// Customers: find them by name, email or customer number, with paging; each row leads to the customer's page.

import { Badge, ErrorNotice, Pager, go, href, html, useEffect, useLoad, useState } from "../ui.js";
import { customerName, searchCustomers } from "../parts/customer-search.js";

const PAGE_SIZE = 20;

export default function CustomersPage({ query }) {
  const page = Math.max(1, Number(query.page) || 1);
  const text = query.text || "";
  const [form, setForm] = useState(text);
  useEffect(() => setForm(text), [text]);
  const list = useLoad(() => searchCustomers(text, page, PAGE_SIZE), [text, page]);
  const search = (event) => {
    event.preventDefault();
    go(href("customers", { text: form.trim() }));
  };
  return html`<div class="page-header"><h1>Customers</h1></div>
    <form class="search" role="search" aria-label="Find customers" onSubmit=${search}>
      <div class="toolbar">
        <div class="field">
          <label for="customers-text">Name, email or customer number</label>
          <input id="customers-text" type="search" value=${form} placeholder="Jane, doe@example.com…"
            onInput=${(e) => setForm(e.target.value)} />
        </div>
        <button type="submit" aria-busy=${list.loading ? "true" : "false"}>Search</button>
      </div>
    </form>
    <${ErrorNotice} error=${list.error} />
    ${list.loading && !list.data && html`<p aria-busy="true">Loading customers…</p>`}
    ${list.data &&
    html`${list.data.capped &&
      html`<p class="notice warning">Many customers match: showing the first 1,000 of each kind of match. Narrow the search.</p>`}
      <figure>
        <table class="striped">
          <caption class="visually-hidden">Customers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Company</th>
              <th scope="col">Customer number</th>
              <th scope="col">Active</th>
            </tr>
          </thead>
          <tbody>
            ${list.data.items.map(
              (customer) => html`<tr key=${customer.id}>
                <td><a href=${href("customers", customer.id)}>${customerName(customer)}</a></td>
                <td>${customer.contactEmail || ""}</td>
                <td>${customer.company || ""}</td>
                <td><code>${customer.id}</code></td>
                <td><${Badge} value=${customer.active === false ? "INACTIVE" : "ACTIVE"} /></td>
              </tr>`,
            )}
          </tbody>
        </table>
      </figure>
      ${list.data.items.length === 0 &&
      html`<p class="empty">${text ? `No customer matches “${text}”.` : "No customers yet."}</p>`}
      <${Pager} page=${page} pageSize=${PAGE_SIZE} total=${list.data.total} count=${list.data.items.length}
        label="Customer pages" onPage=${(next) => go(href("customers", { ...query, page: next }))} />`}`;
}

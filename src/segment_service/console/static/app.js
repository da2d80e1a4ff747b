// The console's shell: sign-in, the navigation, and the page the address names (#/segments, #/segments/<id>, …).
// Each page is a module in pages/, loaded when first visited.

import { currentSession, onSessionChange, signIn, signOut, takeExpiryNotice } from "./api.js";
import { ROUTES } from "./routes.js";
import { Announcer, ErrorNotice, Field, currentRoute, html, useAction, useEffect, useRef, useState } from "./ui.js";
import { render } from "./vendor/preact-htm.js";

const NAVIGATION = [
  { label: "Segments", href: "#/segments", section: "segments" },
  { label: "Customers", href: "#/customers", section: "customers" },
  { label: "Coupons", href: "#/coupons", section: "coupons" },
  { label: "Webhooks", href: "#/webhooks", section: "webhooks" },
  { label: "Import", href: "#/import", section: "import" },
];

function SignIn() {
  const [clientId, setClientId] = useState("");
  const [secret, setSecret] = useState("");
  const [notice] = useState(takeExpiryNotice);
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    action.run(() => signIn(clientId.trim(), secret));
  };
  const fields = action.error && action.error.status === 401 ? null : action.error;
  return html`<main class="container sign-in">
    <article>
      <header>
        <h1>segment-service console</h1>
        <p>Sign in with an API client's id and secret (<code>segment-service clients create</code> makes one;${" "}
          <code>make run</code> prints the first).</p>
      </header>
      ${notice && html`<div class="notice" role="status">${notice}</div>`}
      <form onSubmit=${submit} aria-label="Sign in">
        <${Field} label="Client id" name="client_id" error=${fields}>
          ${(props) => html`<input ...${props} autocomplete="username" required value=${clientId}
            onInput=${(e) => setClientId(e.target.value)} />`}
        <//>
        <${Field} label="Client secret" name="client_secret" error=${fields}>
          ${(props) => html`<input ...${props} type="password" autocomplete="current-password" required value=${secret}
            onInput=${(e) => setSecret(e.target.value)} />`}
        <//>
        <${ErrorNotice} error=${action.error} />
        <button type="submit" aria-busy=${action.busy ? "true" : "false"} disabled=${action.busy}>Sign in</button>
      </form>
    </article>
  </main>`;
}

function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const listener = () => setRoute(currentRoute());
    window.addEventListener("hashchange", listener);
    return () => window.removeEventListener("hashchange", listener);
  }, []);
  return route;
}

/** The first route whose pattern matches the path: {module, params}. */
function resolve(path) {
  for (const route of ROUTES) {
    if (route.pattern.length !== path.length) continue;
    const params = {};
    const matches = route.pattern.every((part, index) => {
      if (part.startsWith(":")) {
        params[part.slice(1)] = path[index];
        return true;
      }
      return part === path[index];
    });
    if (matches) return { route, params };
  }
  return null;
}

const loaded = new Map();

function loadPage(module) {
  if (!loaded.has(module)) loaded.set(module, import(`./pages/${module}.js`));
  return loaded.get(module);
}

function Page({ route }) {
  const found = resolve(route.path);
  const [component, setComponent] = useState(null);
  const [failure, setFailure] = useState(null);
  const main = useRef(null);
  const module = found ? found.route.module : null;
  useEffect(() => {
    setComponent(null);
    setFailure(null);
    if (!module) return;
    loadPage(module).then(
      (loadedModule) => setComponent(() => loadedModule.default),
      (error) => setFailure(error),
    );
  }, [module]);
  // A new page moves the focus to its heading, so a screen reader starts reading there. A page that loads its data
  // first shows its heading later: the focus waits for it (the control that was pressed may be gone by then, leaving
  // the focus nowhere), unless the reader has moved the focus elsewhere meanwhile.
  const pathKey = route.path.join("/");
  useEffect(() => {
    const root = main.current;
    if (!root) return undefined;
    const before = document.activeElement;
    const focusHeading = () => {
      const heading = root.querySelector("h1");
      if (!heading) return false;
      const active = document.activeElement;
      const moved = active && active !== document.body && active !== before && active.tagName !== "H1";
      if (!moved) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: true });
      }
      return true;
    };
    let observer = null;
    const timer = setTimeout(() => {
      if (focusHeading()) return;
      observer = new MutationObserver(() => {
        if (focusHeading()) {
          observer.disconnect();
          observer = null;
        }
      });
      observer.observe(root, { childList: true, subtree: true });
    }, 50);
    const giveUp = setTimeout(() => observer && observer.disconnect(), 15000);
    return () => {
      clearTimeout(timer);
      clearTimeout(giveUp);
      if (observer) observer.disconnect();
    };
  }, [pathKey, component]);
  let body;
  if (!found) {
    body = html`<h1>Not found</h1><p>The console has no page at this address. <a href="#/segments">Segments</a></p>`;
  } else if (failure) {
    body = html`<h1>This page did not load</h1><${ErrorNotice} error=${{ message: String(failure.message || failure) }} />`;
  } else if (!component) {
    body = html`<p aria-busy="true">Loading…</p>`;
  } else {
    const Component = component;
    // A page for another thing (#/new-segment after #/segments/gold/edit, another segment) starts afresh instead of
    // keeping the state of the one before; a tab of the same thing keeps it.
    const { tab, ...identity } = found.params;
    const key = `${module}:${JSON.stringify(identity)}`;
    body = html`<${Component} key=${key} params=${found.params} query=${route.query} />`;
  }
  return html`<main id="main" class="container" ref=${main}>${body}</main>`;
}

function Shell({ session }) {
  const route = useRoute();
  const section = route.path[0] || "segments";
  // The bare console address shows the segments. The address is replaced, not added to the history, so the back
  // button does not land on the bare address only to be sent on again; an address set meanwhile is left alone.
  useEffect(() => {
    if (route.path.length === 0 && currentRoute().path.length === 0) window.location.replace("#/segments");
  }, [route.path.length]);
  return html`<a class="skip-link" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById("main").querySelector("h1")?.focus();
    }}>Skip to content</a>
    <header class="topbar">
      <nav class="container" aria-label="Main">
        <ul>
          <li><strong class="brand">segment-service</strong></li>
          ${NAVIGATION.map(
            (item) => html`<li>
              <a href=${item.href} aria-current=${section === item.section ? "page" : undefined}>${item.label}</a>
            </li>`,
          )}
        </ul>
        <ul>
          <li><span class="tenant" title="Tenant">${session.tenant}</span></li>
          <li><button type="button" class="secondary outline" onClick=${() => signOut()}>Sign out</button></li>
        </ul>
      </nav>
    </header>
    <${Page} route=${route} />
    <${Announcer} />`;
}

function App() {
  const [session, setSession] = useState(currentSession);
  useEffect(() => onSessionChange(setSession), []);
  return session ? html`<${Shell} session=${session} />` : html`<${SignIn} />`;
}

render(html`<${App} />`, document.getElementById("app"));

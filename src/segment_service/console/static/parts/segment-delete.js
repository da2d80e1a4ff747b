// Deleting a segment, from its page or its edit page: count what would go with it first, say so in the question, and
// send forceDelete=true only when there is something to go (the API refuses a plain DELETE then).

import { api, seg } from "../api.js";
import { announce, go, html, localized, useAction } from "../ui.js";
import { SEGMENTS, plural } from "./segment-common.js";

async function total(path) {
  const page = await api.list(path, { pageSize: 1 });
  return page.total ?? page.items.length;
}

/** `start(segment)` counts the segment's assignments, then asks through `confirm.ask`; {busy, error} while counting. */
export function useDeleteSegment(confirm) {
  const counting = useAction();
  const start = (segment) =>
    counting.run(async () => {
      const base = `${SEGMENTS}/${seg(segment.id)}`;
      const [members, items] = await Promise.all([total(`${base}/customers`), total(`${base}/items`)]);
      const name = localized(segment.name) || segment.id;
      const force = members + items > 0;
      confirm.ask({
        title: `Delete the segment “${name}”?`,
        confirmLabel: "Delete segment",
        body: html`<p>
            ${force
              ? html`Its <strong>${plural(members, "customer assignment")}</strong> and${" "}
                  <strong>${plural(items, "item assignment")}</strong> will be deleted with it.`
              : "It has no customer or item assignments."}${" "}
            Coupons restricted to it will no longer admit anyone through it. This cannot be undone.
          </p>`,
        onConfirm: async () => {
          await api.delete(base, force ? { forceDelete: "true" } : undefined);
          announce(`Segment “${name}” deleted.`);
          go("#/segments");
        },
      });
    });
  return { busy: counting.busy, error: counting.error, start };
}

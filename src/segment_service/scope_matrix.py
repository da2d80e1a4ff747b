"""The scope matrix: which token may call which operation, read from the routes' own declarations.

`python -m segment_service.scope_matrix > docs/scopes.md` writes the document; a test keeps it equal to this output
and checks every cell against the running service.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from segment_service.core.auth import ANONYMOUS_SCOPES, CUSTOMER_SCOPES, SERVICE_SCOPES, TokenKind

#: The scopes each kind of token carries by default (a service token: every scope its client has, here all of them).
DEFAULT_SCOPES: dict[TokenKind, tuple[str, ...]] = {
    TokenKind.SERVICE: SERVICE_SCOPES,
    TokenKind.CUSTOMER: CUSTOMER_SCOPES,
    TokenKind.ANONYMOUS: ANONYMOUS_SCOPES,
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation and what its route declares."""

    operation_id: str
    method: str
    path: str
    scopes: tuple[str, ...] | None
    """Any one of these is enough; `()`: any valid token of the tenant; None: no token at all."""
    kinds: tuple[TokenKind, ...] | None
    """The token kinds it takes; None: any."""
    anonymous_without_scopes: bool = False
    """True: `scopes` bind service and customer tokens only, an anonymous token needs none
    (`opt["anonymous_without_scopes"]`)."""
    note: str | None = None
    """What the operation checks beyond the guard's scopes (`opt["scope_note"]`), said in the matrix."""

    def allows(self, kind: TokenKind, scopes: tuple[str, ...]) -> bool:
        """Whether a token of `kind` holding `scopes` gets past the guard."""
        if self.scopes is None:
            return True
        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.anonymous_without_scopes and kind is TokenKind.ANONYMOUS:
            return True
        return not self.scopes or bool(set(self.scopes) & set(scopes))


def operations(app: Litestar) -> Iterator[Operation]:
    """Every documented operation of the app, in path order."""
    found: list[Operation] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or not isinstance(handler.operation_id, str):
                continue
            (method,) = handler.http_methods
            path = route.path.replace(":str", "")
            found.append(
                Operation(
                    handler.operation_id,
                    method,
                    path,
                    handler.opt.get("scopes"),
                    handler.opt.get("kinds"),
                    anonymous_without_scopes=bool(handler.opt.get("anonymous_without_scopes")),
                    note=handler.opt.get("scope_note"),
                )
            )
    yield from sorted(found, key=lambda o: (o.path, o.method))


def render(app: Litestar) -> str:
    """The scope matrix as Markdown."""
    lines = [
        "# Scope matrix",
        "",
        "Which token may call which operation. *Scopes*: any one of them is enough. The last three columns say",
        "whether a token of that kind, with the scopes it carries by default, gets past the authorization check:",
        "a service token holding every back-office scope, a customer token (its storefront scopes, see",
        "[behaviour.md](behaviour.md)), an anonymous token (no scope). A token of another tenant is always refused",
        "(403), a missing, expired or logged-out one always 401. Generated from the routes by",
        "`python -m segment_service.scope_matrix`; a test keeps this file current and checks every cell against the",
        "running service.",
        "",
        "| Operation | Method and path | Scopes | Token kinds | Service | Customer | Anonymous |",
        "|---|---|---|---|:-:|:-:|:-:|",
    ]
    for op in operations(app):
        if op.scopes is None:
            scopes, kinds = "none: no token needed", "-"
        else:
            scopes = ", ".join(f"`{s}`" for s in op.scopes) or "any valid token"
            if op.anonymous_without_scopes:
                scopes += "; an anonymous token needs none"
            if op.note:
                scopes += f"; {op.note}"
            kinds = ", ".join(op.kinds) if op.kinds else "any"
        cells = ["yes" if op.allows(kind, DEFAULT_SCOPES[kind]) else "no" for kind in DEFAULT_SCOPES]
        lines.append(f"| {op.operation_id} | `{op.method} {op.path}` | {scopes} | {kinds} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from segment_service.app import create_app
    from segment_service.settings import Settings

    # The routes are all that is read: no database is opened.
    print(render(create_app(Settings(database_url="postgresql://unused", signing_key="x" * 32))), end="")

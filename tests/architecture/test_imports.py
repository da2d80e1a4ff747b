"""Dependencies point one way (CONTRIBUTING.md#layout-and-conventions; docs/events.md).

Walks every import of src/segment_service with `ast` — module-level, function-local and TYPE_CHECKING ones alike —
and fails on an import cycle among the service folders (a reaction to another service's change is a subscriber in
core/events.py's registry instead), on a service importing another service's store module, and on core/ importing
a service.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import segment_service

PACKAGE = "segment_service"
ROOT = Path(segment_service.__file__).parent
CORE = "core"


@dataclass(frozen=True)
class Import:
    """One imported module, as seen from `source` (a file under the package)."""

    source: str
    line: int
    module: str
    local: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[Import]:
    """Every module `path` imports, with `from x import y` counted as x.y too (y may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    local_nodes = {id(inner) for f in functions for inner in ast.walk(f)}
    source = str(path.relative_to(ROOT.parent))
    for node in ast.walk(tree):
        local = id(node) in local_nodes
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(source, node.lineno, alias.name, local)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield Import(source, node.lineno, module, local)
            for alias in node.names:
                yield Import(source, node.lineno, f"{module}.{alias.name}", local)


def _all_imports() -> list[Import]:
    return [i for path in sorted(ROOT.rglob("*.py")) for i in _imports(path) if i.module.startswith(PACKAGE + ".")]


def _unit(module_or_source: str) -> str:
    """The folder (service or core) or top-level module a module or file belongs to."""
    parts = module_or_source.removesuffix(".py").replace("/", ".").split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _service_folders() -> set[str]:
    return {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name != CORE}


def _graph(imports: list[Import]) -> dict[str, dict[str, Import]]:
    """Folder or top-level module -> what it imports (one example import per edge)."""
    graph: dict[str, dict[str, Import]] = {}
    for imp in imports:
        source, target = _unit(imp.source), _unit(imp.module)
        if source != target and target != "__init__":
            graph.setdefault(source, {}).setdefault(target, imp)
    return graph


def _cycles(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _describe(graph: dict[str, dict[str, Import]], component: list[str]) -> str:
    edges = [
        f"  {source} -> {target} ({imp.source}:{imp.line}{', function-local' if imp.local else ''})"
        for source in component
        for target, imp in sorted(graph.get(source, {}).items())
        if target in component
    ]
    return " / ".join(component) + ":\n" + "\n".join(edges)


def test_the_walk_sees_the_package() -> None:
    services = _service_folders()
    assert {"segments", "customers", "legal_entities", "products", "categories", "coupons", "oauth"} <= services
    graph = _graph(_all_imports())
    assert "customers" in graph["segments"]  # segments build on customers: the walk sees real imports


def test_no_import_cycle_among_service_folders() -> None:
    graph = _graph(_all_imports())
    cycles = _cycles(graph)
    assert not cycles, "import cycles (a reaction belongs in a subscriber, docs/events.md):\n" + "\n".join(
        _describe(graph, c) for c in cycles
    )


def test_the_cycle_check_finds_a_function_local_cycle() -> None:
    imports = [
        Import("segment_service/a/service.py", 1, "segment_service.b.service", False),
        Import("segment_service/b/service.py", 9, "segment_service.a.service", True),
    ]
    graph = _graph(imports)
    assert _cycles(graph) == [["a", "b"]]
    assert "function-local" in _describe(graph, ["a", "b"])


def _store_imports(imports: list[Import], services: set[str]) -> list[str]:
    """Imports of another service folder's store module (store.py, *_store.py)."""
    offending = []
    for imp in imports:
        source, target = _unit(imp.source), _unit(imp.module)
        module = imp.module.rsplit(".", 1)[-1]
        is_store = module == "store" or module.endswith("_store")
        if target in services and source != target and is_store and imp.module.count(".") == 2:
            offending.append(f"{imp.source}:{imp.line} imports {imp.module}")
    return offending


def test_no_service_imports_another_services_store() -> None:
    offending = _store_imports(_all_imports(), _service_folders())
    assert not offending, "a service calls another service's service module, never its store:\n" + "\n".join(offending)


def test_the_store_check_finds_a_store_import() -> None:
    imports = [
        Import("segment_service/a/service.py", 3, "segment_service.b.contact_store", False),
        Import("segment_service/a/service.py", 4, "segment_service.b.service", False),
        Import("segment_service/b/service.py", 5, "segment_service.b.store", False),
    ]
    assert _store_imports(imports, {"a", "b"}) == [
        "segment_service/a/service.py:3 imports segment_service.b.contact_store"
    ]


def test_core_imports_no_service() -> None:
    services = _service_folders()
    offending = [
        f"{imp.source}:{imp.line} imports {imp.module}"
        for imp in _all_imports()
        if _unit(imp.source) == CORE and _unit(imp.module) in services
    ]
    assert not offending, "core/ is shared by every service and depends on none:\n" + "\n".join(offending)

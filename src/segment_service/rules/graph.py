"""The dependencies between a tenant's rules (docs/rules.md#other-segments): which segments a rule reads, cycles,
the order to evaluate in, and who reads a segment. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Graph:
    """The tenant's rule dependencies (segment -> the segments its rule names)."""

    edges: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def cycle_through(self, start: str) -> list[str] | None:
        """A dependency path from `start` back to itself, if there is one."""
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, trail = stack.pop()
            for nxt in self.edges.get(node, ()):
                if nxt == start:
                    return [*trail, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
        return None

    def order(self) -> list[str]:
        """Segments with rules, each after the segments it depends on."""
        done: list[str] = []
        placed: set[str] = set()

        def visit(node: str, depth: int) -> None:
            if node in placed or node not in self.edges or depth > len(self.edges):
                return
            for dep in self.edges[node]:
                visit(dep, depth + 1)
            placed.add(node)
            done.append(node)

        for node in sorted(self.edges):
            visit(node, 0)
        return done

    def levels(self) -> list[list[str]]:
        """The segments with rules in groups: each group's rules read only segments of earlier groups (or segments
        without rules), so one group can be applied in one statement."""
        level: dict[str, int] = {}
        for node in self.order():
            level[node] = 1 + max((level.get(dep, -1) for dep in self.edges[node]), default=-1)
        groups: dict[int, list[str]] = {}
        for node, n in level.items():
            groups.setdefault(n, []).append(node)
        return [sorted(groups[n]) for n in sorted(groups)]

    def dependents(self, segments: set[str]) -> set[str]:
        """Every segment whose rule reads one of `segments`, directly or through others."""
        found: set[str] = set()
        frontier = set(segments)
        while frontier:
            frontier = {s for s, deps in self.edges.items() if set(deps) & frontier and s not in found}
            found |= frontier
        return found

    def reads(self, segment: str) -> set[str]:
        """Every segment `segment`'s rule reads, directly or through others."""
        found: set[str] = set()
        frontier = set(self.edges.get(segment, ()))
        while frontier:
            found |= frontier
            frontier = {dep for node in frontier for dep in self.edges.get(node, ())} - found
        return found

"""The report: machine facts, the scenario table with each scenario's ratio to the floor, the COPY rates and the
plans, printed as plain text and written as Markdown."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench import assignments as assignment_data
from bench import coupons as coupon_data
from bench import storefront as storefront_data
from bench.assignments import AssignmentLoadResult
from bench.categories import CategoryLoadResult
from bench.coupons import CouponLoadResult
from bench.dataset import LoadResult
from bench.load import WrkResult
from bench.plans import StatementPlans
from bench.storefront import StorefrontLoadResult

FLOOR = "floor"


@dataclass(frozen=True, slots=True)
class Machine:
    """What the numbers were measured on."""

    cpu: str
    cores: int
    memory_gib: float
    python: str
    postgres: str
    server: str
    """The HTTP server of the service and the floor, with its parser and event loop."""
    wrk: str
    date: str


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def machine(postgres_version: str, wrk_version: str, now: datetime) -> Machine:
    """This machine's facts; `postgres_version` comes from the server, `now` is the run's start."""
    from importlib.metadata import version

    # sched_getaffinity counts the cores this process may use, which is what a container really gets.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)
    return Machine(
        cpu=_cpu_model(),
        cores=cores,
        memory_gib=_memory_gib(),
        python=f"{platform.python_implementation()} {sys.version.split()[0]}",
        postgres=postgres_version,
        server=(f"uvicorn {version('uvicorn')} (httptools {version('httptools')}, uvloop {version('uvloop')})"),
        wrk=wrk_version,
        date=now.strftime("%Y-%m-%d %H:%M UTC"),
    )


@dataclass(frozen=True, slots=True)
class Scenario:
    """One measured scenario: what was requested and what wrk saw."""

    name: str
    request: str
    result: WrkResult
    server_cpu_us: float = 0.0
    """CPU of the HTTP server's processes per request (uvicorn's supervisor and workers, with the Python app)."""
    postgres_cpu_us: float = 0.0
    """CPU of the PostgreSQL server per request (the backends serving the pool)."""
    client_cpu_us: float = 0.0
    """CPU of wrk per request: the share of the 2 cores the load generator takes."""
    items_per_request: int = 0
    """Assignments each request writes (the bulk upsert's 200); 0 for reads."""
    workers: int = 0
    """The server's worker processes, when this scenario ran on a server with other workers than the run's."""

    @property
    def items_per_second(self) -> float:
        return self.result.requests_per_second * self.items_per_request


@dataclass(slots=True)
class Report:
    """Everything one run produced."""

    machine: Machine
    settings: dict[str, str]
    dataset: LoadResult
    categories: CategoryLoadResult | None = None
    """The category dataset, when a category scenario ran."""
    assignments: AssignmentLoadResult | None = None
    """The segment assignment dataset, when an assignment scenario ran."""
    storefront: StorefrontLoadResult | None = None
    """The storefront dataset, when a storefront scenario ran."""
    coupons: CouponLoadResult | None = None
    """The coupon dataset, when a coupon scenario ran."""
    scenarios: list[Scenario] = field(default_factory=list)
    plans: list[StatementPlans] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ratio(self, scenario: Scenario) -> float | None:
        """req/s as a share of the floor's req/s in this same run."""
        floor = next((s for s in self.scenarios if s.name == FLOOR), None)
        if floor is None or floor.result.requests_per_second <= 0:
            return None
        return scenario.result.requests_per_second / floor.result.requests_per_second

    def rows(self) -> list[list[str]]:
        """The scenario table: header first."""
        table = [
            [
                "scenario",
                "req/s",
                "p50 ms",
                "p99 ms",
                "vs floor",
                "server CPU µs/req",
                "PostgreSQL CPU µs/req",
                "wrk CPU µs/req",
                "errors",
                "assignments/s",
            ]
        ]
        for s in self.scenarios:
            ratio = self.ratio(s)
            errors = s.result.non_2xx + s.result.socket_errors
            name = f"{s.name} ({s.workers} workers)" if s.workers else s.name
            table.append(
                [
                    name,
                    f"{s.result.requests_per_second:,.0f}",
                    f"{s.result.p50_ms:.2f}",
                    f"{s.result.p99_ms:.2f}",
                    "-" if ratio is None else f"{ratio:.2f}",
                    f"{s.server_cpu_us:,.0f}",
                    f"{s.postgres_cpu_us:,.0f}",
                    f"{s.client_cpu_us:,.0f}",
                    str(errors),
                    f"{s.items_per_second:,.0f}" if s.items_per_request else "-",
                ]
            )
        return table


def _text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    numeric = set(range(1, 10))
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in numeric and n else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_table(rows: list[list[str]]) -> str:
    numeric = set(range(1, 10))
    lines = [
        "| " + " | ".join(rows[0]) + " |",
        "|" + "|".join("---:" if i in numeric else "---" for i in range(len(rows[0]))) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _machine_lines(m: Machine) -> list[str]:
    return [
        f"date: {m.date}",
        f"CPU: {m.cpu}, {m.cores} cores usable",
        f"memory: {m.memory_gib:.1f} GiB",
        f"Python: {m.python}",
        f"PostgreSQL: {m.postgres}",
        f"HTTP server: {m.server}",
        f"load: {m.wrk}",
    ]


def _dataset_line(d: LoadResult) -> str:
    return (
        f"COPY of {d.rows:,} segments: {d.seconds:.2f} s = {d.rows_per_second:,.0f} rows/s "
        f"(with the primary key and segments_site_status_idx in place); VACUUM (ANALYZE) "
        f"{d.analyze_seconds:.2f} s; table + indexes {d.table_bytes / 1024 / 1024:.0f} MiB; the measured tenant "
        f"has {d.tenant_rows:,} segments, {d.matching_search:,} of them match the search"
    )


def _category_lines(c: CategoryLoadResult) -> list[str]:
    """The category dataset and one line per COPY."""
    levels = " / ".join(f"{n:,}" for n in c.level_sizes)
    mib = sum(c.table_bytes.values()) / 1024 / 1024
    lines = [
        f"categories of the measured tenant: {sum(c.level_sizes):,} in {len(c.level_sizes)} levels ({levels}), "
        f"{c.leaves:,} leaves, {c.closure_rows:,} closure rows; assignments under a root "
        f"{c.mean_subtree(c.roots):,.0f} on average, under a level-2 category {c.mean_subtree(c.level2):,.0f}, "
        f"on a sampled leaf {sum(c.direct_total.values()) / max(1, len(c.direct_total)):,.0f}; generated in "
        f"{c.generate_seconds:.1f} s"
    ]
    lines += [
        f"COPY {s.table}: {s.rows:,} rows in {s.seconds:.2f} s = {s.rows_per_second:,.0f} rows/s "
        f"(table + indexes {c.table_bytes.get(s.table, 0) / 1024 / 1024:,.0f} MiB)"
        for s in c.copies
    ]
    lines.append(
        f"(both tenants' rows; every index and foreign key in place) VACUUM (ANALYZE) "
        f"{c.vacuum_seconds:.2f} s; the four tables with their indexes {mib:,.0f} MiB"
    )
    return lines


def _plan_title(p: StatementPlans) -> str:
    """The scenario's name, and which of its request's statements this is when it sends more than one."""
    return f"{p.name}, statement {p.position} of {p.request_statements}" if p.request_statements > 1 else p.name


def _plan_line(p: StatementPlans) -> str:
    return f"plan, {_plan_title(p)}: {p.summary}"


def text(report: Report) -> str:
    """The report for the terminal."""
    parts = [
        "",
        "segment-service benchmark",
        "=" * 25,
        *_machine_lines(report.machine),
        "settings: " + ", ".join(f"{k}={v}" for k, v in report.settings.items()),
        "",
        _dataset_line(report.dataset),
        *(_category_lines(report.categories) if report.categories else []),
        *(assignment_data.lines(report.assignments) if report.assignments else []),
        *(storefront_data.lines(report.storefront) if report.storefront else []),
        *(coupon_data.lines(report.coupons) if report.coupons else []),
        "",
        _text_table(report.rows()),
        "",
    ]
    for p in report.plans:
        parts.append(_plan_line(p))
    parts += [f"note: {n}" for n in report.notes]
    return "\n".join(parts) + "\n"


def markdown(report: Report) -> str:
    """The report as Markdown (bench/results/latest.md)."""
    m = report.machine
    parts = [
        "# segment-service benchmark",
        "",
        *[f"- {line}" for line in _machine_lines(m)],
        "- settings: " + ", ".join(f"`{k}={v}`" for k, v in report.settings.items()),
        "",
        "## Dataset",
        "",
        _dataset_line(report.dataset) + ".",
        "",
        *([f"- {line}" for line in _category_lines(report.categories)] + [""] if report.categories else []),
        *([f"- {line}" for line in assignment_data.lines(report.assignments)] + [""] if report.assignments else []),
        *([f"- {line}" for line in storefront_data.lines(report.storefront)] + [""] if report.storefront else []),
        *([f"- {line}" for line in coupon_data.lines(report.coupons)] + [""] if report.coupons else []),
        "## Scenarios",
        "",
        "`vs floor` is the scenario's req/s divided by the floor's req/s in this same run. The CPU columns are CPU "
        "time per request, read from /proc over the measured interval: the HTTP server's processes, the PostgreSQL "
        "server, and wrk itself; they move far less with a noisy neighbour than req/s does. `errors` counts non-2xx "
        "responses and socket errors (it must be 0). `assignments/s` is req/s times the assignments each request "
        "writes (bulk scenarios only).",
        "",
        _markdown_table(report.rows()),
        "",
        "Requests:",
        "",
        *[f"- **{s.name}**: {s.request}" for s in report.scenarios],
        "",
        "## Query plans",
        "",
    ]
    for p in report.plans:
        sent = (
            f"The request sends {p.request_statements} statements, one after the other; this is number {p.position}. "
            if p.request_statements > 1
            else ""
        )
        parts += [
            f"### {_plan_title(p)}",
            "",
            f"{sent}Summary: {p.summary}.",
            "",
            "```sql",
            p.sql,
            "```",
            "",
            f"Parameters: `{list(p.params)!r}`",
            "",
            "Custom plan (the bound values; EXPLAIN ANALYZE, BUFFERS):",
            "",
            "```",
            p.custom_plan,
            "```",
            "",
            "Generic plan (plan_cache_mode = force_generic_plan):",
            "",
            "```",
            p.generic_plan,
            "```",
            "",
            f"Plan cache over {p.generic_plans + p.custom_plans} executions through asyncpg: "
            f"{p.generic_plans} generic, {p.custom_plans} custom plans.",
            "",
        ]
    if report.notes:
        parts += ["## Notes", "", *[f"- {n}" for n in report.notes], ""]
    return "\n".join(parts)


def write_markdown(report: Report, path: Path) -> None:
    """Write the Markdown report, creating its folder (bench/results/ is git-ignored)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(report), encoding="utf-8")

"""`python -m bench.imports` (`make bench-import`): the import rate of `segment-service import`.

A private embedded PostgreSQL in a temporary folder; the import (the command's own code, in this process) loads the
references (segments, products, customers, a legal entity, contacts) and then 100,000+ item and customer assignments
from NDJSON and CSV, first as new rows, then the same file again (every row replaced; --repeat times, 3 by default).

Per run: the rate as the command reports it (rows / seconds from connecting to the last row written), and the CPU
seconds the import and PostgreSQL spent (read from /proc). On a shared machine the rate swings with the neighbours'
load; the CPU seconds barely do, so the last column, rows / (import CPU + PostgreSQL CPU), is the rate one idle core
doing both would reach: a floor for an idle 2-core machine, where the import reads the next batch while PostgreSQL
writes one. A last run of the real command shows its wall time with the process start.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from segment_service.core.db import migrate
from segment_service.embedded import start_embedded
from segment_service.settings import Settings
from segment_service.transfer import importer

TENANT = "benchimport"
CLI = [sys.executable, "-m", "segment_service"]


def _write_ndjson(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row) + "\n")
    return path


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


_TICKS = os.sysconf("SC_CLK_TCK")


def _postgres_cpu(postmaster: int) -> float:
    """CPU seconds of the postmaster and its children so far, exited backends included (the postmaster reaps
    them, so their time is in its cutime/cstime)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()  # fields[0] is field 3 (state), ppid is field 4
        if int(entry.name) == postmaster or int(fields[1]) == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / _TICKS


def _run(settings: Settings, dsn: str, kind: str, file: Path, postmaster: int) -> dict[str, Any]:
    """One import, in this process (the command's own code path), with the CPU seconds it and PostgreSQL spent."""
    client_before = time.process_time()
    postgres_before = _postgres_cpu(postmaster)
    summary = asyncio.run(importer.import_file(settings, dsn, kind, file, TENANT))
    time.sleep(0.3)  # the postmaster reaps the import's backends
    result = summary.as_json()
    if summary.failed:
        raise SystemExit(f"import {kind} {file.name}: {summary.failed} row(s) failed: {result['errors'][:3]}")
    result["client_cpu"] = time.process_time() - client_before
    result["postgres_cpu"] = _postgres_cpu(postmaster) - postgres_before
    return result


def _run_command(kind: str, file: Path, data_dir: Path) -> tuple[dict[str, Any], float]:
    """The same import as `segment-service import --json`, and the command's wall time with its start."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    started = time.perf_counter()
    result = subprocess.run(
        [*CLI, "import", kind, str(file), "--tenant", TENANT, "--json", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"import {kind} {file.name} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary, wall


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--segments", type=int, default=50, help="segments (default 50)")
    parser.add_argument(
        "--items",
        type=int,
        default=2000,
        help="products, and customers (default 2000: 50 x 2000 = 100,000 assignments of each kind)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each replace import (the machine's other load makes single runs noisy)",
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="segment-service-bench-import-"))
    data_dir = folder / "data"
    # Held for the whole run, so that every command joins the same server and its CPU counters keep counting.
    server, dsn = start_embedded(data_dir)
    asyncio.run(migrate(dsn))
    settings = Settings(database_url=dsn)
    postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    try:
        segments = [f"seg{i:04d}" for i in range(args.segments)]
        products = [f"p{i:06d}" for i in range(args.items)]
        customers = [f"c{i:06d}" for i in range(args.items)]
        references = [
            (
                "segments",
                _write_ndjson(
                    folder / "segments.ndjson",
                    [
                        {"id": s, "name": {"en": f"Segment {s}"}, "siteCode": "main", "status": "ACTIVE"}
                        for s in segments
                    ],
                ),
            ),
            (
                "products",
                _write_csv(
                    folder / "products.csv",
                    ["id", "code", "name.en", "published"],
                    [[p, p, f"Product {p}", "true"] for p in products],
                ),
            ),
            (
                "customers",
                _write_ndjson(
                    folder / "customers.ndjson",
                    [{"id": c, "contactEmail": f"{c}@example.com", "firstName": "Bench"} for c in customers],
                ),
            ),
            ("legal-entities", _write_ndjson(folder / "legal-entities.ndjson", [{"id": "acme", "name": "Acme"}])),
            (
                "contacts",
                _write_ndjson(
                    folder / "contacts.ndjson",
                    [{"legalEntity": {"id": "acme"}, "customer": {"id": c}} for c in customers[:100]],
                ),
            ),
        ]
        items_ndjson = _write_ndjson(
            folder / "items.ndjson",
            [
                {"segmentId": s, "type": "PRODUCT", "id": p, "mixins": {"rank": i}}
                for s in segments
                for i, p in enumerate(products)
            ],
        )
        items_csv = _write_csv(
            folder / "items.csv", ["segmentId", "type", "id"], [[s, "PRODUCT", p] for s in segments for p in products]
        )
        # One in twenty B2B (the first 100 customers are contacts of acme), the rest B2C.
        customer_rows = [
            {"segmentId": s, "customerId": c, **({"legalEntityId": "acme"} if j % 20 == 0 else {})}
            for s in segments
            for j, c in enumerate(customers)
            if j % 20 != 0 or j < 100
        ]
        customers_ndjson = _write_ndjson(folder / "customer-assignments.ndjson", customer_rows)
        runs: list[tuple[str, dict[str, Any]]] = []
        for kind, file in references:
            runs.append((f"{kind} ({file.suffix[1:]})", _run(settings, dsn, kind, file, postmaster)))
        for label, kind, file, times in (
            ("item-assignments (ndjson, new)", "item-assignments", items_ndjson, 1),
            ("item-assignments (ndjson, replace)", "item-assignments", items_ndjson, args.repeat),
            ("item-assignments (csv, replace)", "item-assignments", items_csv, args.repeat),
            ("customer-assignments (ndjson, new)", "customer-assignments", customers_ndjson, 1),
            ("customer-assignments (ndjson, replace)", "customer-assignments", customers_ndjson, args.repeat),
        ):
            for _ in range(times):
                runs.append((label, _run(settings, dsn, kind, file, postmaster)))
        load = os.getloadavg()[0]
        print(
            f"\nsegment-service import, {os.cpu_count()} cores, embedded PostgreSQL, load average {load:.1f} "
            "at the end\n"
        )
        print(
            "| file | rows | created | replaced | import s | rows/s | CPU s import | CPU s PostgreSQL | "
            "rows/s, one idle core |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        command, wall = _run_command("item-assignments", items_ndjson, data_dir)
        for label, s in runs:
            client, postgres = s["client_cpu"], s["postgres_cpu"]
            one_core = s["rows"] / max(client + postgres, 0.01)
            print(
                f"| {label} | {s['rows']:,} | {s['created']:,} | {s['updated']:,} | {s['seconds']:.2f} | "
                f"{s['rowsPerSecond']:,} | {client:.2f} | {postgres:.2f} | {one_core:,.0f} |"
            )
        print(
            f"\nThe command itself (`segment-service import item-assignments items.ndjson --json`, replacing "
            f"{command['rows']:,} rows): {command['rowsPerSecond']:,} rows/s, {wall:.1f} s with its start."
        )
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

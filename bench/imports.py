"""`python -m bench.imports` (`make bench-import`): the import rate of `segment-service import`.

A private embedded PostgreSQL in a temporary folder; the CLI imports the references (segments, products,
customers, a legal entity, contacts) and then 100,000+ item and customer assignments from NDJSON and CSV,
first as new rows, then the same file again (every row replaced; --repeat times, 3 by default). Each line of the
report is one real CLI run; the rate is the command's own (rows / time from the first row read to the last row
written, without the process start), the wall time is the whole command.
"""

from __future__ import annotations

import argparse
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


def _run(kind: str, file: Path, data_dir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    started = time.perf_counter()
    result = subprocess.run([*CLI, "import", kind, str(file), "--tenant", TENANT, "--json", "--data-dir",
                             str(data_dir)], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"import {kind} {file.name} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    summary: dict[str, Any] = json.loads(result.stdout)
    summary["wall"] = wall
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--segments", type=int, default=50, help="segments (default 50)")
    parser.add_argument("--items", type=int, default=2000,
                        help="products, and customers (default 2000: 50 x 2000 = 100,000 assignments of each kind)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each replace import (the machine's other load makes single runs noisy)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="segment-service-bench-import-"))
    data_dir = folder / "data"
    try:
        segments = [f"seg{i:04d}" for i in range(args.segments)]
        products = [f"p{i:06d}" for i in range(args.items)]
        customers = [f"c{i:06d}" for i in range(args.items)]
        references = [
            ("segments", _write_ndjson(folder / "segments.ndjson", [
                {"id": s, "name": {"en": f"Segment {s}"}, "siteCode": "main", "status": "ACTIVE"} for s in segments])),
            ("products", _write_csv(folder / "products.csv", ["id", "code", "name.en", "published"],
                                    [[p, p, f"Product {p}", "true"] for p in products])),
            ("customers", _write_ndjson(folder / "customers.ndjson", [
                {"id": c, "contactEmail": f"{c}@example.com", "firstName": "Bench"} for c in customers])),
            ("legal-entities", _write_ndjson(folder / "legal-entities.ndjson", [{"id": "acme", "name": "Acme"}])),
            ("contacts", _write_ndjson(folder / "contacts.ndjson", [
                {"legalEntity": {"id": "acme"}, "customer": {"id": c}} for c in customers[:100]])),
        ]
        items_ndjson = _write_ndjson(folder / "items.ndjson", [
            {"segmentId": s, "type": "PRODUCT", "id": p, "mixins": {"rank": i}}
            for s in segments for i, p in enumerate(products)])
        items_csv = _write_csv(folder / "items.csv", ["segmentId", "type", "id"],
                               [[s, "PRODUCT", p] for s in segments for p in products])
        # One in twenty B2B (the first 100 customers are contacts of acme), the rest B2C.
        customer_rows = [{"segmentId": s, "customerId": c, **({"legalEntityId": "acme"} if j % 20 == 0 else {})}
                         for s in segments for j, c in enumerate(customers) if j % 20 != 0 or j < 100]
        customers_ndjson = _write_ndjson(folder / "customer-assignments.ndjson", customer_rows)
        runs: list[tuple[str, dict[str, Any]]] = []
        for kind, file in references:
            runs.append((f"{kind} ({file.suffix[1:]})", _run(kind, file, data_dir)))
        for label, kind, file, times in (
            ("item-assignments (ndjson, new)", "item-assignments", items_ndjson, 1),
            ("item-assignments (ndjson, replace)", "item-assignments", items_ndjson, args.repeat),
            ("item-assignments (csv, replace)", "item-assignments", items_csv, args.repeat),
            ("customer-assignments (ndjson, new)", "customer-assignments", customers_ndjson, 1),
            ("customer-assignments (ndjson, replace)", "customer-assignments", customers_ndjson, args.repeat),
        ):
            for _ in range(times):
                runs.append((label, _run(kind, file, data_dir)))
        load = os.getloadavg()[0]
        print(f"\nsegment-service import, {os.cpu_count()} cores, embedded PostgreSQL, load average {load:.1f} "
              "at the end\n")
        print("| file | rows | created | replaced | failed | import s | rows/s | wall s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, s in runs:
            print(f"| {label} | {s['rows']:,} | {s['created']:,} | {s['updated']:,} | {s['failed']:,} | "
                  f"{s['seconds']:.2f} | {s['rowsPerSecond']:,} | {s['wall']:.1f} |")
    finally:
        subprocess.run([*CLI, "migrate", "--data-dir", str(data_dir)], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

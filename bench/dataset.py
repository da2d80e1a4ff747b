"""The benchmark dataset: segments for one big tenant plus a few small ones, loaded with COPY.

Values are shaped like a real back office fills them: localized names (`{"en": ...}`, sometimes German too), most
segments on the `main` site, about half ACTIVE, some with a validity window, mixins on some. Generation is seeded, so
every run loads the same data and plans and numbers stay comparable between runs.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

#: The tenant the scenarios read; the others exist so that every query really has to filter on tenant.
TENANT = "benchtenant"
OTHER_TENANTS = ("othertenant1", "othertenant2", "othertenant3", "othertenant4")

# Most shops run one site; a few segments target others. The shares make `siteCode:main` select most rows, as it
# would in practice, which is the harder case for a LIMIT 60 search (many candidates, ordered by id).
_SITES = (("main", 0.80), ("de", 0.08), ("ch", 0.05), ("uk", 0.04), ("us", 0.03))
_ADJECTIVES = ("Loyal", "Premium", "Frequent", "New", "Lapsed", "Seasonal", "Wholesale", "VIP", "Online", "Regional")
_NOUNS = ("Buyers", "Customers", "Members", "Shoppers", "Accounts", "Partners", "Subscribers", "Resellers")
_GERMAN = {
    "Buyers": "Käufer",
    "Customers": "Kunden",
    "Members": "Mitglieder",
    "Shoppers": "Einkäufer",
    "Accounts": "Konten",
    "Partners": "Partner",
    "Subscribers": "Abonnenten",
    "Resellers": "Wiederverkäufer",
}
_TIERS = ("bronze", "silver", "gold", "platinum")

COLUMNS = (
    "tenant",
    "id",
    "name",
    "description",
    "status",
    "site_code",
    "valid_from",
    "valid_to",
    "mixins",
    "metadata_mixins",
    "version",
    "created_at",
    "modified_at",
)

_encode = msgspec.json.Encoder().encode


def _json(value: Any) -> str | None:
    # COPY goes through asyncpg's built-in binary jsonb codec, which takes JSON text.
    return None if value is None else _encode(value).decode()


def _pick_site(rng: random.Random) -> str:
    roll = rng.random()
    for site, share in _SITES:
        roll -= share
        if roll < 0:
            return site
    return _SITES[0][0]


def segment_record(rng: random.Random, tenant: str, now: datetime) -> tuple[Any, ...]:
    """One `segments` row in COPY column order."""
    segment_id = rng.randbytes(12).hex()  # the shape of the ids the service generates (core.ids.new_id)
    adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
    number = rng.randrange(1, 10_000)
    name = {"en": f"{adjective} {noun} {number}"}
    if rng.random() < 0.3:
        name["de"] = f"{adjective} {_GERMAN[noun]} {number}"
    description = {"en": f"{adjective} {noun.lower()} of region {rng.randrange(1, 50)}"} if rng.random() < 0.6 else None
    created = now - timedelta(seconds=rng.randrange(0, 2 * 365 * 86_400))
    modified = created + timedelta(seconds=rng.randrange(0, max(1, int((now - created).total_seconds()))))
    valid_from = valid_to = None
    if rng.random() < 0.2:
        valid_from = created + timedelta(days=rng.randrange(0, 30))
        valid_to = valid_from + timedelta(days=rng.randrange(7, 400))  # some windows have already closed
    mixins = metadata_mixins = None
    if rng.random() < 0.3:
        mixins = {
            "loyalty": {
                "tier": rng.choice(_TIERS),
                "minSpend": rng.randrange(0, 5000, 50),
                "newsletter": rng.random() < 0.5,
            }
        }
        metadata_mixins = {"loyalty": "https://schemas.example.com/mixins/loyalty_v1.json"}
    status = "ACTIVE" if rng.random() < 0.5 else "INACTIVE"
    return (
        tenant,
        segment_id,
        _json(name),
        _json(description),
        status,
        _pick_site(rng),
        valid_from,
        valid_to,
        _json(mixins),
        _json(metadata_mixins),
        rng.randrange(1, 6),
        created,
        modified,
    )


def generate(rows: int, other_rows: int, seed: int = 20_240_514) -> list[tuple[Any, ...]]:
    """`rows` segments of TENANT and `other_rows` spread over OTHER_TENANTS, shuffled so that COPY inserts them in
    no particular key order (as years of API writes would have)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    records = [segment_record(rng, TENANT, now) for _ in range(rows)]
    records += [segment_record(rng, OTHER_TENANTS[i % len(OTHER_TENANTS)], now) for i in range(other_rows)]
    rng.shuffle(records)
    return records


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What the load did, for the report."""

    rows: int
    seconds: float
    analyze_seconds: float
    """VACUUM (ANALYZE) after the COPY."""
    tenant_rows: int
    matching_search: int
    sample_ids: list[str]
    table_bytes: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


async def load(dsn: str, *, rows: int, other_rows: int, sample: int = 10_000) -> LoadResult:
    """Generate and COPY the dataset into a migrated, empty database, then VACUUM (ANALYZE) it.

    Only the COPY itself is timed; it runs against the migrated table, so the rate includes maintaining the
    primary key and segments_site_status_idx, as a real import would. VACUUM rather than a bare ANALYZE: 105,000
    fresh rows otherwise draw autovacuum onto the table a minute later, in the middle of a measured scenario.
    """
    records = generate(rows, other_rows)
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table("segments", records=records, columns=COLUMNS)
        copy_seconds = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) segments")
        analyze_seconds = time.perf_counter() - started
        tenant_rows = int(await conn.fetchval("SELECT count(*) FROM segments WHERE tenant = $1", TENANT))
        matching = int(
            await conn.fetchval(
                "SELECT count(*) FROM segments WHERE tenant = $1 AND site_code = 'main' AND status = 'ACTIVE'", TENANT
            )
        )
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM segments WHERE tenant = $1 ORDER BY random() LIMIT $2", TENANT, sample
            )
        ]
        table_bytes = int(await conn.fetchval("SELECT pg_total_relation_size('segments')"))
    finally:
        await conn.close()
    return LoadResult(
        rows=len(records),
        seconds=copy_seconds,
        analyze_seconds=analyze_seconds,
        tenant_rows=tenant_rows,
        matching_search=matching,
        sample_ids=ids,
        table_bytes=table_bytes,
    )

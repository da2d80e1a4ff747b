"""The coupon dataset: a shop's coupons (a share of them segment-restricted), their redemption history, and the
segments and customers the restrictions are about; plus the requests the coupon scenarios send.

Loaded only when a coupon scenario runs, after every other dataset (so that nothing else assigns customers to its
segments), for the measured tenant:
- segments (1,000): the storefront dataset's mix of states (bench/storefront.py: 78 % ACTIVE on `main`, the rest
  INACTIVE, expired, not valid yet or on another site; a segment's site does not matter to a coupon);
- customers (20,000, 10 % B2B), with 2.7 memberships each on average: distinct (segment, customer) pairs, segments
  weighted log-normally; B2B memberships carry the customer's legal entity;
- coupons (10,000): 40 % segment-restricted (1 to 3 of these segments, drawn at random, so a few name only segments
  that are not active), 5 % valid for a few named customers, the rest open to every customer; PERCENT, ABSOLUTE and
  FREE_SHIPPING discounts; a third with a total limit, 60 % with a per-customer limit; most with a validity window
  (some expired, some not valid yet); half with a minimum order value; 2 % deleted; plus 10 % as many coupons of
  another tenant with the same codes, so that every lookup has to filter on tenant;
- redemptions (100,000) of these coupons (coupons weighted log-normally, customers uniform), within every limit,
  each coupon's `redemption_count` matching its rows.

The scenarios' customers are B2C members with a live session row (like the storefront's shoppers), so the bench mints
their tokens as the login would. Everything is seeded and COPYed into the migrated tables (every index and foreign
key in place), then VACUUMed (ANALYZE included).
"""

from __future__ import annotations

import random
import string
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from bench.assignments import CUSTOMER_ASSIGNMENT_COLUMNS, CUSTOMER_COLUMNS, generate_customers, generate_pairs
from bench.categories import CopyStat
from bench.dataset import COLUMNS as SEGMENT_COLUMNS
from bench.dataset import OTHER_TENANTS, TENANT
from bench.load import BenchError
from bench.storefront import SESSION_COLUMNS, generate_segments
from bench.storefront_probes import Shopper

COUPON_COLUMNS = (
    "tenant",
    "code",
    "name",
    "description",
    "discount_type",
    "discount_percentage",
    "discount_amount",
    "discount_currency",
    "allow_anonymous",
    "max_redemptions",
    "max_redemptions_per_customer",
    "discount_calculation_type",
    "category_restricted",
    "segment_restricted",
    "valid_for",
    "valid_from",
    "valid_until",
    "min_order_amount",
    "min_order_currency",
    "segment_ids",
    "issued_to",
    "referral",
    "deleted",
    "redemption_count",
    "mixins",
    "metadata_mixins",
    "version",
    "created_at",
    "modified_at",
)
REDEMPTION_COLUMNS = (
    "tenant",
    "id",
    "coupon_code",
    "order_code",
    "customer_number",
    "legal_entity_id",
    "order_total_amount",
    "order_total_currency",
    "discount_amount",
    "discount_currency",
    "redeemed_at",
)
CURRENCY = "EUR"
SEGMENT_RESTRICTED_SHARE = 0.40
VALID_FOR_SHARE = 0.05
B2B_SHARE = 0.10
MEMBERSHIPS_PER_CUSTOMER = 2.7
#: Requests of each scenario's pool: validations of segment-restricted coupons, redemptions of unlimited coupons.
VALIDATION_POOL = 500
REDEMPTION_POOL = 1_000
_PREFIXES = ("SUMMER", "WINTER", "VIP", "WELCOME", "LOYAL", "FLASH", "B2B", "NEWS", "APP", "BDAY")
_CODE_ALPHABET = string.ascii_uppercase + string.digits
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Volumes:
    """How many rows of each kind the measured tenant gets."""

    coupons: int
    segments: int
    customers: int
    redemptions: int


DEFAULT_VOLUMES = Volumes(coupons=10_000, segments=1_000, customers=20_000, redemptions=100_000)
QUICK_VOLUMES = Volumes(coupons=2_000, segments=300, customers=5_000, redemptions=20_000)


@dataclass(frozen=True, slots=True)
class CouponRequest:
    """One request of a scenario's pool: the coupon, the customer whose token sends it, and the body without an
    orderCode (the redemption scenario adds a distinct one per request)."""

    code: str
    shopper: Shopper
    order_total: float
    discount: float
    segment_restricted: bool

    def body(self, order_code: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "orderTotal": {"amount": self.order_total, "currency": CURRENCY},
            "discount": {"amount": self.discount, "currency": CURRENCY},
        }
        if order_code is not None:
            body = {"orderCode": order_code, **body}
        return body


@dataclass(frozen=True, slots=True)
class CouponLoadResult:
    """What the load did, and the requests the coupon scenarios send."""

    copies: list[CopyStat]
    generate_seconds: float
    vacuum_seconds: float
    kinds: dict[str, int]
    """Coupons of the measured tenant by restriction: segment, validFor, open."""
    limited: int
    """Coupons with a total limit (maxRedemptions)."""
    per_customer_limited: int
    memberships: int
    redemptions: int
    validations: list[CouponRequest]
    """Segment-restricted coupons, valid now, each by a B2C member of one of its active segments who has not
    redeemed it."""
    control: CouponRequest
    """A validation by a customer who is a member of none of the coupon's segments: it must fail with
    segment_not_eligible, or the restriction is not checked at all."""
    redeems: list[CouponRequest]
    """Coupons without limits, valid now, one request each: half segment-restricted (by a member), half open."""

    @property
    def load_seconds(self) -> float:
        return self.generate_seconds + sum(c.seconds for c in self.copies) + self.vacuum_seconds

    @property
    def shoppers(self) -> list[Shopper]:
        """Every customer whose token a scenario sends, once each."""
        found = {r.shopper.customer_id: r.shopper for r in [*self.validations, self.control, *self.redeems]}
        return list(found.values())


@dataclass(slots=True)
class _Coupon:
    """What the generator needs to know of a coupon to keep redemptions within its limits and to pick requests."""

    code: str
    segments: list[int]
    valid_for: list[str]
    max_redemptions: int
    per_customer: int
    live: bool
    """Not deleted, and valid from a day ago until at least a week from now."""
    discount_type: str
    discount_value: Decimal
    min_order: Decimal | None
    redemptions: int = 0


def _json(value: Any) -> str | None:
    return None if value is None else _encode(value).decode()


def _coupon(
    rng: random.Random, tenant: str, code: str, now: datetime, segment_ids: list[str], customer_ids: list[str]
) -> tuple[tuple[Any, ...], _Coupon]:
    """One `coupons` row (redemption_count 0, set after the redemptions are drawn) and its generator view."""
    roll = rng.random()
    segments = rng.sample(range(len(segment_ids)), rng.randint(1, 3)) if roll < SEGMENT_RESTRICTED_SHARE else []
    valid_for = (
        rng.sample(customer_ids, rng.randint(1, 5))
        if not segments and roll < SEGMENT_RESTRICTED_SHARE + VALID_FOR_SHARE
        else []
    )
    discount_type = rng.choices(("PERCENT", "ABSOLUTE", "FREE_SHIPPING"), weights=(0.5, 0.4, 0.1))[0]
    percentage = Decimal(rng.choice((5, 10, 15, 20, 25, 30))) if discount_type == "PERCENT" else None
    absolute = Decimal(rng.choice((5, 10, 15, 20, 25, 50))) if discount_type == "ABSOLUTE" else None
    per_customer = rng.choices((1, 3, -1), weights=(0.5, 0.1, 0.4))[0]
    allow_anonymous = not segments and not valid_for and per_customer == -1 and rng.random() < 0.25
    max_redemptions = rng.choice((100, 500, 1_000, 5_000)) if rng.random() < 0.3 else -1
    window = rng.random()
    valid_from = valid_until = None
    if window < 0.60:  # a running campaign
        valid_from = now - timedelta(days=rng.randrange(1, 90))
        valid_until = now + timedelta(days=rng.randrange(7, 180))
    elif window < 0.75:  # over
        valid_from = now - timedelta(days=rng.randrange(120, 400))
        valid_until = now - timedelta(days=rng.randrange(1, 100))
    elif window < 0.80:  # announced
        valid_from = now + timedelta(days=rng.randrange(3, 60))
        valid_until = valid_from + timedelta(days=rng.randrange(7, 90))
    min_order = Decimal(rng.randrange(20, 210, 10)) if rng.random() < 0.5 else None
    deleted = rng.random() < 0.02
    mixins = metadata_mixins = None
    if rng.random() < 0.2:
        mixins = {
            "campaign": {
                "channel": rng.choice(("newsletter", "app", "social", "print")),
                "budget": rng.randrange(500, 50_000, 500),
            }
        }
        metadata_mixins = {"campaign": "https://schemas.example.com/mixins/campaign_v1.json"}
    created = now - timedelta(days=rng.randrange(1, 400))
    prefix = code.split("-", 1)[0].title()
    name = (
        f"{prefix} {percentage}%"
        if percentage is not None
        else (f"{prefix} {absolute} {CURRENCY} off" if absolute is not None else f"{prefix} free shipping")
    )
    record = (
        tenant,
        code,
        name,
        f"{name} for {'segment members' if segments else 'customers'}" if rng.random() < 0.6 else None,
        discount_type,
        percentage,
        absolute,
        CURRENCY if absolute is not None else None,
        allow_anonymous,
        max_redemptions,
        per_customer,
        rng.choice(("SUBTOTAL", "TOTAL")),
        False,
        bool(segments),
        valid_for,
        valid_from,
        valid_until,
        min_order,
        CURRENCY if min_order is not None else None,
        [segment_ids[s] for s in segments] if segments else None,
        None,
        False,
        deleted,
        0,
        _json(mixins),
        _json(metadata_mixins),
        rng.randrange(1, 4),
        created,
        created + timedelta(days=rng.randrange(0, 30)),
    )
    live = (
        not deleted
        and (valid_from is None or valid_from < now - timedelta(days=1))
        and (valid_until is None or valid_until > now + timedelta(days=7))
    )
    view = _Coupon(
        code,
        segments,
        valid_for,
        max_redemptions,
        per_customer,
        live,
        discount_type,
        percentage if percentage is not None else absolute or Decimal("4.95"),
        min_order,
    )
    return record, view


def _codes(rng: random.Random, count: int) -> list[str]:
    codes: dict[str, None] = {}
    while len(codes) < count:
        codes[f"{rng.choice(_PREFIXES)}-{''.join(rng.choices(_CODE_ALPHABET, k=6))}"] = None
    return list(codes)


def _amounts(rng: random.Random, coupon: _Coupon) -> tuple[float, float]:
    """An order total that reaches the coupon's minimum, and the discount the shop computed for it."""
    total = Decimal(rng.randrange(2_000, 30_000)) / 100 + (coupon.min_order or 0)
    if coupon.discount_type == "PERCENT":
        discount = (total * coupon.discount_value / 100).quantize(Decimal("0.01"))
    else:
        discount = min(coupon.discount_value, total)
    return float(total), float(discount)


def _redemptions(
    rng: random.Random,
    coupons: list[_Coupon],
    customers: list[tuple[Any, ...]],
    legal: list[str],
    count: int,
    now: datetime,
) -> list[tuple[Any, ...]]:
    """`count` redemptions (fewer if limits stop them) within each coupon's limits; counts them on the coupons."""
    used: Counter[tuple[int, int]] = Counter()
    weights = [rng.lognormvariate(0.0, 1.0) for _ in coupons]
    records: list[tuple[Any, ...]] = []
    for n, index in enumerate(rng.choices(range(len(coupons)), weights=weights, k=count)):
        coupon, customer = coupons[index], rng.randrange(len(customers))
        if (coupon.max_redemptions != -1 and coupon.redemptions >= coupon.max_redemptions) or (
            coupon.per_customer != -1 and used[index, customer] >= coupon.per_customer
        ):
            continue
        used[index, customer] += 1
        coupon.redemptions += 1
        total, discount = _amounts(rng, coupon)
        records.append(
            (
                TENANT,
                f"{rng.getrandbits(96):024x}",
                coupon.code,
                f"ORD-{n:08d}",
                customers[customer][1],
                legal[customer],
                Decimal(str(total)),
                CURRENCY,
                Decimal(str(discount)),
                CURRENCY,
                now - timedelta(seconds=rng.randrange(60, 300 * 86_400)),
            )
        )
    return records


def _requests(
    rng: random.Random,
    coupons: list[_Coupon],
    states: list[str],
    members: dict[int, list[int]],
    b2c: list[int],
    customers: list[tuple[Any, ...]],
    segment_ids: list[str],
    redeemed: set[tuple[str, str]],
) -> tuple[list[CouponRequest], CouponRequest, list[CouponRequest]]:
    """The validation pool, the control validation and the redemption pool (see CouponLoadResult)."""
    active = {s for s, state in enumerate(states) if state in ("active", "other-site")}
    member_of: dict[int, list[int]] = defaultdict(list)
    for segment, customer_list in members.items():
        for customer in customer_list:
            member_of[customer].append(segment)
    shoppers: dict[int, Shopper] = {}

    def shopper(customer: int) -> Shopper:
        if customer not in shoppers:
            shoppers[customer] = Shopper(
                customer_id=customers[customer][1],
                session_id=str(uuid.UUID(int=rng.getrandbits(128))),
                segment_ids=tuple(segment_ids[s] for s in member_of[customer]),
            )
        return shoppers[customer]

    def eligible(coupon: _Coupon) -> list[int]:
        return [
            c
            for s in coupon.segments
            if s in active
            for c in members.get(s, ())
            if c in b2c_set and (coupon.code, customers[c][1]) not in redeemed
        ]

    def request(coupon: _Coupon, customer: int) -> CouponRequest:
        total, discount = _amounts(rng, coupon)
        return CouponRequest(coupon.code, shopper(customer), total, discount, bool(coupon.segments))

    b2c_set = set(b2c)
    available = [c for c in coupons if c.live and (c.max_redemptions == -1 or c.redemptions < c.max_redemptions)]
    restricted = [c for c in available if c.segments and eligible(c)]
    validations = [
        request(c, rng.choice(eligible(c))) for c in rng.sample(restricted, min(VALIDATION_POOL, len(restricted)))
    ]
    outsiders = (c for c in b2c if not set(member_of[c]) & set(restricted[0].segments)) if restricted else iter(())
    outsider = next(outsiders, None)
    unlimited = [c for c in available if c.max_redemptions == -1 and c.per_customer == -1 and not c.valid_for]
    open_coupons = [c for c in unlimited if not c.segments]
    member_coupons = [c for c in unlimited if c.segments and eligible(c)]
    half = min(REDEMPTION_POOL // 2, len(member_coupons))
    redeems = [request(c, rng.choice(eligible(c))) for c in rng.sample(member_coupons, half)]
    redeems += [
        request(c, rng.choice(b2c)) for c in rng.sample(open_coupons, min(REDEMPTION_POOL - half, len(open_coupons)))
    ]
    rng.shuffle(redeems)
    if len(validations) < 50 or len(redeems) < 50 or outsider is None:
        raise BenchError(
            f"the coupon dataset gave {len(validations)} validation and {len(redeems)} redemption "
            "requests (at least 50 each are needed); ask for more coupons, segments or customers"
        )
    return validations, request(restricted[0], outsider), redeems


async def _copy(
    conn: asyncpg.Connection, table: str, records: list[tuple[Any, ...]], columns: tuple[str, ...]
) -> CopyStat:
    started = time.perf_counter()
    await conn.copy_records_to_table(table, records=records, columns=columns)
    return CopyStat(table, len(records), time.perf_counter() - started)


async def load(dsn: str, volumes: Volumes, *, seed: int = 20_241_126) -> CouponLoadResult:
    """Generate and COPY the coupon dataset, then VACUUM (ANALYZE); build the scenarios' requests."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    segment_records, states = generate_segments(rng, volumes.segments, now)
    segment_ids = [r[1] for r in segment_records]
    customers, legal = generate_customers(
        rng, volumes.customers, now, email_prefix="couponshopper", b2b_share=B2B_SHARE
    )
    stamps = [now - timedelta(seconds=rng.randrange(0, 2 * 365 * 86_400)) for _ in range(4096)]
    members: dict[int, list[int]] = defaultdict(list)
    membership_records = []
    pairs = generate_pairs(rng, len(segment_ids), len(customers), int(len(customers) * MEMBERSHIPS_PER_CUSTOMER))
    for segment, customer in pairs:
        members[segment].append(customer)
        stamp = rng.choice(stamps)
        membership_records.append(
            (TENANT, segment_ids[segment], customers[customer][1], legal[customer], "MANUAL", 1, stamp, stamp)
        )
    customer_ids = [c[1] for c in customers]
    coupon_records: list[tuple[Any, ...]] = []
    views: list[_Coupon] = []
    for code in _codes(rng, volumes.coupons):
        record, view = _coupon(rng, TENANT, code, now, segment_ids, customer_ids)
        coupon_records.append(record)
        views.append(view)
    redemption_records = _redemptions(rng, views, customers, legal, volumes.redemptions, now)
    # redemption_count is column 23 of COUPON_COLUMNS; the other tenant's copies of some codes have no redemptions.
    coupon_records = [(*r[:23], v.redemptions, *r[24:]) for r, v in zip(coupon_records, views, strict=True)]
    coupon_records += [
        (OTHER_TENANTS[0], *r[1:23], 0, *r[24:]) for r in rng.sample(coupon_records, volumes.coupons // 10)
    ]
    b2c = [i for i, entity in enumerate(legal) if not entity]
    redeemed = {(r[2], r[4]) for r in redemption_records}
    validations, control, redeems = _requests(rng, views, states, members, b2c, customers, segment_ids, redeemed)
    shoppers = {r.shopper.customer_id: r.shopper for r in [*validations, control, *redeems]}
    expires = now + timedelta(days=2)
    session_records = [
        (TENANT, s.session_id, "customer", s.customer_id, f"{rng.getrandbits(128):032x}", expires, expires)
        for s in shoppers.values()
    ]
    for records in (coupon_records, redemption_records, membership_records):
        rng.shuffle(records)  # no key order, as years of API writes leave them
    generate_seconds = time.perf_counter() - started

    conn = await asyncpg.connect(dsn)
    try:
        copies = [
            await _copy(conn, "segments", segment_records, SEGMENT_COLUMNS),
            await _copy(conn, "customers", customers, CUSTOMER_COLUMNS),
            await _copy(conn, "segment_customer_assignments", membership_records, CUSTOMER_ASSIGNMENT_COLUMNS),
            await _copy(conn, "coupons", coupon_records, COUPON_COLUMNS),
            await _copy(conn, "coupon_redemptions", redemption_records, REDEMPTION_COLUMNS),
            await _copy(conn, "token_sessions", session_records, SESSION_COLUMNS),
        ]
        started = time.perf_counter()
        await conn.execute(
            "VACUUM (ANALYZE) segments, customers, segment_customer_assignments, coupons, "
            "coupon_redemptions, token_sessions"
        )
        vacuum_seconds = time.perf_counter() - started
    finally:
        await conn.close()
    kinds = Counter("segment" if v.segments else "validFor" if v.valid_for else "open" for v in views)
    return CouponLoadResult(
        copies=copies,
        generate_seconds=generate_seconds,
        vacuum_seconds=vacuum_seconds,
        kinds=dict(kinds),
        limited=sum(1 for v in views if v.max_redemptions != -1),
        per_customer_limited=sum(1 for v in views if v.per_customer != -1),
        memberships=len(membership_records),
        redemptions=len(redemption_records),
        validations=validations,
        control=control,
        redeems=redeems,
    )


def lines(result: CouponLoadResult) -> list[str]:
    """The coupon dataset and one line per COPY, for the report."""
    kinds = result.kinds
    coupons = sum(kinds.values())
    customers = next((c.rows for c in result.copies if c.table == "customers"), 0)
    out = [
        f"coupons: {coupons:,} coupons ({kinds.get('segment', 0):,} segment-restricted, "
        f"{kinds.get('validFor', 0):,} valid for named customers, {kinds.get('open', 0):,} open; "
        f"{result.limited:,} with maxRedemptions, {result.per_customer_limited:,} with "
        f"maxRedemptionsPerCustomer) and {result.redemptions:,} redemptions of them; {customers:,} customers "
        f"({B2B_SHARE:.0%} B2B) with {result.memberships:,} memberships; generated in "
        f"{result.generate_seconds:.1f} s"
    ]
    out += [
        f"COPY {s.table}: {s.rows:,} rows in {s.seconds:.2f} s = {s.rows_per_second:,.0f} rows/s" for s in result.copies
    ]
    out.append(
        f"(every index and foreign key in place) VACUUM (ANALYZE) {result.vacuum_seconds:.2f} s; the coupon "
        f"dataset took {result.load_seconds:.0f} s in all"
    )
    return out

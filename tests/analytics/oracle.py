"""A reference for every dashboard figure, computed straight from raw generations.

The dashboard computes its figures through rollup tables and hand-written SQL; this module
computes the same figures the slow, obvious way: a Python loop over the raw generations, local
time from `zoneinfo`, money as exact fractions. It imports nothing from `generations` (it must
share no code with the path it checks); the few product rules it needs (what a column means,
how a bucket is labelled) are restated here from the product's documentation, each with a comment.

Input: one plain dict per generation, the fields FastRouter reports (see `RAW_FIELDS`). Output:
the figures as the dashboard's CSV tables carry them, cell by cell, with exact values
(`Decimal` money, `int` counts) where the dashboard is exact, and `Binned` / `Rounded` markers
where it is approximate by design (histogram percentiles, floats rounded for display).
"""

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

# The raw fields of one generation (a subset of FastRouter's answer), all optional but the first two:
RAW_FIELDS = (
    "generation_id",  # str
    "query_time",  # aware datetime: when the call happened, the time every chart buckets by
    "model",  # str | None
    "provider_name",  # str | None
    "api_key",  # str | None (FastRouter sends a hash)
    "endpoint",  # str | None
    "is_byok",  # bool | None
    "usage_cost",  # Decimal | None: usage.cost, the call's cost in USD
    "credits_used",  # Decimal | None: the cost when usage.cost is missing
    "prompt_tokens",  # int | None
    "completion_tokens",  # int | None
    "duration_ms",  # int | None: timing.duration_ms, the latency
    "avg_response_time_minutes",  # Decimal | None: the latency when duration_ms is missing
)

# Copied from generations/filters.py (not imported): a finer bucket than this many points is coarsened.
MAX_BUCKETS = 2000
# The nominal bucket lengths that rule uses (a month counts as 28 days).
BUCKET_LENGTH = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=28),
}
BUCKETS = ("hour", "day", "week", "month")
# Copied from generations/analytics.py: a stacked time chart shows the costliest series, the rest as "Other".
MAX_SERIES = 8
OTHER = "Other"
NO_TEAM = "(no team)"
PERCENTILES = {"p50": Fraction(1, 2), "p95": Fraction(95, 100), "p99": Fraction(99, 100)}
# Copied from generations/histograms.py: latency and throughput are counted in log bins
# [1.08^k, 1.08^(k+1)) and a percentile is reported as its bin's geometric middle 1.08^(k+½).
BIN_RATIO = 1.08
# Re-derived: any v in [r^k, r^(k+1)) is within a factor r^½ of r^(k+½), so a reported percentile
# lies within that factor of the exact one (3.92 %).
BIN_BOUND = math.sqrt(BIN_RATIO)
PICO = Fraction(1, 10**12)  # money is kept to the pico-dollar (10⁻¹² USD), rounded half to even
# Every zone's offset and every 2025 transition of the zones the tests use fall on a quarter hour.
QUARTER_HOUR = timedelta(minutes=15)


# ---- approximate cells ---------------------------------------------------------------


@dataclass(frozen=True)
class Binned:
    """A percentile the dashboard reads from histogram bins: within `BIN_BOUND` of `exact`."""

    exact: Fraction


@dataclass(frozen=True)
class Rounded:
    """A float the dashboard rounds to `places` decimals for display."""

    exact: Fraction
    places: int


# ---- one generation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One generation as the dashboard counts it."""

    generation_id: str
    occurred_at: datetime  # UTC
    model: str
    provider: str
    key: str
    endpoint: str
    byok: bool | None
    cost: Fraction | None  # None: unknown cost, counted but never summed as $0
    credits: Fraction | None
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: Fraction | None
    throughput: Fraction | None  # output tokens per second of latency


def _money(amount: Decimal | None) -> Fraction | None:
    return None if amount is None else round(Fraction(amount) / PICO) * PICO


def call_of(raw: dict) -> Call:
    """What the dashboard makes of one raw generation (rules from the README and models.py)."""
    # The cost is usage.cost, else credits_used (FastRouter credits are USD); neither: unknown.
    cost = raw.get("usage_cost") if raw.get("usage_cost") is not None else raw.get("credits_used")
    # The latency is timing.duration_ms, else FastRouter's average response time in minutes.
    if raw.get("duration_ms") is not None:
        latency = Fraction(raw["duration_ms"])
    elif raw.get("avg_response_time_minutes") is not None:
        latency = Fraction(raw["avg_response_time_minutes"]) * 60_000
    else:
        latency = None
    output = raw.get("completion_tokens")
    # Throughput is derived: output tokens per second of latency, when both are known (and the latency is not 0).
    throughput = Fraction(output) * 1000 / latency if latency and output is not None else None
    return Call(
        generation_id=raw["generation_id"],
        occurred_at=raw["query_time"].astimezone(UTC),
        model=raw.get("model") or "",
        provider=raw.get("provider_name") or "",
        key=raw.get("api_key") or "",
        endpoint=raw.get("endpoint") or "",
        byok=raw.get("is_byok"),
        cost=_money(cost),
        credits=_money(raw.get("credits_used")),
        input_tokens=raw.get("prompt_tokens"),
        output_tokens=output,
        latency_ms=latency,
        throughput=throughput,
    )


# ---- the selection ----------------------------------------------------------------------


@dataclass(frozen=True)
class KeyLabel:
    name: str
    team: str = ""


@dataclass(frozen=True)
class Selection:
    """The dashboard's query string, as the tests send it: a custom range of local dates."""

    start_date: date
    end_date: date  # inclusive
    zone: str
    bucket: str = ""  # "" = automatic
    # The dimension filters by query parameter: model, provider, key, team, endpoint (str) and
    # byok (bool); one left out matches everything.
    filters: dict[str, str | bool] = field(default_factory=dict)
    split: str = "model"
    labels: dict[str, KeyLabel] = field(default_factory=dict)  # key hash → label (set by staff)

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def start(self) -> datetime:
        """The first local midnight, in UTC."""
        return datetime.combine(self.start_date, time.min, tzinfo=self.tzinfo).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The local midnight after the (inclusive) end date, in UTC."""
        return datetime.combine(self.end_date + timedelta(days=1), time.min, tzinfo=self.tzinfo).astimezone(UTC)

    @property
    def resolved_bucket(self) -> str:
        """The chosen bucket (else one that suits the range's length), coarsened past MAX_BUCKETS points."""
        length = self.end - self.start
        asked = self.bucket or (
            "hour"
            if length <= timedelta(days=2)
            else "day"
            if length <= timedelta(days=62)
            else "week"
            if length <= timedelta(days=400)
            else "month"
        )
        return next(b for b in BUCKETS[BUCKETS.index(asked) :] if length / BUCKET_LENGTH[b] <= MAX_BUCKETS)

    def matches(self, call: Call) -> bool:
        """The dimension filters (not the time range)."""
        wanted = self.filters
        if "team" in wanted:
            team_keys = {key for key, label in self.labels.items() if label.team == wanted["team"]}
            if call.key not in team_keys:
                return False
        actual = {"key": call.key, "model": call.model, "provider": call.provider, "endpoint": call.endpoint}
        return all(actual[name] == value for name, value in wanted.items() if name in actual) and (
            wanted.get("byok", call.byok) is call.byok
        )


def selected(calls: Iterable[Call], selection: Selection, start: datetime, end: datetime) -> list[Call]:
    return [call for call in calls if start <= call.occurred_at < end and selection.matches(call)]


def in_range(calls: Iterable[Call], selection: Selection) -> list[Call]:
    return selected(calls, selection, selection.start, selection.end)


def in_previous_period(calls: Iterable[Call], selection: Selection) -> list[Call]:
    """The period of the same elapsed length right before the range."""
    length = selection.end - selection.start
    return selected(calls, selection, selection.start - length, selection.start)


# ---- totals -----------------------------------------------------------------------------


def _pico_round(amount: Fraction) -> Fraction:
    return round(amount / PICO) * PICO


def decimal_of(amount: Fraction) -> Decimal:
    """An amount to the pico-dollar as an exact Decimal."""
    assert (amount / PICO).denominator == 1, amount
    return Decimal(int(amount / PICO)).scaleb(-12)


@dataclass(frozen=True)
class Totals:
    calls: tuple[Call, ...]

    @property
    def requests(self) -> int:
        return len(self.calls)

    @property
    def priced(self) -> list[Call]:
        return [call for call in self.calls if call.cost is not None]

    @property
    def unknown_cost_requests(self) -> int:
        return self.requests - len(self.priced)

    @property
    def cost_sum(self) -> Fraction:
        return sum((call.cost for call in self.priced), Fraction(0))

    @property
    def cost(self) -> Decimal | None:
        """Unknown (None) when there are requests but none of known cost, never a made-up $0."""
        return None if self.requests and not self.priced else decimal_of(self.cost_sum)

    @property
    def credits(self) -> Decimal:
        return decimal_of(sum((call.credits for call in self.calls if call.credits is not None), Fraction(0)))

    @property
    def input_tokens(self) -> int:
        return sum(call.input_tokens or 0 for call in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(call.output_tokens or 0 for call in self.calls)

    @property
    def average_cost(self) -> Decimal | None:
        """Over the requests of known cost, to the pico-dollar."""
        return decimal_of(_pico_round(self.cost_sum / len(self.priced))) if self.priced else None

    @property
    def cost_per_1k_tokens(self) -> Decimal | None:
        """Known cost per 1,000 tokens (input + output) of the requests of known cost, to the pico-dollar."""
        tokens = sum((call.input_tokens or 0) + (call.output_tokens or 0) for call in self.priced)
        return decimal_of(_pico_round(self.cost_sum * 1000 / tokens)) if tokens else None

    @property
    def byok_share(self) -> Fraction | None:
        return Fraction(sum(1 for call in self.calls if call.byok is True), self.requests) if self.requests else None

    def latency_percentile(self, fraction: Fraction) -> Fraction | None:
        return percentile([call.latency_ms for call in self.calls], fraction)


def totals(calls: Iterable[Call]) -> Totals:
    return Totals(tuple(calls))


def grouped(calls: Iterable[Call], key: Callable[[Call], object]) -> dict[object, Totals]:
    groups: dict[object, list[Call]] = defaultdict(list)
    for call in calls:
        groups[key(call)].append(call)
    return {name: totals(members) for name, members in groups.items()}


def by_cost(groups: dict[object, Totals]) -> list[tuple[object, Totals]]:
    """Costliest first (unknown costs count as nothing here), then most requests, then by name."""
    return sorted(groups.items(), key=lambda item: (-item[1].cost_sum, -item[1].requests, str(item[0])))


# ---- percentiles -------------------------------------------------------------------------


def measurable(value: Fraction | None) -> bool:
    """A histogram counts positive values only (a 0 ms latency or 0 tok/s is not measured)."""
    return value is not None and value > 0


def percentile(values: Iterable[Fraction | None], fraction: Fraction) -> Fraction | None:
    """Nearest rank: the smallest measured value with at least `fraction` of them at or below it."""
    measured = sorted(value for value in values if measurable(value))
    if not measured:
        return None
    rank = max(1, math.ceil(fraction * len(measured)))
    return measured[rank - 1]


# ---- local time buckets ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    start: datetime  # UTC: the first instant of the range in the bucket
    key: tuple
    label: str


def _bucket_key(moment: datetime, zone: ZoneInfo, bucket: str) -> tuple:
    """The local-calendar bucket of an instant. A local hour that happens twice (a fall-back
    night) is two buckets, told apart by the UTC offset."""
    local = moment.astimezone(zone)
    if bucket == "hour":
        return (local.replace(minute=0, second=0, microsecond=0, tzinfo=None), local.utcoffset())
    if bucket == "day":
        return (local.date(),)
    if bucket == "week":  # weeks start on Monday
        return (local.date() - timedelta(days=local.weekday()),)
    return (local.year, local.month)


def buckets(selection: Selection) -> list[Bucket]:
    """Every bucket the range touches, in order (empty ones included), clipped to the range.

    Found by walking the range in quarter hours: a bucket starts wherever the local calendar says
    a new one does, so DST changes of any size fall out of `zoneinfo`, not out of arithmetic."""
    zone, bucket = selection.tzinfo, selection.resolved_bucket
    starts: list[tuple[datetime, tuple]] = []
    moment = selection.start
    while moment < selection.end:
        key = _bucket_key(moment, zone, bucket)
        if not starts or starts[-1][1] != key:
            starts.append((moment, key))
        moment += QUARTER_HOUR
    hours_seen: dict[datetime, int] = defaultdict(int)
    for _, key in starts:
        hours_seen[key[0]] += 1
    result = []
    for start, key in starts:
        local = start.astimezone(zone)
        if bucket == "hour":
            # An hour that happens twice is told apart by its zone's abbreviation: "02:00 CEST", "02:00 CET".
            label = local.strftime("%a %d %b %H:00 %Z" if hours_seen[key[0]] > 1 else "%a %d %b %H:00")
        elif bucket == "day":
            label = local.strftime("%a %d %b %Y")
        elif bucket == "week":
            label = f"Week of {local:%d %b %Y}"  # the first day of the week inside the range
        else:
            label = local.strftime("%b %Y")
        result.append(Bucket(start, key, label))
    return result


# ---- the chart tables (one per CSV) ---------------------------------------------------------

COST_COLUMNS = ["Requests", "Cost", "Unknown-cost requests", "Avg cost / request", "Share of cost"]


def _cost_cells(group: Totals, grand: Totals) -> list[object]:
    share = Rounded(group.cost_sum / grand.cost_sum, 6) if grand.cost_sum else None
    return [group.requests, group.cost, group.unknown_cost_requests, group.average_cost, share]


def _cost_table(heading: str, groups: dict[object, Totals], label: Callable[[object], str]) -> list[list[object]]:
    grand = totals(call for group in groups.values() for call in group.calls)
    rows = [[label(name), *_cost_cells(group, grand)] for name, group in by_cost(groups)]
    return [[heading, *COST_COLUMNS], *rows]


def key_name(key: str, labels: dict[str, KeyLabel]) -> str:
    """A key as the dashboard names it: its label, else a shortened hash."""
    if key in labels:
        return labels[key].name
    if not key:
        return "unknown key"
    return key if len(key) <= 16 else f"{key[:14]}…{key[-4:]}"


def _team(key: str, labels: dict[str, KeyLabel]) -> str:
    return labels[key].team if key in labels and labels[key].team else NO_TEAM


def _percentile_table(heading: str, unit: str, calls: list[Call], dimension: str, measure: str) -> list[list[object]]:
    """Rows in the order of the cost breakdown by the same dimension; only names with a measurement."""
    groups = grouped(calls, lambda call: getattr(call, dimension))
    rows = []
    for name, group in by_cost(groups):
        values = [getattr(call, measure) for call in group.calls]
        measured = sum(1 for value in values if measurable(value))
        if measured:
            rows.append([name, measured, *(Binned(percentile(values, p)) for p in PERCENTILES.values())])
    return [[heading, "Requests measured", *(f"{p} ({unit})" for p in PERCENTILES)], *rows]


def _time_tables(calls: list[Call], selection: Selection) -> dict[str, list[list[object]]]:
    zone, bucket = selection.tzinfo, selection.resolved_bucket
    all_buckets = buckets(selection)
    heading = f"{bucket.title()} ({selection.zone})"
    in_bucket: dict[tuple, list[Call]] = defaultdict(list)
    for call in calls:
        in_bucket[_bucket_key(call.occurred_at, zone, bucket)].append(call)
    assert set(in_bucket) <= {b.key for b in all_buckets}, "a generation in range fell outside every bucket"

    split = selection.split  # "model" or "provider"
    top = [name for name, _ in by_cost(grouped(calls, lambda call: getattr(call, split)))]
    shown = top[:MAX_SERIES] + ([OTHER] if len(top) > MAX_SERIES else [])

    def series_name(call: Call) -> str:
        name = getattr(call, split)
        return name if name in top[:MAX_SERIES] else OTHER

    cost_rows, request_rows = [], []
    for b in all_buckets:
        bucket_totals = totals(in_bucket[b.key])
        per_series = grouped(bucket_totals.calls, series_name)
        # A series cell is empty when the series has no generation in the bucket.
        cells = [per_series[name].cost if name in per_series else None for name in shown]
        cost_rows.append([b.label, bucket_totals.cost, *cells])
        request_rows.append(
            [b.label, bucket_totals.requests, bucket_totals.unknown_cost_requests, bucket_totals.output_tokens]
        )
    return {
        "cost-over-time": [[heading, "Total cost", *(f"{split.title()}: {name}" for name in shown)], *cost_rows],
        "requests-over-time": [[heading, "Requests", "Unknown-cost requests", "Output tokens"], *request_rows],
    }


def chart_tables(raws: Iterable[dict], selection: Selection) -> dict[str, list[list[object]]]:
    """Every chart's CSV table (header row first), by slug, for the generations `raws`."""
    calls = in_range([call_of(raw) for raw in raws], selection)
    labels = selection.labels
    by_model = grouped(calls, lambda call: call.model)
    tokens = sorted(
        ([name or "unknown", t.requests, t.input_tokens, t.output_tokens] for name, t in by_model.items()),
        key=lambda row: (-(row[2] + row[3]), row[0]),
    )
    byok_name = {True: "BYOK", False: "Platform key", None: "Unknown"}
    return {
        **_time_tables(calls, selection),
        "cost-by-model": _cost_table("Model", by_model, lambda name: name or "unknown"),
        "cost-by-provider": _cost_table(
            "Provider", grouped(calls, lambda call: call.provider), lambda name: name or "unknown"
        ),
        "cost-by-key": _cost_table("API key", grouped(calls, lambda call: call.key), lambda k: key_name(k, labels)),
        "cost-by-team": _cost_table("Team", grouped(calls, lambda call: _team(call.key, labels)), str),
        "latency-by-model": _percentile_table("Model", "ms", calls, "model", "latency_ms"),
        "latency-by-provider": _percentile_table("Provider", "ms", calls, "provider", "latency_ms"),
        "throughput-by-model": _percentile_table("Model", "tok/s", calls, "model", "throughput"),
        "throughput-by-provider": _percentile_table("Provider", "tok/s", calls, "provider", "throughput"),
        # Ties in token count have no specified order: callers compare them as a set.
        "tokens-by-model": [["Model", "Requests", "Input tokens", "Output tokens"], *tokens],
        "byok-cost": _cost_table("Key type", grouped(calls, lambda call: byok_name[call.byok]), str),
    }


# ---- the headline and the generation export -------------------------------------------------------


def headline(raws: Iterable[dict], selection: Selection) -> tuple[Totals, Totals]:
    """The range's totals and the previous period's (the page compares the two)."""
    calls = [call_of(raw) for raw in raws]
    return totals(in_range(calls, selection)), totals(in_previous_period(calls, selection))


# The list's sorts (query value → what it orders by); missing values sort last either way.
EXPORT_SORTS = {
    "occurred_at": lambda call: call.occurred_at,
    "cost": lambda call: call.cost,
    "latency": lambda call: call.latency_ms,
    "input_tokens": lambda call: call.input_tokens,
    "output_tokens": lambda call: call.output_tokens,
}


def export_rows(raws: Iterable[dict], selection: Selection, *, prefix: str = "", sort: str = "-occurred_at") -> list:
    """(sort value, CSV row by column name) of every generation in the list, in list order. Rows
    with equal sort values have no specified order among themselves."""
    calls = [
        call for call in in_range([call_of(raw) for raw in raws], selection) if call.generation_id.startswith(prefix)
    ]
    value_of = EXPORT_SORTS[sort.lstrip("-")]
    known = sorted((c for c in calls if value_of(c) is not None), key=value_of, reverse=sort.startswith("-"))
    ordered = known + [c for c in calls if value_of(c) is None]
    zone, labels = selection.tzinfo, selection.labels
    return [
        (
            value_of(call),
            {
                "generation_id": call.generation_id,
                "occurred_at_utc": call.occurred_at.isoformat(),
                "occurred_at_local": call.occurred_at.astimezone(zone).isoformat(),
                "model": call.model,
                "provider": call.provider,
                "api_key_hash": call.key,
                "api_key_name": labels[call.key].name if call.key in labels else "",
                "team": labels[call.key].team if call.key in labels else "",
                "endpoint": call.endpoint,
                "byok": {True: "yes", False: "no", None: ""}[call.byok],
                "cost_usd": None if call.cost is None else decimal_of(call.cost),
                "credits_used": None if call.credits is None else decimal_of(call.credits),
                "input_tokens": call.input_tokens,
                "output_tokens": call.output_tokens,
                "latency_ms": None if call.latency_ms is None else Rounded(call.latency_ms, 3),
                "output_tokens_per_second": None if call.throughput is None else Rounded(call.throughput, 3),
            },
        )
        for call in ordered
    ]

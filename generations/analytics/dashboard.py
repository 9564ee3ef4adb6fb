"""Every total on every page: one selector layer, so two pages can never disagree.

Everything is built from three core queries over a *source* (`_Source`: a UTC range and
dimension filters), each answered from the rollup tables (generations/analytics/rollups.py) whenever the
filters allow and from raw rows otherwise (an id-prefix search; `raw=True`), with identical
results:

* `_totals(source, group_by)`: summed measures per group;
* `_series(source, bucket, zone, split_by)`: the same per local time bucket;
* `_bin_counts(source, group_by, kinds)`: histogram counts per kind, for percentiles.

Money is summed as integer pico-units in the database and converted to `Decimal` only for
display; rows of unknown cost are counted, never summed as $0. Every breakdown on the
dashboard is derived in Python from one grouped `_totals` query, so each chart adds up to
the headline exactly. The list's "matching totals" use the same `_totals`, so the list and the
dashboard never disagree.
"""

import calendar
import hashlib
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Count, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse

from generations.analytics.filters import DEFAULT_SORT, NULLABLE_SORTS, SORTS, DashboardFilters, ListCursor
from generations.analytics.histograms import percentile, percentiles
from generations.analytics.models import DailyKeyRollup
from generations.analytics.rollups import MEASURES as ROLLUP_MEASURES
from generations.analytics.rollups import (
    bucket_edges,
    rollup_bin_counts_by_kind,
    rollup_series_measures,
    rollup_totals,
    rollups_cover,
)
from generations.models import Generation, KeyLabel
from generations.money import format_usd, from_pico

PICO = Decimal(1).scaleb(-12)

# Breakdown keys of the time series most dashboard figures are derived from; the per-key (and
# per-team) breakdown is a second, exact query by key alone: without the key the rollups answer
# from the small keyless tables, with it only from the key tables.
DIMENSIONS = ["model", "provider", "is_byok"]
# A stacked time chart with more series than this is unreadable; the rest become "Other".
MAX_SERIES = 8
OTHER = "Other"
NO_TEAM = "(no team)"
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
PERCENTILE_COLOURS = {"p50": "hsl(210 70% 50%)", "p95": "hsl(35 85% 50%)", "p99": "hsl(350 70% 52%)"}
TOKEN_COLOURS = {"Input tokens": "hsl(200 65% 48%)", "Output tokens": "hsl(150 55% 42%)"}
KEY_TYPE_COLOURS = {"BYOK": "hsl(265 70% 60%)", "Platform key": "hsl(210 70% 50%)", "Unknown": "hsl(0 0% 60%)"}


MEASURE_PREFIX = "m_"  # keeps aggregate names apart from the column names they sum


def _measures() -> dict:
    """Totals field → aggregate over the source; the only place measures are defined."""
    measures = {
        "requests": Count("id"),
        "priced_requests": Count("cost_pico"),
        "cost_pico": Sum("cost_pico"),
        "credits_pico": Sum("credits_used_pico"),
        "input_tokens": Sum("input_tokens"),
        "output_tokens": Sum("output_tokens"),
        "priced_tokens": Sum(
            Coalesce("input_tokens", Value(0)) + Coalesce("output_tokens", Value(0)),
            filter=Q(cost_pico__isnull=False),
        ),
        "byok_requests": Count("id", filter=Q(is_byok=True)),
    }
    return {MEASURE_PREFIX + name: expression for name, expression in measures.items()}


def _exact(amount: Decimal) -> Decimal:
    """A quotient to the pico-unit, the precision money is stored with."""
    return amount.quantize(PICO).normalize()


# Totals, cells and rows are made by the thousand per page and never changed after: plain (not
# frozen) dataclasses, whose constructors cost a fifth of a frozen one's.
@dataclass
class Totals:
    requests: int = 0
    priced_requests: int = 0
    cost_pico: int = 0
    credits_pico: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    priced_tokens: int = 0
    byok_requests: int = 0

    @classmethod
    def from_row(cls, row: dict) -> "Totals":
        # PostgreSQL sums bigints as numeric (Decimal); SQLite as int. An empty sum is NULL.
        return cls(**{f.name: int(row.get(MEASURE_PREFIX + f.name) or 0) for f in fields(cls)})

    @property
    def unknown_cost_requests(self) -> int:
        return self.requests - self.priced_requests

    @cached_property  # Decimal arithmetic, read by several cells and charts
    def cost(self) -> Decimal | None:
        """None when the group has requests but none of known cost (so never a made-up $0)."""
        return None if self.requests and not self.priced_requests else from_pico(self.cost_pico)

    @cached_property
    def credits(self) -> Decimal:
        return from_pico(self.credits_pico)

    @cached_property
    def average_cost(self) -> Decimal | None:
        return _exact(from_pico(self.cost_pico) / self.priced_requests) if self.priced_requests else None

    @cached_property
    def cost_per_1k_tokens(self) -> Decimal | None:
        return _exact(from_pico(self.cost_pico) * 1000 / self.priced_tokens) if self.priced_tokens else None

    @property
    def byok_share(self) -> float | None:
        return self.byok_requests / self.requests if self.requests else None


TOTALS_FIELDS = tuple(f.name for f in fields(Totals))
_totals_values = operator.attrgetter(*TOTALS_FIELDS)


def _sum(totals: Iterable[Totals]) -> Totals:
    # Field by field in C (one transposition, eight sums), not one new Totals per addition.
    values = [_totals_values(item) for item in totals]
    return Totals(*map(sum, zip(*values, strict=True))) if values else Totals()


# A Totals' fields in order, not yet made into one: a page of hourly buckets reads thousands of
# rows, and summing tuples before making each group's Totals once halves its Python time.
Sums = tuple[int, ...]


def _summed(pairs: Iterable[tuple[object, Sums]]) -> dict[object, Totals]:
    """{key: the Totals of its sums} for (key, sums) pairs."""
    parts: dict[object, list[Sums]] = defaultdict(list)
    for key, sums in pairs:
        parts[key].append(sums)
    # Most keys of a grouped read come once: no sum to make.
    return {
        key: Totals(*items[0]) if len(items) == 1 else Totals(*map(sum, zip(*items, strict=True)))
        for key, items in parts.items()
    }


# ---- the core queries ---------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """The generations a figure aggregates: a UTC range and dimension filters.

    Answered from the rollup tables (generations/analytics/rollups.py) whenever they can, from raw rows
    otherwise (an id-prefix search, or `raw=True` for a cross-check); both give identical totals.
    """

    start: datetime
    end: datetime
    # {dimension: value or list of values}: a team filter is the list of its keys' hashes.
    dimensions: dict[str, object]
    prefix: str = ""
    raw: bool = False

    @property
    def from_rollups(self) -> bool:
        return not self.raw and not self.prefix and rollups_cover(self.dimensions)

    def rows(self) -> QuerySet:
        rows = Generation.objects.filter(occurred_at__gte=self.start, occurred_at__lt=self.end)
        for name, value in self.dimensions.items():
            rows = rows.filter(**{f"{name}__in" if isinstance(value, list) else name: value})
        return rows.filter(generation_id__startswith=self.prefix) if self.prefix else rows

    def shifted(self, start: datetime, end: datetime) -> "_Source":
        return replace(self, start=start, end=end)


def _source(filters: DashboardFilters, *, raw: bool = False, prefix: str = "") -> _Source:
    dimensions: dict[str, object] = {
        name: value
        for name, value in (("model", filters.model), ("provider", filters.provider), ("endpoint", filters.endpoint))
        if value
    }
    if filters.byok is not None:
        dimensions["is_byok"] = filters.byok
    if filters.team:
        team_keys = set(KeyLabel.objects.filter(team=filters.team).values_list("api_key_hash", flat=True))
        dimensions["api_key_hash"] = sorted(team_keys & {filters.key} if filters.key else team_keys)
    elif filters.key:
        dimensions["api_key_hash"] = filters.key
    return _Source(filters.start, filters.end, dimensions, prefix=prefix, raw=raw)


def _sums(measures: list[int], is_byok: bool | None) -> Sums:
    """A Totals' fields from rollup sums in `rollups.MEASURES` order, for rows of one BYOK flag."""
    requests, cost_pico, cost_unknown, credits_pico, _, input_tokens, output_tokens, priced_tokens = measures
    return (
        requests,
        requests - cost_unknown,
        cost_pico,
        credits_pico,
        input_tokens,
        output_tokens,
        priced_tokens,
        requests if is_byok is True else 0,
    )


def _with_byok(group_by: list[str]) -> list[str]:
    # Rollups count BYOK requests by grouping on the flag (it is a rollup dimension).
    return group_by if "is_byok" in group_by else [*group_by, "is_byok"]


def _totals(source: _Source, group_by: list[str]) -> dict[tuple, Totals]:
    if source.from_rollups:
        rows = rollup_totals(source.start, source.end, source.dimensions, _with_byok(group_by))
        grouped = _summed(
            (tuple(row[name] for name in group_by), _sums([row[name] for name in ROLLUP_MEASURES], row["is_byok"]))
            for row in rows
        )
        return grouped if group_by or grouped else {(): Totals()}
    rows = source.rows()
    if not group_by:
        return {(): Totals.from_row(rows.aggregate(**_measures()))}
    rows = rows.values(*group_by).annotate(**_measures()).order_by()
    return {tuple(row[name] for name in group_by): Totals.from_row(row) for row in rows}


def _series(source: _Source, bucket: str, zone: str, split_by: list[str]) -> dict[tuple, Sums]:
    """Sums per (bucket start in UTC, *split values): a UTC instant, so the two 02:00 hours of a
    fall-back day stay two buckets. Charts sum them further (`_rollup`) before making Totals."""
    split = _with_byok(split_by)
    edges, measures = rollup_series_measures(
        source.start, source.end, ZoneInfo(zone), bucket, source.dimensions, split, raw=source.raw
    )
    byok = 1 + split.index("is_byok")
    series: dict[tuple, Sums] = {}
    for key, values in measures.items():
        group, sums = (edges[key[0]], *key[1 : 1 + len(split_by)]), _sums(values, key[byok])
        previous = series.get(group)  # a second BYOK flag, when BYOK is not a split of its own
        series[group] = sums if previous is None else tuple(map(operator.add, previous, sums))
    return series


def _bin_counts(source: _Source, group_by: list[str], kinds: tuple[str, ...]) -> dict[str, dict[tuple, dict[int, int]]]:
    """{kind: {group: {bin: count}}} for "latency" and/or "throughput" (the dashboard's: never an
    id-prefix search, so the rollup read API answers both ways, from raw rows with `raw`)."""
    return rollup_bin_counts_by_kind(source.start, source.end, source.dimensions, group_by, kinds, raw=source.raw)


# ---- local time buckets -------------------------------------------------------------


def bucket_starts(filters: DashboardFilters) -> list[datetime]:
    """Every bucket the range touches, as UTC starts, so empty buckets show as zeros."""
    return bucket_edges(filters.start, filters.end, filters.tzinfo, filters.bucket)[:-1]


def _bucket_dates(start: datetime, bucket: str) -> tuple[date, date]:
    """The local dates a bucket (its local start) covers (inclusive), for drill-down links."""
    day = start.date()
    if bucket == "week":
        return day, day + timedelta(days=6)
    if bucket == "month":
        return day, day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return day, day


def _bucket_label(start: datetime, bucket: str) -> str:
    """`start` is local; an hour that happens twice (a fall-back day) is told apart by its zone's
    abbreviation: "02:00 CEST", then "02:00 CET"."""
    if bucket == "hour":
        repeated = start.replace(fold=1 - start.fold).utcoffset() != start.utcoffset()
        return start.strftime("%a %d %b %H:00 %Z" if repeated else "%a %d %b %H:00")
    if bucket == "day":
        return start.strftime("%a %d %b %Y")
    if bucket == "week":
        return f"Week of {start:%d %b %Y}"
    return start.strftime("%b %Y")


# ---- presentation helpers -----------------------------------------------------------


def colour(name: str) -> str:
    """A colour derived from the name, so a model or provider looks the same in every chart."""
    if name == OTHER:
        return "hsl(0 0% 62%)"
    digest = hashlib.sha256(name.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    saturation = 55 + digest[2] % 30
    lightness = 38 + digest[3] % 24
    return f"hsl({hue} {saturation}% {lightness}%)"


def _money_number(amount: Decimal | None) -> float:
    # Chart.js draws floats; every table and CSV shows the exact Decimal.
    return float(amount) if amount is not None else 0.0


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:,.1f} s"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} tok/s"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@dataclass(slots=True)
class Cell:
    text: str
    value: object = None
    numeric: bool = True


@dataclass(slots=True)
class Row:
    label: str
    cells: list[Cell]
    link: str = ""
    title: str = ""


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    columns: list[str]
    rows: list[Row]
    data: dict
    description: str = ""
    total_cost: Decimal | None = None
    total_requests: int | None = None

    @property
    def json_id(self) -> str:
        return f"chart-data-{self.slug}"


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    previous: str
    change: float | None = None
    hint: str = ""

    @property
    def change_text(self) -> str:
        return "" if self.change is None else f"{abs(self.change):.1%}"

    @property
    def direction(self) -> str:
        if self.change is None or abs(self.change) < 0.0005:
            return ""
        return "up" if self.change > 0 else "down"


@dataclass(frozen=True)
class KeyChoice:
    value: str
    label: str


@dataclass(frozen=True)
class FilterChoices:
    models: list[str]
    providers: list[str]
    endpoints: list[str]
    keys: list[KeyChoice]
    teams: list[str]


@dataclass(frozen=True)
class Dashboard:
    filters: DashboardFilters
    totals: Totals
    previous_totals: Totals
    figures: list[Figure]
    charts: list[Chart]
    choices: FilterChoices
    bucket_count: int = 0
    charts_by_slug: dict[str, Chart] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return self.totals.requests == 0

    @property
    def split_queries(self) -> dict[str, str]:
        return {"model": self.filters.querystring(split=""), "provider": self.filters.querystring(split="provider")}


def _change(current: float | Decimal | None, previous: float | Decimal | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return float((Decimal(str(current)) - Decimal(str(previous))) / Decimal(str(previous)))


def _figure(label: str, current: object, previous: object, show: Callable[[object], str], hint: str = "") -> Figure:
    return Figure(
        label=label,
        value=show(current),
        previous=show(previous),
        change=_change(current, previous),  # type: ignore[arg-type]
        hint=hint,
    )


def _usd(amount: Decimal | None) -> str:
    return "unknown" if amount is None else format_usd(amount)


def _figures(totals: Totals, previous: Totals, latency: dict[int, int], previous_latency: dict[int, int]) -> list:
    figures = _compare(totals, previous, latency, previous_latency)
    if previous.requests:
        return figures
    # Nothing to compare with: say so once instead of ten "unknown"s.
    return [replace(figure, previous="no data", change=None) for figure in figures]


def _compare(totals: Totals, previous: Totals, latency: dict[int, int], previous_latency: dict[int, int]) -> list:
    unknown = totals.unknown_cost_requests
    cost_hint = f"{unknown:,} generations of unknown cost not included" if unknown else ""
    return [
        _figure("Total cost", totals.cost, previous.cost, _usd, cost_hint),
        _figure("Credits used", totals.credits, previous.credits, lambda v: f"{v:,.6f}".rstrip("0").rstrip(".")),
        _figure("Requests", totals.requests, previous.requests, _count),
        _figure("Input tokens", totals.input_tokens, previous.input_tokens, _count),
        _figure("Output tokens", totals.output_tokens, previous.output_tokens, _count),
        _figure("Avg cost / request", totals.average_cost, previous.average_cost, _usd, "requests of known cost"),
        _figure("Cost / 1K tokens", totals.cost_per_1k_tokens, previous.cost_per_1k_tokens, _usd, "input + output"),
        _figure("p50 latency", percentile(latency, 0.5), percentile(previous_latency, 0.5), _ms),
        _figure("p95 latency", percentile(latency, 0.95), percentile(previous_latency, 0.95), _ms),
        _figure("BYOK share", totals.byok_share, previous.byok_share, _share, "of requests"),
    ]


# ---- charts ---------------------------------------------------------------------------


class _Links:
    """Drill-down URLs: the generation list with the page's filters plus one more."""

    def __init__(self, filters: DashboardFilters) -> None:
        self.filters = filters
        self.base = reverse("generation-list")
        self._made: dict[tuple, str] = {}  # a model's link appears in four charts

    def __call__(self, **overrides: object) -> str:
        key = tuple(sorted(overrides.items()))
        if key not in self._made:
            self._made[key] = f"{self.base}?{self.filters.querystring(**overrides)}"
        return self._made[key]


def _rollup(groups: dict[tuple, Totals] | dict[tuple, Sums], key: Callable[[tuple], object]) -> dict[object, Totals]:
    """The groups summed per `key(group)`."""
    return _summed((key(group), _as_sums(totals)) for group, totals in groups.items())


def _as_sums(totals: Totals | Sums) -> Sums:
    return totals if isinstance(totals, tuple) else _totals_values(totals)


def _merge_bins(groups: dict[tuple, dict[int, int]], key: Callable[[tuple], object]) -> dict[object, dict[int, int]]:
    merged: dict[object, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for group, counts in groups.items():
        into = merged[key(group)]
        for index, count in counts.items():
            into[index] += count
    return merged


def _by_cost(groups: dict[object, Totals]) -> list[tuple[object, Totals]]:
    return sorted(groups.items(), key=lambda item: (-item[1].cost_pico, -item[1].requests, str(item[0])))


def _cost_cells(totals: Totals, grand: Totals) -> list[Cell]:
    share = totals.cost_pico / grand.cost_pico if grand.cost_pico else None
    return [
        Cell(_count(totals.requests), totals.requests),
        Cell(_usd(totals.cost), totals.cost),
        Cell(_count(totals.unknown_cost_requests), totals.unknown_cost_requests),
        Cell(_usd(totals.average_cost), totals.average_cost),
        Cell(_share(share), round(share, 6) if share is not None else None),
    ]


COST_COLUMNS = ["Requests", "Cost", "Unknown-cost requests", "Avg cost / request", "Share of cost"]


def _cost_breakdown(
    slug: str,
    title: str,
    heading: str,
    groups: dict[object, Totals],
    *,
    label: Callable[[object], str],
    link: Callable[[object], str],
    kind: str = "bar",
    colours: Callable[[object], str] | None = None,
) -> Chart:
    ordered = _by_cost(groups)
    grand = _sum(groups.values())
    names = [label(key) for key, _ in ordered]
    links = [link(key) for key, _ in ordered]
    colour_of = colours or (lambda key: colour(label(key)))
    return Chart(
        slug=slug,
        title=title,
        columns=[heading, *COST_COLUMNS],
        rows=[
            Row(label=name, link=url, cells=_cost_cells(totals, grand))
            for name, url, (_, totals) in zip(names, links, ordered, strict=True)
        ],
        data={
            "type": kind,
            "money": True,
            "horizontal": kind == "bar",
            "labels": names,
            "links": links,
            "datasets": [
                {
                    "label": "Cost (USD)",
                    "data": [_money_number(totals.cost) for _, totals in ordered],
                    "backgroundColor": [colour_of(key) for key, _ in ordered],
                }
            ],
        },
        total_cost=grand.cost,
        total_requests=grand.requests,
    )


def _percentile_chart(
    slug: str,
    title: str,
    heading: str,
    bins: dict[object, dict[int, int]],
    *,
    names: list[str],
    link: Callable[[str], str],
    show: Callable[[float | None], str],
    unit: str,
    description: str,
) -> Chart:
    keys = [name for name in names if bins.get(name)]
    values = {name: dict(zip(PERCENTILES, percentiles(bins[name], PERCENTILES.values()), strict=True)) for name in keys}
    return Chart(
        slug=slug,
        title=title,
        description=description,
        columns=[heading, "Requests measured", *(f"{p} ({unit})" for p in PERCENTILES)],
        rows=[
            Row(
                label=name,
                link=link(name),
                cells=[
                    Cell(_count(sum(bins[name].values())), sum(bins[name].values())),
                    *(Cell(show(values[name][p]), round(values[name][p], 3)) for p in PERCENTILES),
                ],
            )
            for name in keys
        ],
        data={
            "type": "bar",
            "unit": unit,
            "rotate_labels": True,
            "labels": keys,
            "links": [link(name) for name in keys],
            "datasets": [
                {
                    "label": p,
                    "data": [round(values[name][p], 3) for name in keys],
                    "backgroundColor": PERCENTILE_COLOURS[p],
                }
                for p in PERCENTILES
            ],
        },
    )


def _time_charts(
    filters: DashboardFilters, series: dict[tuple, Sums], groups: dict[tuple, Totals], links: _Links
) -> tuple[list[Chart], int]:
    """`series` per (bucket, model, provider, BYOK); `groups` the same summed over the range."""
    starts = bucket_starts(filters)
    split_index = 0 if filters.split == "model" else 1
    per_split = _rollup(groups, lambda group: group[split_index])
    top = [name for name, _ in _by_cost(per_split)[:MAX_SERIES]]
    shown = top + ([OTHER] if len(per_split) > len(top) else [])
    in_top = set(top)
    stacked = _rollup(
        series, lambda group: (group[0], group[1 + split_index] if group[1 + split_index] in in_top else OTHER)
    )
    per_bucket = _rollup(stacked, lambda group: group[0])
    bucket_links = []
    for start in starts:
        first, last = _bucket_dates(start.astimezone(filters.tzinfo), filters.bucket)
        bucket_links.append(links(range="custom", start=first.isoformat(), end=last.isoformat()))
    labels = [_bucket_label(start.astimezone(filters.tzinfo), filters.bucket) for start in starts]
    empty = Totals()
    totals = [per_bucket.get(start, empty) for start in starts]
    grand = _sum(totals)
    split_label = filters.split.title()

    cost_chart = Chart(
        slug="cost-over-time",
        title=f"Cost over time by {filters.split}",
        description=f"Stacked by {filters.split}; the {MAX_SERIES} costliest are shown, the rest as “{OTHER}”.",
        columns=[f"{filters.bucket.title()} ({filters.zone})", "Total cost", *(f"{split_label}: {n}" for n in shown)],
        rows=[
            Row(
                label=label,
                link=url,
                cells=[
                    Cell(_usd(bucket.cost if bucket.requests else Decimal(0)), bucket.cost),
                    *(
                        Cell(
                            _usd(stacked[(start, n)].cost) if (start, n) in stacked else "—",
                            _cost_of(stacked, start, n),
                        )
                        for n in shown
                    ),
                ],
            )
            for label, url, start, bucket in zip(labels, bucket_links, starts, totals, strict=True)
        ],
        data={
            "type": "bar",
            "money": True,
            "stacked": True,
            "labels": labels,
            "links": bucket_links,
            "datasets": [
                {
                    "label": name,
                    "data": [_money_number(_cost_of(stacked, start, name)) for start in starts],
                    "backgroundColor": colour(name),
                }
                for name in shown
            ],
        },
        total_cost=grand.cost,
        total_requests=grand.requests,
    )
    requests_chart = Chart(
        slug="requests-over-time",
        title="Requests over time",
        columns=[f"{filters.bucket.title()} ({filters.zone})", "Requests", "Unknown-cost requests", "Output tokens"],
        rows=[
            Row(
                label=label,
                link=url,
                cells=[
                    Cell(_count(bucket.requests), bucket.requests),
                    Cell(_count(bucket.unknown_cost_requests), bucket.unknown_cost_requests),
                    Cell(_count(bucket.output_tokens), bucket.output_tokens),
                ],
            )
            for label, url, bucket in zip(labels, bucket_links, totals, strict=True)
        ],
        data={
            "type": "line",
            "labels": labels,
            "links": bucket_links,
            "datasets": [
                {
                    "label": "Requests",
                    "data": [bucket.requests for bucket in totals],
                    "backgroundColor": "hsl(210 70% 50%)",
                }
            ],
        },
        total_cost=grand.cost,
        total_requests=grand.requests,
    )
    return [cost_chart, requests_chart], len(starts)


def _cost_of(stacked: dict[tuple, Totals], start: datetime, name: str) -> Decimal | None:
    totals = stacked.get((start, name))
    return totals.cost if totals else None


def _tokens_chart(by_model: dict[object, Totals], links: _Links) -> Chart:
    ordered = sorted(by_model.items(), key=lambda item: -(item[1].input_tokens + item[1].output_tokens))
    names = [str(name) or "unknown" for name, _ in ordered]
    urls = [links(model=name) for name, _ in ordered]
    return Chart(
        slug="tokens-by-model",
        title="Input and output tokens by model",
        columns=["Model", "Requests", "Input tokens", "Output tokens"],
        rows=[
            Row(
                label=name,
                link=url,
                cells=[
                    Cell(_count(t.requests), t.requests),
                    Cell(_count(t.input_tokens), t.input_tokens),
                    Cell(_count(t.output_tokens), t.output_tokens),
                ],
            )
            for name, url, (_, t) in zip(names, urls, ordered, strict=True)
        ],
        data={
            "type": "bar",
            "stacked": True,
            "horizontal": True,
            "labels": names,
            "links": urls,
            "datasets": [
                {
                    "label": label,
                    "data": [getattr(t, attr) for _, t in ordered],
                    "backgroundColor": TOKEN_COLOURS[label],
                }
                for label, attr in (("Input tokens", "input_tokens"), ("Output tokens", "output_tokens"))
            ],
        },
        total_requests=_sum(by_model.values()).requests,
        total_cost=_sum(by_model.values()).cost,
    )


def key_labels() -> dict[str, KeyLabel]:
    return {label.api_key_hash: label for label in KeyLabel.objects.all()}


def key_name(key_hash: str, labels: dict[str, KeyLabel]) -> str:
    label = labels.get(key_hash)
    if label:
        return label.name
    if not key_hash:
        return "unknown key"
    return key_hash if len(key_hash) <= 16 else f"{key_hash[:14]}…{key_hash[-4:]}"


CHOICE_COLUMNS = ("model", "provider", "endpoint", "api_key_hash")


def _dimension_values() -> dict[str, list[str]]:
    """Every stored value of each filter column, from the daily key rollup (every value of every
    stored generation, in tens of thousands of rows) instead of a DISTINCT over the generations.

    Cached under the rollup's largest id: a recompute re-inserts rows with new ids, so any change
    to the stored generations makes a new cache key (one index probe instead of four DISTINCTs).
    """
    version = DailyKeyRollup.objects.aggregate(last=Max("id"))["last"]
    cache_key = f"analytics:dimension-values:{version}"
    values = cache.get(cache_key)
    if values is None:
        values = {
            column: [
                value
                for value in DailyKeyRollup.objects.order_by(column).values_list(column, flat=True).distinct()
                if value
            ]
            for column in CHOICE_COLUMNS
        }
        cache.set(cache_key, values, timeout=3600)
    return values


def filter_choices(labels: dict[str, KeyLabel]) -> FilterChoices:
    values = _dimension_values()
    keys = values["api_key_hash"]
    return FilterChoices(
        models=values["model"],
        providers=values["provider"],
        endpoints=values["endpoint"],
        keys=sorted((KeyChoice(k, key_name(k, labels)) for k in keys), key=lambda choice: choice.label.lower()),
        teams=sorted({label.team for label in labels.values() if label.team}),
    )


class _Ingredients:
    """What the charts are made of for one selection, each read once and only when a chart needs
    it: a chart's CSV reads what that chart needs, not the whole page."""

    def __init__(self, filters: DashboardFilters, *, raw: bool, whole_page: bool) -> None:
        self.filters = filters
        self.whole_page = whole_page
        self.source = _source(filters, raw=raw)
        self.links = _Links(filters)

    @cached_property
    def series(self) -> dict[tuple, Totals]:
        return _series(self.source, self.filters.bucket, self.filters.zone, DIMENSIONS)

    @cached_property
    def groups(self) -> dict[tuple, Totals]:
        """Totals per (model, provider, BYOK): on the whole page, sums of its time series (the
        buckets cover the range exactly: one query fewer); for one chart, one grouped read."""
        if self.whole_page:
            return _rollup(self.series, lambda group: group[1:])
        return _totals(self.source, DIMENSIONS)

    @cached_property
    def time_charts(self) -> tuple[list[Chart], int]:
        return _time_charts(self.filters, self.series, self.groups, self.links)

    @cached_property
    def key_groups(self) -> dict[tuple, Totals]:
        return _totals(self.source, ["api_key_hash"])

    @cached_property
    def bins(self) -> dict[str, dict[tuple, dict[int, int]]]:
        return _bin_counts(self.source, ["model", "provider"], ("latency", "throughput"))

    @cached_property
    def labels(self) -> dict[str, KeyLabel]:
        return key_labels()

    @cached_property
    def by_model(self) -> dict[object, Totals]:
        return _rollup(self.groups, lambda g: g[0])

    @cached_property
    def by_provider(self) -> dict[object, Totals]:
        return _rollup(self.groups, lambda g: g[1])

    @cached_property
    def model_names(self) -> list[str]:
        return [str(name) for name, _ in _by_cost(self.by_model)]

    @cached_property
    def provider_names(self) -> list[str]:
        return [str(name) for name, _ in _by_cost(self.by_provider)]


def _cost_by_key(parts: _Ingredients) -> Chart:
    labels = parts.labels
    return _cost_breakdown(
        "cost-by-key",
        "Cost by API key",
        "API key",
        _rollup(parts.key_groups, lambda g: g[0]),
        label=lambda k: key_name(k, labels),
        link=lambda k: parts.links(key=k),
        colours=lambda k: colour(str(k)),
    )


def _cost_by_team(parts: _Ingredients) -> Chart:
    labels = parts.labels
    by_team = _rollup(
        parts.key_groups, lambda g: labels[g[0]].team if g[0] in labels and labels[g[0]].team else NO_TEAM
    )
    return _cost_breakdown(
        "cost-by-team",
        "Cost by team",
        "Team",
        by_team,
        label=str,
        link=lambda k: parts.links(team="" if k == NO_TEAM else k),
    )


def _percentiles_by(kind: str, dimension: str) -> Callable[[_Ingredients], Chart]:
    """The latency or throughput percentile chart by model or provider."""
    position = {"model": 0, "provider": 1}[dimension]
    latency = kind == "latency"
    description = {
        ("latency", "model"): "p50 / p95 / p99 from 8 % histogram bins (each within 4 % of the exact value).",
        ("latency", "provider"): "p50 / p95 / p99 from 8 % histogram bins.",
    }.get((kind, dimension), "Output tokens per second of latency (derived by us, higher is better).")

    def build(parts: _Ingredients) -> Chart:
        return _percentile_chart(
            f"{kind}-by-{dimension}",
            f"{kind.title()} by {dimension}",
            dimension.title(),
            _merge_bins(parts.bins[kind], lambda g: g[position]),
            names=parts.model_names if dimension == "model" else parts.provider_names,
            link=lambda k: parts.links(**{dimension: k}),
            show=_ms if latency else _rate,
            unit="ms" if latency else "tok/s",
            description=description,
        )

    return build


def _cost_by(dimension: str, kind: str = "bar") -> Callable[[_Ingredients], Chart]:
    def build(parts: _Ingredients) -> Chart:
        return _cost_breakdown(
            f"cost-by-{dimension}",
            f"Cost by {dimension}",
            dimension.title(),
            parts.by_model if dimension == "model" else parts.by_provider,
            kind=kind,
            label=lambda k: k or "unknown",
            link=lambda k: parts.links(**{dimension: k}),
        )

    return build


def _byok_cost(parts: _Ingredients) -> Chart:
    return _cost_breakdown(
        "byok-cost",
        "BYOK vs platform-key cost",
        "Key type",
        _rollup(parts.groups, lambda g: {True: "BYOK", False: "Platform key"}.get(g[2], "Unknown")),
        kind="doughnut",
        label=str,
        link=lambda k: parts.links(byok={"BYOK": "yes", "Platform key": "no"}.get(str(k), "")),
        colours=lambda k: KEY_TYPE_COLOURS[str(k)],
    )


# The dashboard's charts in page order: slug → how to build it from the ingredients.
CHARTS: dict[str, Callable[[_Ingredients], Chart]] = {
    "cost-over-time": lambda parts: parts.time_charts[0][0],
    "requests-over-time": lambda parts: parts.time_charts[0][1],
    "cost-by-model": _cost_by("model"),
    "cost-by-provider": _cost_by("provider", kind="doughnut"),
    "cost-by-key": _cost_by_key,
    "cost-by-team": _cost_by_team,
    "latency-by-model": _percentiles_by("latency", "model"),
    "latency-by-provider": _percentiles_by("latency", "provider"),
    "throughput-by-model": _percentiles_by("throughput", "model"),
    "throughput-by-provider": _percentiles_by("throughput", "provider"),
    "tokens-by-model": lambda parts: _tokens_chart(parts.by_model, parts.links),
    "byok-cost": _byok_cost,
}


def dashboard_chart(filters: DashboardFilters, slug: str) -> Chart | None:
    """One chart (for its CSV), reading only what it needs; None for an unknown slug."""
    build = CHARTS.get(slug)
    return build(_Ingredients(filters, raw=False, whole_page=False)) if build else None


def dashboard(filters: DashboardFilters, *, raw: bool = False) -> Dashboard:
    """Everything the dashboard page renders, for one selection.

    From the rollups; `raw=True` computes the same from raw rows (the tests compare the two).
    """
    parts = _Ingredients(filters, raw=raw, whole_page=True)
    charts = [build(parts) for build in CHARTS.values()]
    previous_source = parts.source.shifted(filters.previous.start, filters.previous.end)
    previous = _totals(previous_source, [])[()]
    previous_latency = _bin_counts(previous_source, [], ("latency",))["latency"].get((), {})
    latency = parts.bins["latency"]
    totals = _sum(parts.groups.values())
    all_latency = _merge_bins(latency, lambda g: ())[()] if latency else {}
    return Dashboard(
        filters=filters,
        totals=totals,
        previous_totals=previous,
        figures=_figures(totals, previous, all_latency, previous_latency),
        charts=charts,
        charts_by_slug={chart.slug: chart for chart in charts},
        choices=filter_choices(parts.labels),
        bucket_count=parts.time_charts[1],
    )


# ---- the generation list ----------------------------------------------------------------

LIST_COLUMNS = [
    "id",
    "generation_id",
    "occurred_at",
    "model",
    "provider",
    "api_key_hash",
    "endpoint",
    "is_byok",
    "cost_pico",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "output_tokens_per_second",
]


@dataclass(frozen=True)
class GenerationPage:
    filters: DashboardFilters
    # Only on the first page: a later page is a keyset seek, and summing the whole range again
    # on every page turn would cost more than the page itself.
    totals: Totals | None
    rows: list[Generation]
    key_names: dict[str, str]
    next_cursor: str
    sort: str
    choices: FilterChoices


def _list_source(filters: DashboardFilters, *, raw: bool = False) -> _Source:
    return _source(filters, raw=raw, prefix=filters.extra.get("q", ""))


def _sort_column(sort: str) -> tuple[str, bool]:
    return SORTS[sort.lstrip("-")], sort.startswith("-")


def _ordered(rows: QuerySet, sort: str) -> QuerySet:
    column, descending = _sort_column(sort)
    if column in NULLABLE_SORTS:
        first = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
    else:
        first = F(column).desc() if descending else F(column).asc()
    return rows.order_by(first, "-id" if descending else "id")


def _after(rows: QuerySet, sort: str, cursor: ListCursor) -> QuerySet:
    """Rows after the cursor in the sort order: keyset pagination, as fast on page 20 000 as on page 1."""
    column, descending = _sort_column(sort)
    step = "lt" if descending else "gt"
    value = cursor.value  # typed for the column by ListCursor.decode
    if value is None:
        # Nulls sort last: after a null only nulls with a further id remain.
        return rows.filter(**{f"{column}__isnull": True, f"id__{step}": cursor.id})
    further = Q(**{f"{column}__{step}": value}) | Q(**{column: value, f"id__{step}": cursor.id})
    if column in NULLABLE_SORTS:
        return rows.filter(further | Q(**{f"{column}__isnull": True}))
    # The redundant bound lets the database start its index scan at the cursor.
    return rows.filter(Q(**{f"{column}__{step}e": value}) & further)


def generation_page(
    filters: DashboardFilters, cursor: ListCursor | None = None, size: int = 50, *, raw: bool = False
) -> GenerationPage:
    """One page of the filtered list; the first page also carries the matching totals, from the
    same layer (rollups when the filters allow) as the dashboard, so the two never disagree."""
    sort = filters.extra.get("sort", DEFAULT_SORT)
    source = _list_source(filters, raw=raw)
    rows = _ordered(source.rows(), sort).only(*LIST_COLUMNS)
    if cursor:
        rows = _after(rows, sort, cursor)
    page = list(rows[: size + 1])
    more = len(page) > size
    page = page[:size]
    labels = key_labels()
    next_cursor = ListCursor(getattr(page[-1], _sort_column(sort)[0]), page[-1].id).encode() if more else ""
    return GenerationPage(
        filters=filters,
        totals=None if cursor else _totals(source, [])[()],
        rows=page,
        key_names={row.api_key_hash: key_name(row.api_key_hash, labels) for row in page},
        next_cursor=next_cursor,
        sort=sort,
        choices=filter_choices(labels),
    )


EXPORT_HEADER = [
    "generation_id",
    "occurred_at_utc",
    "occurred_at_local",
    "model",
    "provider",
    "api_key_hash",
    "api_key_name",
    "team",
    "endpoint",
    "byok",
    "cost_usd",
    "credits_used",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "output_tokens_per_second",
]
EXPORT_COLUMNS = [
    "generation_id",
    "occurred_at",
    "model",
    "provider",
    "api_key_hash",
    "endpoint",
    "is_byok",
    "cost_pico",
    "credits_used_pico",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "output_tokens_per_second",
]


def generation_export_rows(filters: DashboardFilters) -> Iterator[list[object]]:
    """The filtered set, row by row from a database cursor (never all in memory, never the bodies)."""
    labels = key_labels()
    zone = filters.tzinfo
    sort = filters.extra.get("sort", DEFAULT_SORT)
    rows = _ordered(_list_source(filters).rows(), sort).values_list(*EXPORT_COLUMNS)
    for gid, occurred, model, provider, key, endpoint, byok, cost, credit, tin, tout, latency, rate in rows.iterator(
        chunk_size=2000
    ):
        label = labels.get(key)
        yield [
            gid,
            occurred.isoformat(),
            occurred.astimezone(zone).isoformat(),
            model,
            provider,
            key,
            label.name if label else "",
            label.team if label else "",
            endpoint,
            {True: "yes", False: "no"}.get(byok, ""),
            # Numbers, not text: the CSV writer (generations/csv_cells.py) writes them as plain decimals.
            from_pico(cost),
            from_pico(credit),
            tin,
            tout,
            None if latency is None else round(latency, 3),
            None if rate is None else round(rate, 3),
        ]

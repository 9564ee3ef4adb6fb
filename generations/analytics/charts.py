"""Charts as data: each `Chart` carries its table rows (the page's table and its CSV) and its
Chart.js payload, built from `queries` results; colours and drill-down links live here.
"""

import hashlib
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.urls import reverse

from generations.analytics.filters import DashboardFilters
from generations.analytics.histograms import percentiles
from generations.analytics.periods import next_month
from generations.analytics.queries import (
    Sums,
    Totals,
    rollup,
    sum_totals,
)
from generations.analytics.rollups import (
    bucket_edges,
)
from generations.display import (
    NOTHING,
    format_count,
    format_latency,
    format_share,
    format_throughput,
    format_usd,
)

# A stacked time chart with more series than this is unreadable; the rest become "Other".
MAX_SERIES = 8


OTHER = "Other"


NO_TEAM = "(no team)"


PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


PERCENTILE_COLOURS = {"p50": "hsl(210 70% 50%)", "p95": "hsl(35 85% 50%)", "p99": "hsl(350 70% 52%)"}


TOKEN_COLOURS = {"Input tokens": "hsl(200 65% 48%)", "Output tokens": "hsl(150 55% 42%)"}


KEY_TYPE_COLOURS = {"BYOK": "hsl(265 70% 60%)", "Platform key": "hsl(210 70% 50%)", "Unknown": "hsl(0 0% 60%)"}


def _bucket_dates(start: datetime, bucket: str) -> tuple[date, date]:
    """The local dates a bucket (its local start) covers (inclusive), for drill-down links."""
    day = start.date()
    if bucket == "week":
        return day, day + timedelta(days=6)
    if bucket == "month":
        return day, next_month(day) - timedelta(days=1)
    return day, day


def _bucket_label(start: datetime, bucket: str) -> str:
    """`start` is local."""
    if bucket == "hour":
        return start.strftime("%a %d %b %H:00")
    if bucket == "day":
        return start.strftime("%a %d %b %Y")
    if bucket == "week":
        return f"Week of {start:%d %b %Y}"
    return start.strftime("%b %Y")


def _bucket_labels(starts: list[datetime], bucket: str) -> list[str]:
    """`starts` are local; an hour shown twice (a fall-back night: "02:00 CEST", then "02:00 CET";
    Chatham's and Lord Howe's changes off the hour too) is told apart by its zone's abbreviation."""
    labels = [_bucket_label(start, bucket) for start in starts]
    shown = Counter(labels)
    return [
        f"{label} {start:%Z}" if bucket == "hour" and shown[label] > 1 else label
        for label, start in zip(labels, starts, strict=True)
    ]


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
    # The bucket still running ("now" is inside it): its figures will grow, so it is no real drop.
    partial: bool = False


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


class Links:
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


def by_cost(groups: dict[object, Totals]) -> list[tuple[object, Totals]]:
    return sorted(groups.items(), key=lambda item: (-item[1].cost_pico, -item[1].requests, str(item[0])))


def _cost_cells(totals: Totals, grand: Totals) -> list[Cell]:
    share = totals.cost_pico / grand.cost_pico if grand.cost_pico else None
    return [
        Cell(format_count(totals.requests), totals.requests),
        Cell(format_usd(totals.cost), totals.cost),
        Cell(format_count(totals.unknown_cost_requests), totals.unknown_cost_requests),
        Cell(format_usd(totals.average_cost), totals.average_cost),
        # No cost to share out (none known, or all of it $0): nothing to show.
        Cell(NOTHING if share is None else format_share(share), None if share is None else round(share, 6)),
    ]


COST_COLUMNS = ["Requests", "Cost", "Unknown-cost requests", "Avg cost / request", "Share of cost"]


def cost_breakdown(
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
    ordered = by_cost(groups)
    grand = sum_totals(groups.values())
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


UNTAGGED = "(untagged)"


def tag_breakdown(
    tag_key: str, tagged: dict[str, Totals], untagged: Totals, *, link: Callable[[str | None], str]
) -> Chart:
    """Cost, requests and tokens per value of the tag `tag_key`, the generations without it as
    "(untagged)" (key None: a value may be any text), so the rows add up to the selection's total."""
    groups: dict[object, Totals] = {**tagged, **({None: untagged} if untagged.requests else {})}
    chart = cost_breakdown(
        "cost-by-tag",
        f"Cost by tag: {tag_key}",
        tag_key,
        groups,
        label=lambda value: UNTAGGED if value is None else str(value),
        link=link,
        colours=lambda value: colour(OTHER if value is None else str(value)),
    )
    # The breakdown's rows in its order (by cost), each with its tokens added.
    ordered = by_cost(groups)
    rows = [
        Row(
            label=row.label,
            link=row.link,
            cells=[
                *row.cells,
                Cell(format_count(totals.input_tokens), totals.input_tokens),
                Cell(format_count(totals.output_tokens), totals.output_tokens),
            ],
        )
        for row, (_, totals) in zip(chart.rows, ordered, strict=True)
    ]
    return replace(chart, columns=[*chart.columns, "Input tokens", "Output tokens"], rows=rows)


@dataclass(frozen=True)
class Spread:
    """A per-request figure charted as percentiles per model and per provider, from its histograms."""

    kind: str  # the histogram kind (queries.bin_counts_by)
    unit: str
    show: Callable[[float | None], str]
    description: str


LATENCY = Spread(
    "latency",
    "ms",
    format_latency,
    "p50 / p95 / p99 from 8 % histogram bins (each within 4 % of the exact value).",
)
THROUGHPUT = Spread(
    "throughput",
    "tok/s",
    format_throughput,
    "Output tokens per second of latency (derived by us, higher is better).",
)


def percentile_chart(
    spread: Spread,
    dimension: str,
    bins: dict[object, dict[int, int]],
    *,
    names: list[str],
    link: Callable[[str], str],
) -> Chart:
    """p50 / p95 / p99 of `spread` per value of `dimension` ("model" or "provider"), in `names` order."""
    keys = [name for name in names if bins.get(name)]
    values = {name: dict(zip(PERCENTILES, percentiles(bins[name], PERCENTILES.values()), strict=True)) for name in keys}
    return Chart(
        slug=f"{spread.kind}-by-{dimension}",
        title=f"{spread.kind.title()} by {dimension}",
        description=spread.description,
        columns=[dimension.title(), "Requests measured", *(f"{p} ({spread.unit})" for p in PERCENTILES)],
        rows=[
            Row(
                label=name,
                link=link(name),
                cells=[
                    Cell(format_count(sum(bins[name].values())), sum(bins[name].values())),
                    *(Cell(spread.show(values[name][p]), round(values[name][p], 3)) for p in PERCENTILES),
                ],
            )
            for name in keys
        ],
        data={
            "type": "bar",
            "unit": spread.unit,
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


@dataclass(frozen=True)
class TimeAxis:
    """The buckets of a time chart: UTC starts (so empty buckets show as zeros), their labels in
    the viewer's zone, and each bucket's drill-down link."""

    heading: str
    starts: list[datetime]
    labels: list[str]
    links: list[str]
    partial: int | None  # the index of the bucket containing "now", if the range reaches it

    def rows(self, cells: list[list[Cell]]) -> list[Row]:
        """One table row per bucket, the running one marked partial."""
        return [
            Row(label=label, link=url, cells=bucket_cells, partial=index == self.partial)
            for index, (label, url, bucket_cells) in enumerate(zip(self.labels, self.links, cells, strict=True))
        ]


def time_axis(filters: DashboardFilters, links: Links, *, now: datetime) -> TimeAxis:
    edges = bucket_edges(filters.start, filters.end, filters.tzinfo, filters.bucket)
    starts = edges[:-1]
    running = [index for index, (start, end) in enumerate(itertools.pairwise(edges)) if start <= now < end]
    local_starts = [start.astimezone(filters.tzinfo) for start in starts]
    bucket_links = []
    for local in local_starts:
        first, last = _bucket_dates(local, filters.bucket)
        bucket_links.append(links(range="custom", start=first.isoformat(), end=last.isoformat()))
    return TimeAxis(
        heading=f"{filters.bucket.title()} ({filters.zone})",
        starts=starts,
        labels=_bucket_labels(local_starts, filters.bucket),
        links=bucket_links,
        partial=running[0] if running else None,
    )


def bucket_totals(axis: TimeAxis, series: dict[tuple, Sums]) -> list[Totals]:
    """Per bucket of the axis, the series summed over its splits."""
    per_bucket = rollup(series, lambda group: group[0])
    empty = Totals()
    return [per_bucket.get(start, empty) for start in axis.starts]


def _shown_series(groups: dict[tuple, Totals], position: int) -> list[str]:
    """The `MAX_SERIES` costliest values of the split, then "Other" when there are more."""
    per_split = rollup(groups, lambda group: group[position])
    top = [name for name, _ in by_cost(per_split)[:MAX_SERIES]]
    return top + ([OTHER] if len(per_split) > len(top) else [])


def cost_over_time(
    filters: DashboardFilters, axis: TimeAxis, series: dict[tuple, Sums], groups: dict[tuple, Totals]
) -> Chart:
    """`series` per (bucket, model, provider, BYOK); `groups` the same summed over the range."""
    position = 0 if filters.split == "model" else 1
    shown = _shown_series(groups, position)
    in_top = set(shown) - {OTHER}
    stacked = rollup(series, lambda group: (group[0], group[1 + position] if group[1 + position] in in_top else OTHER))
    totals = bucket_totals(axis, series)
    grand = sum_totals(totals)
    split_label = filters.split.title()
    return Chart(
        slug="cost-over-time",
        title=f"Cost over time by {filters.split}",
        description=f"Stacked by {filters.split}; the {MAX_SERIES} costliest are shown, the rest as “{OTHER}”.",
        columns=[axis.heading, "Total cost", *(f"{split_label}: {name}" for name in shown)],
        rows=axis.rows(
            [
                [
                    Cell(format_usd(bucket.cost if bucket.requests else Decimal(0)), bucket.cost),
                    *(_stacked_cost_cell(stacked.get((start, name))) for name in shown),
                ]
                for start, bucket in zip(axis.starts, totals, strict=True)
            ]
        ),
        data={
            "type": "bar",
            "money": True,
            "stacked": True,
            "labels": axis.labels,
            "links": axis.links,
            "partial": axis.partial,
            "datasets": [
                {
                    "label": name,
                    "data": [_money_number(_cost_of(stacked.get((start, name)))) for start in axis.starts],
                    "backgroundColor": colour(name),
                }
                for name in shown
            ],
        },
        total_cost=grand.cost,
        total_requests=grand.requests,
    )


def _cost_of(totals: Totals | None) -> Decimal | None:
    return totals.cost if totals else None


def _stacked_cost_cell(totals: Totals | None) -> Cell:
    """A series' cost in one bucket; nothing at all when it has no generations there."""
    return Cell(NOTHING if totals is None else format_usd(totals.cost), _cost_of(totals))


def requests_over_time(axis: TimeAxis, series: dict[tuple, Sums]) -> Chart:
    totals = bucket_totals(axis, series)
    grand = sum_totals(totals)
    return Chart(
        slug="requests-over-time",
        title="Requests over time",
        columns=[axis.heading, "Requests", "Unknown-cost requests", "Output tokens"],
        rows=axis.rows(
            [
                [
                    Cell(format_count(bucket.requests), bucket.requests),
                    Cell(format_count(bucket.unknown_cost_requests), bucket.unknown_cost_requests),
                    Cell(format_count(bucket.output_tokens), bucket.output_tokens),
                ]
                for bucket in totals
            ]
        ),
        data={
            "type": "line",
            "counts": True,
            "labels": axis.labels,
            "links": axis.links,
            "partial": axis.partial,
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


def tokens_chart(by_model: dict[object, Totals], links: Links) -> Chart:
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
                    Cell(format_count(t.requests), t.requests),
                    Cell(format_count(t.input_tokens), t.input_tokens),
                    Cell(format_count(t.output_tokens), t.output_tokens),
                ],
            )
            for name, url, (_, t) in zip(names, urls, ordered, strict=True)
        ],
        data={
            "type": "bar",
            "counts": True,
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
        total_requests=sum_totals(by_model.values()).requests,
        total_cost=sum_totals(by_model.values()).cost,
    )

"""The figures behind every page: one selector layer, so two pages can never disagree.

Three core queries over a `Source` (a UTC range and dimension filters), each answered from the
rollup tables (generations/analytics/rollups.py) whenever the filters allow and from raw rows
otherwise (an id-prefix search; `raw=True`), with identical results:

* `totals_by(source, group_by)`: summed measures per group;
* `series_by(source, bucket, zone, split_by)`: the same per local time bucket;
* `bin_counts_by(source, group_by, kinds)`: histogram counts per kind, for percentiles.

Money is summed as integer pico-units in the database and converted to `Decimal` only for
display; rows of unknown cost are counted, never summed as $0. Every breakdown on the
dashboard is derived in Python from exact grouped reads of the same range, so each chart adds up to
the headline exactly; the list's "matching totals" use the same `totals_by`.
"""

import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields, make_dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Exists, OuterRef, QuerySet

from generations.analytics import statements
from generations.analytics.filters import DashboardFilters
from generations.analytics.measures import MEASURE_NAMES
from generations.analytics.rollups import (
    Sums,
    rollup_bin_counts_by_kind,
    rollup_dimension_values,
    rollup_series_measures,
    rollup_span_measures,
    rollup_tag_keys,
    rollup_tag_totals,
    rollup_totals,
    rollups_cover,
    rollups_version,
    tag_rollups_version,
)
from generations.analytics.statements import TAG_FILTER
from generations.body_search import BodySearch
from generations.display import key_name
from generations.models import Generation, GenerationTag, KeyLabel
from generations.money import from_pico

PICO = Decimal(1).scaleb(-12)


# Breakdown keys of the time series most dashboard figures are derived from; the per-key (and
# per-team) breakdown is a second, exact query by key alone: without the key the rollups answer
# from the small keyless tables, with it only from the key tables.
DIMENSIONS = ["model", "provider", "is_byok"]


def exact(amount: Decimal) -> Decimal:
    """A quotient to the pico-unit, the precision money is stored with."""
    return amount.quantize(PICO).normalize()


def _cost(requests: int, priced_requests: int, cost_pico: int) -> Decimal | None:
    """None when a group has requests but none of known cost (so never a made-up $0)."""
    return None if requests and not priced_requests else from_pico(cost_pico)


class _Figures:
    """What Totals derives from its measures (figures that do not add up across groups)."""

    requests: int
    priced_requests: int
    cost_pico: int
    credits_pico: int
    priced_tokens: int
    byok_requests: int

    @property
    def unknown_cost_requests(self) -> int:
        return self.requests - self.priced_requests

    @cached_property  # Decimal arithmetic, read by several cells and charts
    def cost(self) -> Decimal | None:
        return _cost(self.requests, self.priced_requests, self.cost_pico)

    @cached_property
    def credits(self) -> Decimal:
        return from_pico(self.credits_pico)

    @cached_property
    def average_cost(self) -> Decimal | None:
        return exact(from_pico(self.cost_pico) / self.priced_requests) if self.priced_requests else None

    @cached_property
    def cost_per_1k_tokens(self) -> Decimal | None:
        return exact(from_pico(self.cost_pico) * 1000 / self.priced_tokens) if self.priced_tokens else None

    @property
    def byok_share(self) -> float | None:
        return self.byok_requests / self.requests if self.requests else None


# The summed measures of a group: one int field per measure of `measures.MEASURES`, in its order
# (0 for an empty group). Totals are made by the thousand per page and never changed after: a plain
# (not frozen) dataclass, whose constructor costs a fifth of a frozen one's.
Totals = make_dataclass(
    "Totals", [(name, int, 0) for name in MEASURE_NAMES], bases=(_Figures,), namespace={"__module__": __name__}
)


TOTALS_FIELDS = tuple(f.name for f in fields(Totals))


_totals_values = operator.attrgetter(*TOTALS_FIELDS)


def sum_totals(totals: Iterable[Totals]) -> Totals:
    # Field by field in C (one transposition, eight sums), not one new Totals per addition.
    values = [_totals_values(item) for item in totals]
    return Totals(*map(sum, zip(*values, strict=True))) if values else Totals()


def totals_less(whole: Totals, part: Totals) -> Totals:
    """`whole` less `part`, field by field (every measure is additive): the generations of a
    selection without a tag are its total less those with one."""
    return Totals(*(a - b for a, b in zip(_totals_values(whole), _totals_values(part), strict=True)))


# `Sums` (from rollups): a Totals' fields in order, not yet made into one. A page of hourly buckets
# reads thousands of rows, and summing tuples before making (or instead of making) a Totals per
# group halves its Python time.

# What a cost figure needs (the cost, its requests and those of unknown cost): a breakdown by cost
# reads only these.
COST_MEASURES = ("requests", "priced_requests", "cost_pico")
_COST_FIELDS = operator.itemgetter(*map(MEASURE_NAMES.index, COST_MEASURES))


def sums_cost(sums: Sums) -> Decimal | None:
    """`Totals(*sums).cost` without making the Totals (a stacked chart has thousands of cells)."""
    return _cost(*_COST_FIELDS(sums))


@dataclass(frozen=True)
class Source:
    """The generations a figure aggregates: a UTC range and dimension filters.

    Answered from the rollup tables (generations/analytics/rollups.py) whenever they can, from raw rows
    otherwise (an id-prefix search, or `raw=True` for a cross-check); both give identical totals.
    """

    start: datetime
    end: datetime
    # {dimension: value or list of values}: a team filter is the list of its keys' hashes; "tags"
    # ((name, value or None) pairs) a tag filter, which only raw rows answer.
    dimensions: dict[str, object]
    prefix: str = ""
    raw: bool = False
    body_search: BodySearch | None = None

    @property
    def from_rollups(self) -> bool:
        return not self.raw and not self.prefix and not self.body_search and rollups_cover(self.dimensions)

    def rows(self, *, in_time_order: bool = False) -> QuerySet:
        """The generations; `in_time_order`: the caller reads them by `occurred_at` and stops early."""
        rows = Generation.objects.filter(occurred_at__gte=self.start, occurred_at__lt=self.end)
        for name, value in self.dimensions.items():
            if name == TAG_FILTER:
                rows = _tagged(rows, value)
                continue
            rows = rows.filter(**{f"{name}__in" if isinstance(value, list) else name: value})
        if self.body_search:
            rows = self.body_search.restrict(rows, in_time_order=in_time_order)
        return rows.filter(generation_id__startswith=self.prefix) if self.prefix else rows

    def shifted(self, start: datetime, end: datetime) -> "Source":
        return replace(self, start=start, end=end)


def _tagged(rows: QuerySet, tags: Iterable[tuple[str, str | None]]) -> QuerySet:
    """`rows` with every tag (name, value), or without a tag of the name when the value is None."""
    for key, value in tags:
        tag = GenerationTag.objects.filter(generation=OuterRef("pk"), key=key)
        rows = rows.filter(~Exists(tag) if value is None else Exists(tag.filter(value=value)))
    return rows


def source_of(
    filters: DashboardFilters, *, raw: bool = False, prefix: str = "", body_search: BodySearch | None = None
) -> Source:
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
    if filters.tags:
        dimensions[TAG_FILTER] = filters.tags
    return Source(filters.start, filters.end, dimensions, prefix=prefix, raw=raw, body_search=body_search)


def totals_by(source: Source, group_by: list[str], *, read: Collection[str] = MEASURE_NAMES) -> dict[tuple, Totals]:
    """Summed measures per group; those not in `read` are 0 (from the rollups; a text search's
    matching rows sum them all)."""
    if source.body_search:
        width = len(group_by)
        found = statements.totals_of_ids(source.rows().values("id"), group_by).rows()
        # PostgreSQL sums bigints as numeric.
        grouped = {tuple(row[:width]): Totals(*map(int, row[width:])) for row in found}
    else:
        rows = rollup_totals(
            source.start,
            source.end,
            source.dimensions,
            group_by,
            raw=not source.from_rollups,
            id_prefix=source.prefix,
            read=read,
        )
        grouped = {tuple(row[name] for name in group_by): Totals(*(row[f] for f in TOTALS_FIELDS)) for row in rows}
    return grouped if group_by or grouped else {(): Totals()}


def series_by(
    source: Source, bucket: str, zone: str, split_by: list[str], *, read: Collection[str] = MEASURE_NAMES
) -> dict[tuple, Sums]:
    """Sums per (bucket start in UTC, *split values): a UTC instant, so the two 02:00 hours of a
    fall-back day stay two buckets. Charts sum them further (`rollup`) before making Totals.
    `read`: the measures a caller uses (requests always), the others are 0."""
    edges, measures = rollup_series_measures(
        source.start, source.end, ZoneInfo(zone), bucket, source.dimensions, split_by, raw=source.raw, read=read
    )
    return {(edges[key[0]], *key[1:]): values for key, values in measures.items()}


def totals_by_span(
    source: Source, edges: list[datetime], group_by: list[str], *, read: Collection[str] = MEASURE_NAMES
) -> dict[tuple, Totals]:
    """Summed measures per (span index, *group) over the spans [edges[n], edges[n + 1]) inside the
    source's range: where a figure changes at instants of its own (a price change), exactly. The
    measures not in `read` are 0."""
    if source.prefix or source.body_search:
        raise ValueError("spans are read from the rollups: no id prefix or text search")
    measures = rollup_span_measures(edges, source.dimensions, group_by, raw=source.raw, read=read)
    return {key: Totals(*values) for key, values in measures.items()}


def bin_counts_by(
    source: Source, group_by: list[str], kinds: tuple[str, ...]
) -> dict[str, dict[tuple, dict[int, int]]]:
    """{kind: {group: {bin: count}}} for "latency" and/or "throughput" (the dashboard's: never an
    id-prefix search, so the rollup read API answers both ways, from raw rows with `raw`)."""
    return rollup_bin_counts_by_kind(source.start, source.end, source.dimensions, group_by, kinds, raw=source.raw)


def sums_by(series: dict[tuple, Sums], key: Callable[[tuple], object]) -> dict[object, Sums]:
    """The sums of `series` added up per `key(group)`, still plain tuples."""
    parts: dict[object, list[Sums]] = defaultdict(list)
    for group, sums in series.items():
        parts[key(group)].append(sums)
    # Most keys come once: no sum to make.
    return {
        summed: items[0] if len(items) == 1 else tuple(map(sum, zip(*items, strict=True)))
        for summed, items in parts.items()
    }


def tag_totals_by(source: Source, tag_key: str) -> dict[str, Totals]:
    """{tag value: Totals} of the source's generations tagged `tag_key` (the dashboard's: never an
    id-prefix or text search). The generations without that tag are the source's total less these."""
    sums = rollup_tag_totals(source.start, source.end, tag_key, source.dimensions, raw=source.raw)
    return {value: Totals(*measures) for value, measures in sums.items()}


def tag_keys() -> list[str]:
    """Every stored tag name, the most tagged requests first: the choices of the cost-by-tag chart,
    cached under the tag rollups' version (a tag added or a generation removed makes a new key)."""
    cache_key = f"analytics:tag-keys:{tag_rollups_version()}"
    keys = cache.get(cache_key)
    if keys is None:
        keys = rollup_tag_keys()
        cache.set(cache_key, keys, timeout=3600)
    return keys


def rollup(groups: dict[tuple, Totals], key: Callable[[tuple], object]) -> dict[object, Totals]:
    """The groups summed per `key(group)`."""
    summed = sums_by({group: _totals_values(totals) for group, totals in groups.items()}, key)
    return {name: Totals(*sums) for name, sums in summed.items()}


def merge_bins(groups: dict[tuple, dict[int, int]], key: Callable[[tuple], object]) -> dict[object, dict[int, int]]:
    merged: dict[object, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for group, counts in groups.items():
        into = merged[key(group)]
        for index, count in counts.items():
            into[index] += count
    return merged


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


def key_labels() -> dict[str, KeyLabel]:
    return {label.api_key_hash: label for label in KeyLabel.objects.all()}


CHOICE_COLUMNS = ("model", "provider", "endpoint", "api_key_hash")


def _dimension_values() -> dict[str, list[str]]:
    """Every stored value of each filter column, cached under the rollups' version (any change
    to the stored generations makes a new cache key: one index probe instead of four DISTINCTs)."""
    cache_key = f"analytics:dimension-values:{rollups_version()}"
    values = cache.get(cache_key)
    if values is None:
        values = rollup_dimension_values(CHOICE_COLUMNS)
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

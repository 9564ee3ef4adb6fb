"""Pre-aggregated generations ("rollups"): the public API to read, maintain and check them.

Tables (docs/rollup-grains.md has the figures behind this choice of grains):

* `QuarterHourRollup`, `HourlyRollup`, `DailyRollup`: UTC quarter hour, hour and day × (model,
  provider, endpoint, BYOK);
* `HourlyKeyRollup`, `DailyKeyRollup`: UTC hour and day × (API key, model, provider, endpoint,
  BYOK), for anything filtered or grouped by key;
* `RollupHistogram`: latency / throughput histograms (packed: one row each) per UTC hour or day
  × (model, provider), and per day × (key, model, provider).
* `HourlyTagRollup`, `DailyTagRollup`: UTC hour and day × (tag name, tag value), for cost by
  tag; maintained, rebuilt and checked with the others (a tag filter reads raw rows).

Each row holds every measure of `measures.MEASURES`. Every read splits the requested range (or
each local bucket of a series) into whole UTC days, hours and quarter hours, reads each piece from
the coarsest table that can answer it (the rest from raw rows: parts of a quarter hour, or of an
hour when a key is involved) and adds them up, so results are exactly what the same query over raw
rows returns (`raw=True`; the tests compare). Local hours and days of every zone in use are whole
quarter hours, so dashboard presets never read raw rows.

Maintenance never increments: a bucket is recomputed from raw rows (DELETE, then INSERT … SELECT
… GROUP BY; a day from its hours) in the caller's transaction, so repeating it can never
double-count. The SQL is in statements.py.

About 800 lines: the one public API over every rollup table (reads, maintenance and the check),
its statements in generations/analytics/statements.py.
"""

import itertools
import operator
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import F, Max, Min, OuterRef, QuerySet, Subquery, Sum

from generations.analytics import statements
from generations.analytics.histograms import PackedSum, pack, percentiles, unpack
from generations.analytics.measures import MEASURE_NAMES
from generations.analytics.models import (
    DailyKeyRollup,
    DailyRollup,
    DailyTagRollup,
    HourlyKeyRollup,
    HourlyRollup,
    HourlyTagRollup,
    QuarterHourRollup,
    RollupHistogram,
    WeeklyKeyRollup,
)
from generations.analytics.periods import BUCKETS, next_month
from generations.analytics.statements import DIMENSIONS, LOW_DIMENSIONS, TAG_DIMENSIONS, TAG_FILTER, Piece
from generations.models import Generation, GenerationTag

QUARTER_HOUR = timedelta(minutes=15)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

BIN_DIMENSIONS = ("model", "provider")
BIN_KINDS = {"latency": RollupHistogram.LATENCY, "throughput": RollupHistogram.THROUGHPUT}
BIN_COLUMNS = {"latency": "latency_bin", "throughput": "throughput_bin"}

Filters = dict[str, object]
# A group's measures in `measures.MEASURES` order, as the database returns them (`queries.Totals`
# is made from these only where a page needs one).
Sums = tuple[int, ...]


# ---------------------------------------------------------------------------------------------
# Time helpers


def floor_quarter_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    return moment.replace(minute=moment.minute - moment.minute % 15)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return floor_hour(moment).replace(hour=0)


def floor_week(moment: datetime) -> datetime:
    day = floor_day(moment)
    return day - timedelta(days=day.weekday())


def _ceil(moment: datetime, floor, step: timedelta) -> datetime:
    floored = floor(moment)
    return floored if floored == moment else floored + step


def bucket_edges(start: datetime, end: datetime, zone: ZoneInfo, bucket: str) -> list[datetime]:
    """UTC boundaries of the local-calendar buckets covering [start, end), clipped to it."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}")
    local = start.astimezone(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    if bucket != "hour":
        local = local.replace(hour=0)
    if bucket == "week":
        local -= timedelta(days=local.weekday())
    if bucket == "month":
        local = local.replace(day=1)
    edges = [start.astimezone(UTC)]
    while True:
        if bucket == "hour":
            nxt = _next_local_hour(edges[-1], zone)
        else:
            if bucket == "day":
                local += timedelta(days=1)
            elif bucket == "week":
                local += timedelta(days=7)
            else:
                local = next_month(local)
            nxt = local.replace(tzinfo=zone).astimezone(UTC)
        if nxt >= end:
            edges.append(end.astimezone(UTC))
            return edges
        if nxt > edges[-1]:
            edges.append(nxt)


def _next_local_hour(edge: datetime, zone: ZoneInfo) -> datetime:
    """The next instant the local clock reads o'clock or changes its offset, in UTC.

    Local hours as the clock shows them: a half-hour zone's hours start at half past the UTC hour,
    and a DST change that is not a whole hour (Lord Howe's 30 minutes, Chatham's at :45) starts a
    bucket of its own, so an hour is never counted twice and a step always moves forward."""
    here = edge.astimezone(zone)
    top = edge + timedelta(minutes=60 - here.minute, seconds=-here.second, microseconds=-here.microsecond)
    # Offsets change on the quarter hour in every zone since 1970.
    probe = floor_quarter_hour(edge) + QUARTER_HOUR
    while probe < top:
        if probe.astimezone(zone).utcoffset() != here.utcoffset():
            return probe
        probe += QUARTER_HOUR
    return top


# ---------------------------------------------------------------------------------------------
# Filters


def rollups_cover(filters: Filters) -> bool:
    """Whether rollups can answer queries with these filters (only dimension equality filters)."""
    return all(name in DIMENSIONS for name, value in filters.items() if value is not None)


def _used(filters: Filters, group_by: Sequence[str]) -> set[str]:
    """The dimensions filtered or grouped by (a tag filter is none: it makes a read raw)."""
    names = {name for name, value in filters.items() if value is not None and name != TAG_FILTER} | set(group_by)
    unknown = names - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"rollups cannot filter or group by {', '.join(sorted(unknown))}")
    return names


# ---------------------------------------------------------------------------------------------
# Splitting a range into pieces each source can answer

GRAINS = {
    "week": (floor_week, WEEK),
    "day": (floor_day, DAY),
    "hour": (floor_hour, HOUR),
    "quarter": (floor_quarter_hour, QUARTER_HOUR),
}


Parts = list[tuple[str, Piece]]  # (source, piece)


def _split(start: datetime, end: datetime, grains: Sequence[str], bucket: int, sign: int = 1) -> Parts:
    """[start, end) as (source, piece): the whole units of the coarsest grain inside it, then the
    finer grains on either side, and raw rows ("raw") for what no grain covers."""
    if start >= end:
        return []
    if not grains:
        return [("raw", Piece(start, end, bucket, sign=sign))]
    floor, step = GRAINS[grains[0]]
    first, last = _ceil(start, floor, step), floor(end)
    if first >= last:
        return _split(start, end, grains[1:], bucket, sign)
    return [
        *_split(start, first, grains[1:], bucket, sign),
        (grains[0], Piece(first, last, bucket, sign=sign)),
        *_split(last, end, grains[1:], bucket, sign),
    ]


# Rows read per hour of a piece, roughly (the tables hold about as many rows per unit of their
# grain): what `_cheapest_split` minimises.
ROWS_PER_HOUR = {"week": 1 / 168, "day": 1 / 24, "hour": 1, "quarter": 4, "raw": 1000}


def _cost(parts: Parts) -> float:
    return sum((piece.end - piece.start) / HOUR * ROWS_PER_HOUR[source] for source, piece in parts)


def _cheapest_split(start: datetime, end: datetime, grains: Sequence[str], bucket: int) -> Parts:
    """`_split`, or, for a bucket of a day or more that does not start or end at a UTC midnight
    (a local day, week or month), the whole UTC days around it less the overhangs at either end
    (pieces of sign -1), whichever reads fewer rows: a Berlin day is a UTC day plus one hour less
    another (3 hours' rows instead of 24). Overhangs are whole quarter hours: raw rows are never
    subtracted."""
    plain = _split(start, end, grains, bucket)
    if "day" not in grains or end - start < DAY:
        return plain
    coarser, finer = grains[: grains.index("day") + 1], grains[grains.index("day") + 1 :]
    options = [plain]
    for left_out, right_out in ((True, False), (False, True), (True, True)):
        first = floor_day(start) if left_out else _ceil(start, floor_day, DAY)
        last = _ceil(end, floor_day, DAY) if right_out else floor_day(end)
        if first >= last:
            continue
        left = _split(first, start, finer, bucket, -1) if left_out else _split(start, first, finer, bucket)
        right = _split(end, last, finer, bucket, -1) if right_out else _split(last, end, finer, bucket)
        if not any(source == "raw" and piece.sign < 0 for source, piece in (*left, *right)):
            options.append([*left, *_split(first, last, coarser, bucket), *right])
    return min(options, key=_cost)


def pieces_by_source(edges: list[datetime], grains: Sequence[str], *, subtract: bool = False) -> dict[str, list[Piece]]:
    """Each bucket [edges[n], edges[n + 1]) split by `_split` (or `_cheapest_split` when pieces
    may be subtracted), the pieces grouped by source.

    Every grain starts again each UTC week (each day, without weeks), so a bucket of the same
    length at the same time of its week as one split already has that one's pieces, moved: each
    shape is split once (720 hours of a fixed-offset zone are 24 shapes)."""
    split = _cheapest_split if subtract else _split
    period_start = floor_week if "week" in grains else floor_day
    shapes: dict[tuple[timedelta, timedelta], list[tuple[str, timedelta, timedelta, int]]] = {}
    by_source = defaultdict(list)
    for index, (start, end) in enumerate(itertools.pairwise(edges)):
        origin = period_start(start)
        shape = (start - origin, end - start)
        if shape not in shapes:
            shapes[shape] = [
                (source, piece.start - origin, piece.end - origin, piece.sign)
                for source, piece in split(start, end, grains, index)
            ]
        for source, first, last, sign in shapes[shape]:
            by_source[source].append(Piece(origin + first, origin + last, index, sign=sign))
    return dict(by_source)


Shares = dict[int, list[tuple[int, int]]]  # {bucket number of a shared piece: [(bucket, sign)]}


def share_pieces(by_source: dict[str, list[Piece]], buckets: int) -> tuple[dict[str, list[Piece]], Shares]:
    """Each span that several buckets read made one piece, read once. A local day's overhang past
    a UTC midnight is the next local day's start: subtracted from one bucket and added to the other,
    it is read twice otherwise (half the rows of a Kolkata day). A shared piece gets a bucket number
    of its own (`buckets` and up), and the buckets it counts for are returned with their signs."""
    shares: Shares = {}
    shared: dict[str, list[Piece]] = {}
    for source, pieces in by_source.items():
        spans: dict[tuple[datetime, datetime], list[Piece]] = defaultdict(list)
        for piece in pieces:
            spans[(piece.start, piece.end)].append(piece)
        shared[source] = []
        for (start, end), same in spans.items():
            if len(same) == 1:
                shared[source].append(same[0])
                continue
            number = buckets + len(shares)
            shares[number] = [(piece.bucket, piece.sign) for piece in same]
            shared[source].append(Piece(start, end, number))
    return shared, shares


def _spread(found: dict[tuple, Sums], shares: Shares) -> dict[tuple, Sums]:
    """`found` with the sums of each shared piece added to (or subtracted from) its buckets."""
    for key in [key for key in found if key[0] in shares]:
        values = found.pop(key)
        for bucket, sign in shares[key[0]]:
            into = (bucket, *key[1:])
            before = found.get(into)
            if before is None:
                found[into] = values if sign > 0 else tuple(map(operator.neg, values))
            else:
                found[into] = tuple(map(operator.add if sign > 0 else operator.sub, before, values))
    return found


# ---------------------------------------------------------------------------------------------
# Reads: counts and exact sums

# The rollup tables each grain is read from, without and with the API key as a dimension.
KEYLESS_TABLES = {"day": DailyRollup, "hour": HourlyRollup, "quarter": QuarterHourRollup}
KEY_TABLES = {"week": WeeklyKeyRollup, "day": DailyKeyRollup, "hour": HourlyKeyRollup}


def _flags_as_bools(rows: list[tuple], keys: Sequence[str]) -> Iterable[tuple]:
    """SQLite hands back BYOK flags as 0 / 1."""
    if "is_byok" not in keys or connection.vendor != "sqlite":
        return rows
    at = 1 + list(keys).index("is_byok")
    return ((*row[:at], None if row[at] is None else bool(row[at]), *row[at + 1 :]) for row in rows)


REQUESTS = MEASURE_NAMES.index("requests")


def _collect(
    edges,
    filters: Filters,
    group_by: Sequence[str],
    *,
    use_rollups: bool,
    id_prefix: str = "",
    read: Collection[str] = MEASURE_NAMES,
) -> dict:
    """{(bucket index, *group_by values): (measures in MEASURES order)} over the buckets of `edges`;
    the measures not in `read` are 0 (requests are always read: a group without any is left out)."""
    keyless = "api_key_hash" not in _used(filters, group_by)
    tables = (KEYLESS_TABLES if keyless else KEY_TABLES) if use_rollups else {}
    by_source, shares = share_pieces(pieces_by_source(edges, list(tables), subtract=True), len(edges) - 1)
    parts = {
        tables[source]._meta.db_table if source in tables else statements.GENERATIONS: pieces
        for source, pieces in by_source.items()
    }
    if not parts:
        return {}
    statement = statements.sums_by_bucket(parts, filters, group_by, id_prefix=id_prefix, read={*read, "requests"})
    width = 1 + len(group_by)
    numeric = connection.vendor == "postgresql"  # it sums bigints as numeric; SQLite's sums are ints
    found = {
        row[:width]: tuple(map(int, row[width:])) if numeric else row[width:]
        for row in _flags_as_bools(statement.rows(), group_by)
    }
    # A group seen only in a subtracted overhang sums to nothing.
    return {key: values for key, values in _spread(found, shares).items() if values[REQUESTS]}


def _rows(totals: dict, group_by: Sequence[str]) -> list[dict]:
    rows = []
    for key in sorted(totals, key=lambda k: tuple((v is None, str(v)) for v in k)):
        row = dict(zip(group_by, key[1:], strict=True))
        row.update(zip(MEASURE_NAMES, totals[key], strict=True))
        rows.append(row)
    return rows


def rollup_totals(
    start: datetime,
    end: datetime,
    filters: Filters | None = None,
    group_by: Sequence[str] = (),
    *,
    raw: bool = False,
    id_prefix: str = "",
    read: Collection[str] = MEASURE_NAMES,
) -> list[dict]:
    """Counts and exact sums over [start, end) per `group_by` combination: each row has the
    group_by dimensions, then every measure of `measures.MEASURES` (those not in `read` 0).
    `raw=True` computes the same from raw rows only, as does a generation id prefix (which rollups
    cannot answer)."""
    filters = filters or {}
    use_rollups = not raw and not id_prefix and rollups_cover(filters)
    totals = _collect([start, end], filters, group_by, use_rollups=use_rollups, id_prefix=id_prefix, read=read)
    return _rows(totals, group_by)


def rollup_series_measures(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    bucket: str,
    filters: Filters | None = None,
    split_by: Sequence[str] = (),
    *,
    raw: bool = False,
    read: Collection[str] = MEASURE_NAMES,
) -> tuple[list[datetime], dict[tuple, tuple[int, ...]]]:
    """`rollup_totals` per local-calendar bucket of `zone`, without a dict per row, for pages drawing
    thousands of bucket points: (the buckets' UTC edges, {(bucket index, *split values): (the
    MEASURES in order)}), the measures not in `read` 0."""
    filters = filters or {}
    edges = bucket_edges(start, end, zone, bucket)
    use_rollups = not raw and rollups_cover(filters)
    return edges, _collect(edges, filters, split_by, use_rollups=use_rollups, read=read)


def rollup_span_measures(
    edges: list[datetime],
    filters: Filters | None = None,
    group_by: Sequence[str] = (),
    *,
    raw: bool = False,
    read: Collection[str] = MEASURE_NAMES,
) -> dict[tuple, list[int]]:
    """`rollup_series_measures` over spans the caller chooses, [edges[n], edges[n + 1]) (the cost
    check's price periods, which change at any instant): the whole grains inside each span from the
    rollups, the rest of a quarter hour at an edge from raw rows."""
    filters = filters or {}
    return _collect(edges, filters, group_by, use_rollups=not raw and rollups_cover(filters), read=read)


def rollups_version() -> int | None:
    """A value that changes whenever any rollup row is rewritten (a cache key of what is derived
    from them): the daily key rollup's largest id, as a recompute re-inserts rows with new ids."""
    return DailyKeyRollup.objects.aggregate(last=Max("id"))["last"]


def rollup_dimension_values(columns: Sequence[str]) -> dict[str, list[str]]:
    """{column: every non-empty stored value}, from the daily key rollup (every value of every
    stored generation, in tens of thousands of rows) instead of a DISTINCT over the generations."""
    unknown = set(columns) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"no rollup column {', '.join(sorted(unknown))}")
    stored = DailyKeyRollup.objects
    return {
        column: [value for value in stored.order_by(column).values_list(column, flat=True).distinct() if value]
        for column in columns
    }


TAG_TABLES = {"day": DailyTagRollup, "hour": HourlyTagRollup}


def rollup_tag_totals(
    start: datetime, end: datetime, tag_key: str, filters: Filters | None = None, *, raw: bool = False
) -> dict[str, list[int]]:
    """{tag value: [the MEASURES in order]} of the generations in [start, end) tagged `tag_key`:
    from the tag rollups (whole UTC days and hours; raw rows for the rest) without filters, from
    raw rows joined to their tags with any (the tag tables hold no other dimension)."""
    filters = {name: value for name, value in (filters or {}).items() if value is not None}
    tables = {} if raw or filters else TAG_TABLES
    parts = {
        tables[source]._meta.db_table if source in tables else statements.GENERATIONS: pieces
        for source, pieces in pieces_by_source([start, end], list(tables), subtract=True).items()
    }
    if not parts:
        return {}
    sums = {}
    for value, *measures in statements.tag_sums(parts, tag_key, filters).rows():
        measures = [int(measure) for measure in measures]  # PostgreSQL sums bigints as numeric
        if measures[REQUESTS]:  # a value seen only in a subtracted overhang sums to nothing
            sums[value] = measures
    return sums


def rollup_tag_keys() -> list[str]:
    """Every stored tag name, the most requests first, from the daily tag rollup."""
    rows = DailyTagRollup.objects.values_list("tag_key").annotate(seen=Sum("requests")).order_by("-seen", "tag_key")
    return [key for key, _ in rows]


def tag_rollups_version() -> int | None:
    """As `rollups_version`, for the tag rollups (tags may change without the generation)."""
    return DailyTagRollup.objects.aggregate(last=Max("id"))["last"]


# ---------------------------------------------------------------------------------------------
# Reads: histogram bins (percentiles)

KEYLESS_BIN_GRAINS = {"day": RollupHistogram.DAY, "hour": RollupHistogram.HOUR}
# No hourly bins per key: a key's hours at the edges of a range come from raw rows.
KEY_BIN_GRAINS = {"day": RollupHistogram.DAY_KEY}


def rollup_bin_counts(
    start: datetime,
    end: datetime,
    filters: Filters | None = None,
    group_by: Sequence[str] = (),
    kind: str = "latency",
    *,
    raw: bool = False,
) -> dict[tuple, dict[int, int]]:
    """{group_by values: {bin: count}} of latency or throughput bins over [start, end)."""
    return rollup_bin_counts_by_kind(start, end, filters, group_by, (kind,), raw=raw)[kind]


def rollup_bin_counts_by_kind(
    start: datetime,
    end: datetime,
    filters: Filters | None = None,
    group_by: Sequence[str] = (),
    kinds: Sequence[str] = ("latency", "throughput"),
    *,
    raw: bool = False,
) -> dict[str, dict[tuple, dict[int, int]]]:
    """{kind: {group_by values: {bin: count}}}: every kind's bins from the rollups in one query."""
    filters = filters or {}
    used = _used(filters, group_by)
    keyless = used <= set(BIN_DIMENSIONS)
    raw = raw or filters.get(TAG_FILTER) is not None
    use_rollups = not raw and (keyless or used <= {*BIN_DIMENSIONS, "api_key_hash"})
    grains = (KEYLESS_BIN_GRAINS if keyless else KEY_BIN_GRAINS) if use_rollups else {}
    by_source = pieces_by_source([start, end], list(grains))
    raw_pieces = by_source.pop("raw", [])
    counts = {kind: defaultdict(lambda: defaultdict(int)) for kind in kinds}
    if by_source:
        kind_of = {BIN_KINDS[kind]: kind for kind in kinds}
        pieces = [replace(piece, match=grains[source]) for source, part in by_source.items() for piece in part]
        sums: dict[tuple, PackedSum] = defaultdict(PackedSum)
        statement = statements.histograms_by_piece(pieces, filters, list(kind_of), group_by)
        for kind, *group, low, packed in statement.rows():
            sums[(kind_of[kind], *group)].add(low, packed)
        for (kind, *group), total in sums.items():
            for index, count in total.counts().items():
                counts[kind][tuple(group)][index] += count
    for kind in kinds if raw_pieces else ():
        for *group, index, count in statements.bins_by_piece(raw_pieces, filters, kind, group_by).rows():
            counts[kind][tuple(group)][index] += int(count)
    return {kind: {key: dict(bins) for key, bins in groups.items()} for kind, groups in counts.items()}


def rollup_percentiles(
    start: datetime,
    end: datetime,
    filters: Filters | None = None,
    group_by: Sequence[str] = (),
    kind: str = "latency",
    fractions: Sequence[float] = (0.5, 0.95, 0.99),
    *,
    raw: bool = False,
) -> dict[tuple, list[float | None]]:
    counts = rollup_bin_counts(start, end, filters, group_by, kind, raw=raw)
    return {key: percentiles(bins, fractions) for key, bins in counts.items()}


# ---------------------------------------------------------------------------------------------
# Maintenance

# target: (table, the target it is summed from (None: raw rows), time unit). A day is the sum of
# its hours' rollup rows (24 × a few rows instead of every generation of the day), so it comes
# after them.
ROLLUP_TARGETS = {
    "hour": (HourlyRollup, None, "hour"),
    "quarter": (QuarterHourRollup, None, "quarter"),
    "day": (DailyRollup, "hour", "day"),
    "hourkey": (HourlyKeyRollup, None, "hour"),
    "daykey": (DailyKeyRollup, "hourkey", "day"),
    "weekkey": (WeeklyKeyRollup, "daykey", "week"),
}
# The same for the tag rollups: (UTC hour or day, tag name, tag value), from raw rows joined to tags.
TAG_TARGETS = {
    "taghour": (HourlyTagRollup, None, "hour"),
    "tagday": (DailyTagRollup, "taghour", "day"),
}
BIN_TARGETS = {
    RollupHistogram.HOUR: (None, "hour"),
    RollupHistogram.DAY: (RollupHistogram.HOUR, "day"),
    RollupHistogram.DAY_KEY: (None, "day"),
}
KEYED_BIN_GRAINS = {RollupHistogram.DAY_KEY}
TARGETS = (*ROLLUP_TARGETS, *TAG_TARGETS, *BIN_TARGETS)
ROLLUP_TABLES = (
    *(table for table, _, _ in ROLLUP_TARGETS.values()),
    *(table for table, _, _ in TAG_TARGETS.values()),
    RollupHistogram,
)
# A touched generation's tag buckets: its UTC hour and day, every tag of them (no model or key).
TAG_LEVELS = (
    (floor_hour, HOUR, None, ("taghour",)),
    (floor_day, DAY, None, ("tagday",)),
)
# What one touched generation recomputes, finest first: per (UTC hour or day, model or key) its
# bucket of each target.
LEVELS = (
    (floor_hour, HOUR, "model", ("hour", "quarter", RollupHistogram.HOUR)),
    (floor_day, DAY, "model", ("day", RollupHistogram.DAY)),
    (floor_hour, HOUR, "api_key_hash", ("hourkey",)),
    (floor_day, DAY, "api_key_hash", ("daykey", RollupHistogram.DAY_KEY)),
    (floor_week, WEEK, "api_key_hash", ("weekkey",)),
    *TAG_LEVELS,
)


def _dimensions(rollup) -> tuple[str, ...]:
    return DIMENSIONS if any(f.name == "api_key_hash" for f in rollup._meta.fields) else LOW_DIMENSIONS


def _fill_histograms(grain: str, pieces: list[Piece], match: str | None) -> None:
    """Insert the packed histograms of `grain` in `pieces`: counted from raw rows (hours, per-key
    days) or added up from the finer grain's histograms (days). Packing happens here: SQL cannot
    add packed counts."""
    source, unit = BIN_TARGETS[grain]
    if source is None:
        bins: dict[tuple, dict[int, int]] = defaultdict(dict)
        for kind, kind_id in BIN_KINDS.items():
            statement = statements.raw_bins(pieces, unit, kind, per_key=grain in KEYED_BIN_GRAINS, match=match)
            for bucket, key_hash, model, provider, index, count in statement.rows():
                bins[(bucket, key_hash, model, provider, kind_id)][index] = count
        packed = [(*group, *pack(counts)) for group, counts in bins.items()]
    else:
        sums: dict[tuple, PackedSum] = defaultdict(PackedSum)
        for *group, low, counts in statements.stored_histograms(pieces, source, unit, match).rows():
            sums[tuple(group)].add(low, counts)
        packed = [(*group, *total.packed()) for group, total in sums.items()]
    columns = ("grain", "bucket_start", "api_key_hash", "model", "provider", "kind", "low", "counts")
    statements.insert_rows(statements.HISTOGRAMS, columns, [(grain, *row) for row in packed])


def _refill(target: str, pieces: list[Piece], match: str | None) -> None:
    """Recompute the buckets of `target` (a rollup table or a histogram grain) in `pieces` (of the
    model or key `match` names, or all): delete them, then insert their sums afresh."""
    if target in TAG_TARGETS:
        _refill_tags(target, pieces)
        return
    if target in ROLLUP_TARGETS:
        table, source, unit = ROLLUP_TARGETS[target]
        statements.delete_buckets(table._meta.db_table, pieces, match).run()
        source_table = ROLLUP_TARGETS[source][0]._meta.db_table if source else None
        dims = _dimensions(table)
        statements.insert_buckets(table._meta.db_table, pieces, unit, dims, source=source_table, match=match).run()
        return
    statements.delete_buckets(statements.HISTOGRAMS, pieces, match, grain=target).run()
    _fill_histograms(target, pieces, match)


def _refill_tags(target: str, pieces: list[Piece]) -> None:
    """`_refill` of a tag rollup: its hours from raw rows joined to their tags, its days from its hours."""
    table, source, unit = TAG_TARGETS[target]
    statements.delete_buckets(table._meta.db_table, pieces, None).run()
    if source is None:
        statements.insert_tag_buckets(table._meta.db_table, pieces, unit).run()
    else:
        source_table = TAG_TARGETS[source][0]._meta.db_table
        statements.insert_buckets(
            table._meta.db_table, pieces, unit, TAG_DIMENSIONS, source=source_table, match=None
        ).run()


def _lock_weeks(weeks: Iterable[datetime]) -> None:
    """Serialise recomputes of the same UTC weeks across PostgreSQL transactions (SQLite has one
    writer): a day's rows are sums of its hours and a key's week of its days, so two transactions
    recomputing different hours of one week must not both rewrite its day or week."""
    if connection.vendor != "postgresql":
        return
    keys = sorted({zlib.crc32(week.strftime("rollup-week-%Y-%m-%d").encode()) for week in weeks})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%(keys)s::bigint[]) AS k", {"keys": keys})


@dataclass(frozen=True)
class Touch:
    """Where one generation counts: its time, model and key decide every rollup bucket it is in."""

    occurred_at: datetime
    model: str
    api_key_hash: str


def touches_of(queryset: QuerySet) -> set[Touch]:
    """The touches of the generations in `queryset` (call before deleting them, then recompute)."""
    rows = queryset.order_by().values_list("occurred_at", "model", "api_key_hash")
    if not queryset.query.select_for_update:  # PostgreSQL refuses FOR UPDATE with DISTINCT
        rows = rows.distinct()
    return {Touch(floor_hour(at), model, key) for at, model, key in rows}


def rollups_recompute(touches: Iterable[Touch], *, levels: Sequence[tuple] = LEVELS) -> None:
    """Recompute, from raw rows, every rollup bucket the touched generations are or were in: per
    target, one DELETE and one INSERT for all of them (the buckets are one parameter). `levels`:
    only some targets (`TAG_LEVELS` when only tags changed)."""
    touches = {Touch(floor_hour(t.occurred_at), t.model, t.api_key_hash) for t in touches}
    if not touches:
        return
    with transaction.atomic():
        _lock_weeks(floor_week(t.occurred_at) for t in touches)
        for floor, step, column, targets in levels:
            buckets = sorted({(floor(t.occurred_at), getattr(t, column) if column else None) for t in touches})
            pieces = [Piece(start, start + step, match=value) for start, value in buckets]
            for target in targets:
                _refill(target, pieces, column)


def tag_times_follow(tags: QuerySet) -> int:
    """Give `tags` their generation's time again (`GenerationTag.occurred_at`, which tag filters
    read by): after a store that may have moved a generation, and in a rebuild. Returns how many."""
    return tags.update(
        occurred_at=Subquery(Generation.objects.filter(pk=OuterRef("generation_id")).values("occurred_at")[:1])
    )


def _tags_out_of_time() -> QuerySet:
    return GenerationTag.objects.exclude(occurred_at=F("generation__occurred_at"))


def _weeks(start: datetime, end: datetime) -> list[datetime]:
    return [start + n * WEEK for n in range((end - start) // WEEK)]


def rollups_rebuild(start: datetime | None = None, end: datetime | None = None, *, weeks: int = 1) -> int:
    """Recompute every rollup over whole UTC weeks covering [start, end) (default: all data), one
    transaction per `weeks` weeks (and every tag its generation's time). Returns the number of batches."""
    tag_times_follow(_tags_out_of_time())
    if start is None or end is None:
        span = Generation.objects.order_by().aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
        if span["first"] is None:
            with transaction.atomic():
                for table in ROLLUP_TABLES:
                    table.objects.all().delete()
            return 0
        start, end = start or span["first"], end or span["last"] + HOUR
    first, end = floor_week(start), _ceil(end, floor_week, WEEK)
    batches = [(at, min(at + weeks * WEEK, end)) for at in _weeks(first, end)[::weeks]]
    for batch_start, batch_end in batches:
        with transaction.atomic():
            _lock_weeks(_weeks(batch_start, batch_end))
            for target in TARGETS:
                _refill(target, [Piece(batch_start, batch_end)], None)
    # Fresh statistics: without them SQLite may pick the per-key bin index for hour-bin deletes.
    # On PostgreSQL (outside a transaction) VACUUM also clears the rows the rebuild replaced now,
    # not when autovacuum next comes by.
    analyze = "VACUUM ANALYZE" if connection.vendor == "postgresql" and not connection.in_atomic_block else "ANALYZE"
    with connection.cursor() as cursor:
        for table in ROLLUP_TABLES:
            cursor.execute(f"{analyze} {table._meta.db_table}")
    return len(batches)


# ---------------------------------------------------------------------------------------------
# Consistency check


def _check_span(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime] | None:
    """Whole UTC weeks covering every stored generation and rollup row (or [start, end))."""
    everything = Generation.objects.order_by().aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    stored = [table.objects.aggregate(first=Min("bucket_start"), last=Max("bucket_start")) for table in ROLLUP_TABLES]
    firsts = [x["first"] for x in (everything, *stored) if x["first"] is not None]
    lasts = [x["last"] for x in (everything, *stored) if x["last"] is not None]
    if not firsts:
        return None
    return floor_week(start or min(firsts)), _ceil(end or max(lasts) + HOUR, floor_week, WEEK)


def _keyed(rows: Iterable[tuple], width: int) -> dict[tuple, list[int]]:
    """{first `width` values: [the rest as ints]} (PostgreSQL sums bigints as numeric)."""
    return {tuple(row[:width]): [int(value) for value in row[width:]] for row in rows}


def rollups_check(*, start: datetime | None = None, end: datetime | None = None) -> list[str]:
    """Differences between rollups and raw rows (empty when consistent): every bucket of every
    rollup table and bin grain is compared with the same aggregate over raw rows."""
    span = _check_span(start, end)
    if span is None:
        return []
    pieces = [Piece(*span)]
    problems = []
    untimely = _tags_out_of_time().count()
    if untimely:
        problems.append(f"tags: {untimely:,} do not hold their generation's time (tag filters would miss them)")
    for target, (table, _, unit) in ROLLUP_TARGETS.items():
        dims = _dimensions(table)
        expected = _keyed(statements.select_buckets(pieces, unit, dims).rows(), 1 + len(dims))
        stored = _keyed(statements.stored_buckets(table._meta.db_table, unit, dims, *span).rows(), 1 + len(dims))
        problems += _differences(target, expected, stored)
    for target, (table, _, unit) in TAG_TARGETS.items():
        width = 1 + len(TAG_DIMENSIONS)
        expected = _keyed(statements.select_tag_buckets(pieces, unit).rows(), width)
        stored = _keyed(statements.stored_buckets(table._meta.db_table, unit, TAG_DIMENSIONS, *span).rows(), width)
        problems += _differences(target, expected, stored)
    for grain, (_, unit) in BIN_TARGETS.items():
        expected, stored = {}, {}
        for kind, kind_id in BIN_KINDS.items():
            statement = statements.raw_bins(pieces, unit, kind, per_key=grain in KEYED_BIN_GRAINS, match=None)
            expected.update({(*group, kind_id, index): [count] for *group, index, count in statement.rows()})
        for *group, low, packed in statements.stored_histograms(pieces, grain, unit, None).rows():
            stored.update({(*group, index): [count] for index, count in unpack(low, packed).items()})
        problems += _differences(f"bins ({grain})", expected, stored)
    return problems


def _differences(label: str, expected: dict, actual: dict, limit: int = 20) -> list[str]:
    problems = []
    for key in sorted(set(expected) | set(actual), key=str):
        if expected.get(key) != actual.get(key):
            problems.append(f"{label} {key}: raw rows give {expected.get(key)}, rollups hold {actual.get(key)}")
            if len(problems) >= limit:
                problems.append(f"{label}: more differences not listed")
                break
    return problems

"""Pre-aggregated generations ("rollups"): maintenance, reads and a consistency check.

Tables (docs/design.md, "Rollups", says why these grains):

* `WeeklyRollup`, `DailyRollup`, `HourlyRollup`, `QuarterHourRollup`: UTC week (from Monday), day,
  hour and quarter hour × (model, provider, endpoint, BYOK);
* `WeeklyKeyRollup`, `DailyKeyRollup`, `HourlyKeyRollup`: UTC week, day and hour × (API key,
  model, provider, endpoint, BYOK), for anything filtered or grouped by key;
* `RollupHistogram`: latency / throughput histograms (packed: one row each) per (hour, day or
  week) × (model, provider), and per day × (key, model, provider).

Every read splits the requested range (or each local bucket of a series) into whole UTC weeks,
days, hours and half hours, reads each piece from the coarsest table that can answer it (the rest
from raw rows: parts of a half hour, or of an hour when a key is involved) and adds them up,
so results are exactly what the same query over raw rows returns (`raw=True`; the tests compare).
Local days are whole hours in whole-hour zones and whole half hours in half-hour zones, so only
quarter-hour zones (Nepal, Chatham) read raw rows at the edges of their days.

Maintenance never increments: a bucket is recomputed from raw rows (DELETE + INSERT … SELECT …
GROUP BY) in the caller's transaction, so repeating it can never double-count.
"""

import itertools
import json
import operator
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncHour, TruncWeek

from generations.analytics.histograms import PackedSum, pack, percentiles, unpack
from generations.analytics.models import (
    DailyKeyRollup,
    DailyRollup,
    HourlyKeyRollup,
    HourlyRollup,
    LocalDayRollup,
    QuarterHourRollup,
    RollupHistogram,
    WeeklyKeyRollup,
    WeeklyRollup,
)
from generations.analytics.periods import BUCKETS, next_month
from generations.models import Generation

QUARTER_HOUR = timedelta(minutes=15)
HALF_HOUR = timedelta(minutes=30)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

LOW_DIMENSIONS = ("model", "provider", "endpoint", "is_byok")
DIMENSIONS = (*LOW_DIMENSIONS, "api_key_hash")
BIN_DIMENSIONS = ("model", "provider")
MEASURES = (
    "requests",
    "cost_pico",
    "cost_unknown",
    "credits_used_pico",
    "credits_unknown",
    "input_tokens",
    "output_tokens",
    "priced_tokens",
)
BIN_KINDS = {"latency": RollupHistogram.LATENCY, "throughput": RollupHistogram.THROUGHPUT}
BIN_COLUMNS = {"latency": "latency_bin", "throughput": "throughput_bin"}

Filters = dict[str, object]


# ---------------------------------------------------------------------------------------------
# Time helpers


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_half_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    return moment.replace(minute=moment.minute - moment.minute % 30)


def floor_quarter_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    return moment.replace(minute=moment.minute - moment.minute % 15)


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


def _values(value: object) -> list:
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def rollups_cover(filters: Filters) -> bool:
    """Whether rollups can answer queries with these filters (only dimension equality filters)."""
    return all(name in DIMENSIONS for name, value in filters.items() if value is not None)


def _filter_sql(filters: Filters) -> tuple[str, list]:
    """A WHERE condition for dimension filters: each dimension equal to the value or one of the list
    (`None` in an is_byok list matches an unknown flag). Written by hand like every rollup read:
    compiling the same ORM querysets cost more than running them. Names are checked dimensions
    (`_used`); values are query parameters."""
    parts, params = [], []
    for name, value in filters.items():
        if value is None:
            continue
        values = _values(value)
        known = [item for item in values if item is not None]
        terms = [f"{name} IN ({_marks(known)})"] if known else []
        if len(known) < len(values):  # None matches an unknown (NULL) BYOK flag
            terms.append(f"{name} IS NULL")
        parts.append(f"({' OR '.join(terms)})" if terms else "1 = 0")  # an empty list matches nothing
        params += known
    return " AND ".join(parts) or "1 = 1", params


def _marks(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def _used(filters: Filters, group_by: Sequence[str]) -> set[str]:
    names = {name for name, value in filters.items() if value is not None} | set(group_by)
    unknown = names - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"rollups cannot filter or group by {', '.join(sorted(unknown))}")
    return names


# ---------------------------------------------------------------------------------------------
# Splitting a range into pieces each source can answer


@dataclass(frozen=True)
class _Piece:
    source: str  # a grain ("week", "day", "hour", "quarter", "localday") or "raw"
    start: datetime
    end: datetime
    bucket: int


GRAINS = {
    "week": (floor_week, WEEK),
    "day": (floor_day, DAY),
    "hour": (floor_hour, HOUR),
    "quarter": (floor_quarter_hour, QUARTER_HOUR),
}


def _split(start: datetime, end: datetime, grains: Sequence[str], bucket: int) -> list[_Piece]:
    """[start, end) as the whole units of the coarsest grain inside it, then the finer grains on
    either side, and raw rows for what no grain covers."""
    if start >= end:
        return []
    if not grains:
        return [_Piece("raw", start, end, bucket)]
    floor, step = GRAINS[grains[0]]
    first, last = _ceil(start, floor, step), floor(end)
    if first >= last:
        return _split(start, end, grains[1:], bucket)
    return [
        *_split(start, first, grains[1:], bucket),
        _Piece(grains[0], first, last, bucket),
        *_split(last, end, grains[1:], bucket),
    ]


# A bucket of up to this many days that does not start at a UTC midnight (a local day or week)
# is read as 24-hour windows: one row per day and combination instead of its UTC days plus the
# 24 hours at its edges. Longer buckets gain more from weeks.
MAX_WINDOW_DAYS = 7


def _pieces(edges: list[datetime], grains: Sequence[str]) -> list[_Piece]:
    pieces = []
    fixed = [grain for grain in grains if grain in GRAINS]
    for index, (start, end) in enumerate(itertools.pairwise(edges)):
        days = (end - start) // DAY
        if "localday" in grains and 0 < days <= MAX_WINDOW_DAYS and floor_half_hour(start) == start != floor_day(start):
            # Windows from the bucket's start; a DST day's extra or missing hour is left at the end.
            pieces += [_Piece("localday", start + n * DAY, start + (n + 1) * DAY, index) for n in range(days)]
            start += days * DAY
        pieces += _split(start, end, fixed, index)
    return pieces


def _merged(pieces: list[_Piece]) -> list[tuple[datetime, datetime]]:
    """The pieces' time spans with touching spans joined (one range scan instead of many)."""
    spans: list[list[datetime]] = []
    for piece in sorted(pieces, key=lambda p: p.start):
        if spans and spans[-1][1] == piece.start:
            spans[-1][1] = piece.end
        else:
            spans.append([piece.start, piece.end])
    return [(start, end) for start, end in spans]


def _span_sql(pieces: list[_Piece], time_field: str) -> tuple[str, list]:
    """The pieces' merged spans as `(time >= … AND time < …) OR …` and its parameters."""
    spans = _merged(pieces)
    sql = " OR ".join([f"({time_field} >= %s AND {time_field} < %s)"] * len(spans))
    return sql, [_adapt(moment) for span in spans for moment in span]


# The pieces reach SQL as one parameter, a small series each row of the table joins to: the
# statement's text is the same for 1 bucket or 2,000 (a CASE arm per piece once made a 420 KB
# statement PostgreSQL took 145 s to plan). Each piece is one index range scan of `time_field`.
_PIECES_SQL = {
    "sqlite": (
        "(SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end, "
        "json_extract(value, '$[2]') AS piece_bucket FROM json_each(%s)) AS pieces"
    ),
    "postgresql": (
        "unnest(%s::timestamptz[], %s::timestamptz[], %s::int[]) AS pieces(piece_start, piece_end, piece_bucket)"
    ),
}
# A plain join let PostgreSQL scan all 10M raw rows against the pieces (5.6 s, 2.5 s of it JIT);
# a LATERAL subquery it may not flatten (OFFSET 0) is one index range scan per piece.
_JOIN_SQL = {
    "sqlite": "JOIN {table} AS stored ON {join}",
    "postgresql": "CROSS JOIN LATERAL (SELECT * FROM {table} AS stored WHERE {join} OFFSET 0) AS stored",
}
_GROUPED_SQL = """
SELECT pieces.piece_bucket, {keys}{measures}
FROM {pieces}
{joined}
WHERE {where}
GROUP BY {groups}
"""


def _pieces_params(pieces: list[_Piece]) -> list:
    starts, ends = [_adapt(p.start) for p in pieces], [_adapt(p.end) for p in pieces]
    buckets = [p.bucket for p in pieces]
    if connection.vendor == "postgresql":
        return [starts, ends, buckets]
    return [json.dumps(list(zip(starts, ends, buckets, strict=True)))]


def _grouped(table: str, measures: str, where: tuple[str, list], pieces: list[_Piece], time_field: str, keys):
    """Rows of (bucket index, *keys, *measures) for `pieces` of one source, grouped in SQL."""
    if pieces[0].source == "localday":
        # One row per 24 hours from each start: windows starting inside a piece belong to another.
        join = f"stored.{time_field} = pieces.piece_start"
    else:
        join = f"stored.{time_field} >= pieces.piece_start AND stored.{time_field} < pieces.piece_end"
    sql = _GROUPED_SQL.format(
        keys="".join(f"stored.{key}, " for key in keys),
        measures=measures,
        pieces=_PIECES_SQL[connection.vendor],
        joined=_JOIN_SQL[connection.vendor].format(table=table, join=join),
        where=where[0],
        groups=", ".join(str(n) for n in range(1, len(keys) + 2)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_pieces_params(pieces), *where[1]])
        rows = cursor.fetchall()
    byok = keys.index("is_byok") + 1 if "is_byok" in keys else None
    for row in rows:
        if row[len(keys) + 1]:
            # SQLite hands back BYOK flags as 0 / 1.
            yield row if byok is None or row[byok] is None else (*row[:byok], bool(row[byok]), *row[byok + 1 :])


# ---------------------------------------------------------------------------------------------
# Reads: counts and exact sums


# The rollup tables each grain is read from, without and with the API key as a dimension.
KEYLESS_TABLES = {
    "week": WeeklyRollup,
    "day": DailyRollup,
    "localday": LocalDayRollup,
    "hour": HourlyRollup,
    "quarter": QuarterHourRollup,
}
KEY_TABLES = {"week": WeeklyKeyRollup, "day": DailyKeyRollup, "hour": HourlyKeyRollup}


def _collect(edges, filters: Filters, group_by: Sequence[str], *, use_rollups: bool) -> dict:
    keyless = "api_key_hash" not in _used(filters, group_by)
    tables = (KEYLESS_TABLES if keyless else KEY_TABLES) if use_rollups else {}
    by_source = defaultdict(list)
    for piece in _pieces(edges, list(tables)):
        by_source[piece.source].append(piece)
    where = _filter_sql(filters)
    sums = ", ".join(f"SUM({measure})" for measure in MEASURES)
    sources = {grain: (table._meta.db_table, "bucket_start", sums) for grain, table in tables.items()}
    sources["raw"] = (Generation._meta.db_table, "occurred_at", _MEASURE_SQL)
    totals: dict[tuple, list[int]] = {}
    width = 1 + len(group_by)
    for source, source_pieces in by_source.items():
        table, time_field, measures = sources[source]
        for row in _grouped(table, measures, where, source_pieces, time_field, list(group_by)):
            key = tuple(row[:width])
            values = [int(value or 0) for value in row[width:]]  # PostgreSQL sums bigints as numeric
            stored = totals.get(key)  # a bucket's pieces from another grain add to it
            totals[key] = values if stored is None else list(map(operator.add, stored, values))
    return totals


def _rows(totals: dict, group_by: Sequence[str], labels: list | None) -> list[dict]:
    rows = []
    for key in sorted(totals, key=lambda k: tuple((v is None, str(v)) for v in k)):
        row = {} if labels is None else {"bucket": labels[key[0]]}
        row.update(zip(group_by, key[1:], strict=True))
        row.update(zip(MEASURES, totals[key], strict=True))
        rows.append(row)
    return rows


def rollup_totals(
    start: datetime, end: datetime, filters: Filters | None = None, group_by: Sequence[str] = (), *, raw: bool = False
) -> list[dict]:
    """Counts and exact sums over [start, end) per `group_by` combination.

    Each row: the group_by dimensions, then requests, cost_pico (sum of known costs),
    cost_unknown (rows without a cost), credits_used_pico, credits_unknown, input_tokens,
    output_tokens. `raw=True` computes the same from raw rows only.
    """
    filters = filters or {}
    totals = _collect([start, end], filters, group_by, use_rollups=not raw and rollups_cover(filters))
    return _rows(totals, group_by, None)


def rollup_series(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    bucket: str,
    filters: Filters | None = None,
    split_by: Sequence[str] = (),
    *,
    raw: bool = False,
) -> list[dict]:
    """`rollup_totals` per local-calendar bucket of `zone`; each row also has "bucket" (aware, in zone)."""
    edges, totals = rollup_series_measures(start, end, zone, bucket, filters, split_by, raw=raw)
    return _rows(totals, split_by, [edge.astimezone(zone) for edge in edges[:-1]])


def rollup_series_measures(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    bucket: str,
    filters: Filters | None = None,
    split_by: Sequence[str] = (),
    *,
    raw: bool = False,
) -> tuple[list[datetime], dict[tuple, list[int]]]:
    """`rollup_series` without a dict per row, for pages drawing thousands of bucket points:
    (the buckets' UTC edges, {(bucket index, *split values): [the MEASURES in order]})."""
    filters = filters or {}
    edges = bucket_edges(start, end, zone, bucket)
    return edges, _collect(edges, filters, split_by, use_rollups=not raw and rollups_cover(filters))


# ---------------------------------------------------------------------------------------------
# Reads: histogram bins (percentiles)


KEYLESS_BIN_GRAINS = {"week": RollupHistogram.WEEK, "day": RollupHistogram.DAY, "hour": RollupHistogram.HOUR}
# No weekly bins per key: each write would rewrite a week of every touched key's bins.
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


def _histogram_rows(where: tuple[str, list], by_source: dict, grains: dict, kinds: list[int], group_by) -> list[tuple]:
    """(kind, *group_by, low, packed counts) of every grain's pieces, in one statement: an OR of flat
    (grain, kind, one span) terms, each one range of the (grain, kind, bucket_start) index. (Nested
    `grain = … AND (span OR span)` made SQLite scan every row of a grain; a UNION ALL of the ranges
    made PostgreSQL start two parallel workers, 10 ms, for 0.1 ms of index scans.)"""
    terms = [
        (grains[source], kind, _adapt(start), _adapt(end))
        for source, pieces in by_source.items()
        for start, end in _merged(pieces)
        for kind in kinds
    ]
    term = f"(grain = %s AND kind = %s AND bucket_start >= %s AND bucket_start < %s AND {where[0]})"
    columns = ", ".join(["kind", *group_by, "low", "counts"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {RollupHistogram._meta.db_table} WHERE {' OR '.join([term] * len(terms))}",  # noqa: S608
            [param for values in terms for param in (*values, *where[1])],
        )
        return cursor.fetchall()


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
    use_rollups = not raw and (keyless or used <= {*BIN_DIMENSIONS, "api_key_hash"})
    grains = (KEYLESS_BIN_GRAINS if keyless else KEY_BIN_GRAINS) if use_rollups else {}
    by_source = defaultdict(list)
    for piece in _pieces([start, end], list(grains)):
        by_source[piece.source].append(piece)
    where = _filter_sql(filters)
    counts = {kind: defaultdict(lambda: defaultdict(int)) for kind in kinds}
    raw_pieces = by_source.pop("raw", [])
    rows = []  # (kind, *group_by, bin, count)
    if by_source:
        kind_of = {BIN_KINDS[kind]: kind for kind in kinds}
        sums: dict[tuple, PackedSum] = defaultdict(PackedSum)
        for kind, *group, low, packed in _histogram_rows(where, by_source, grains, list(kind_of), group_by):
            sums[(kind_of[kind], *group)].add(low, packed)
        rows += ((*key, index, count) for key, total in sums.items() for index, count in total.counts().items())
    if raw_pieces:
        span, span_params = _span_sql(raw_pieces, "occurred_at")
        params = [*span_params, *where[1]]
        with connection.cursor() as cursor:
            for kind in kinds:
                grouped = ", ".join([*group_by, BIN_COLUMNS[kind]])
                cursor.execute(
                    f"SELECT {grouped}, COUNT(*) FROM {Generation._meta.db_table} "  # noqa: S608
                    f"WHERE ({span}) AND {where[0]} AND {BIN_COLUMNS[kind]} IS NOT NULL GROUP BY {grouped}",
                    params,
                )
                rows += ((kind, *row) for row in cursor.fetchall())
    for kind, *row in rows:
        counts[kind][tuple(row[:-2])][row[-2]] += int(row[-1])
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


def _trunc(unit: str, column: str) -> str:
    """SQL for the UTC start of the `unit` (quarter, hour, day or week from Monday) `column` is in."""
    if connection.vendor == "postgresql":
        utc = f"{column} AT TIME ZONE 'UTC'"
        if unit == "quarter":
            start = f"date_trunc('hour', {utc}) + floor(extract(minute FROM {utc}) / 15) * interval '15 minutes'"
        else:
            start = f"date_trunc('{unit}', {utc})"
        return f"(({start}) AT TIME ZONE 'UTC')"
    if unit == "quarter":
        return (
            f"(strftime('%%Y-%%m-%%d %%H:', {column}) || "
            f"printf('%%02d', CAST(strftime('%%M', {column}) AS INTEGER) / 15 * 15) || ':00')"
        )
    if unit == "week":
        return f"strftime('%%Y-%%m-%%d 00:00:00', {column}, '-6 days', 'weekday 1')"
    return f"strftime('%%Y-%%m-%%d {'%%H' if unit == 'hour' else '00'}:00:00', {column})"


_MEASURE_SQL = (
    "COUNT(*), COALESCE(SUM(cost_pico), 0), SUM(CASE WHEN cost_pico IS NULL THEN 1 ELSE 0 END), "
    "COALESCE(SUM(credits_used_pico), 0), SUM(CASE WHEN credits_used_pico IS NULL THEN 1 ELSE 0 END), "
    "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
    "COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0)"
)

# Spelled out so the (grain, kind, …) indexes serve deletes and day sums (else: a scan of the grain).
_ALL_KINDS = f"kind IN ({', '.join(str(kind) for kind in BIN_KINDS.values())})"

# target: (table, the target it is summed from (None: raw rows), time unit). Coarser grains are sums
# of the finer rollup rows (24 × a few rows per day instead of every generation of the day), so
# each must come after the one it is summed from.
ROLLUP_TARGETS = {
    "hour": (HourlyRollup, None, "hour"),
    "quarter": (QuarterHourRollup, None, "quarter"),
    "day": (DailyRollup, "hour", "day"),
    "week": (WeeklyRollup, "day", "week"),
    "hourkey": (HourlyKeyRollup, None, "hour"),
    "daykey": (DailyKeyRollup, "hourkey", "day"),
    "weekkey": (WeeklyKeyRollup, "daykey", "week"),
}
BIN_TARGETS = {
    RollupHistogram.HOUR: (None, "hour"),
    RollupHistogram.DAY: (RollupHistogram.HOUR, "day"),
    RollupHistogram.WEEK: (RollupHistogram.DAY, "week"),
    RollupHistogram.DAY_KEY: (None, "day"),
}
KEYED_BIN_GRAINS = {RollupHistogram.DAY_KEY}
TARGETS = (*ROLLUP_TARGETS, *BIN_TARGETS)
ROLLUP_TABLES = (*(table for table, _, _ in ROLLUP_TARGETS.values()), LocalDayRollup, RollupHistogram)


def _dimensions(rollup) -> tuple[str, ...]:
    return DIMENSIONS if any(f.name == "api_key_hash" for f in rollup._meta.fields) else LOW_DIMENSIONS


def _fill_sql(target: str, raw_where: str, bucket_where: str) -> str:
    """The INSERT … SELECT … GROUP BY refilling rollup `target` from the raw rows matching raw_where
    (or from the finer rollup rows matching bucket_where, the same spans). Table and column names come from the
    models; every value is a query parameter."""
    table, source, unit = ROLLUP_TARGETS[target]
    dims = ", ".join(_dimensions(table))
    measures = ", ".join(MEASURES)
    insert = f"INSERT INTO {table._meta.db_table} (bucket_start, {dims}, {measures}) "
    if source is None:
        trunc = _trunc(unit, "occurred_at")
        select = f"SELECT {trunc}, {dims}, {_MEASURE_SQL} FROM {Generation._meta.db_table} WHERE {raw_where}"  # noqa: S608
    else:
        trunc = _trunc(unit, "bucket_start")
        sums = ", ".join(f"SUM({measure})" for measure in MEASURES)
        source_table = ROLLUP_TARGETS[source][0]._meta.db_table
        select = f"SELECT {trunc}, {dims}, {sums} FROM {source_table} WHERE {bucket_where}"  # noqa: S608
    return f"{insert}{select} GROUP BY {trunc}, {dims}"


def _fill_histograms(cursor, grain: str, raw_where: str, bucket_where: str, params: list) -> None:
    """Refill the packed histograms of `grain` from the raw rows matching raw_where (hours, per-key
    days), or by adding up the finer grain's histograms matching bucket_where (days, weeks). Packing
    happens here: SQL cannot add packed counts."""
    source, unit = BIN_TARGETS[grain]
    table = RollupHistogram._meta.db_table
    if source is None:
        trunc = _trunc(unit, "occurred_at")
        key, group_key = ("api_key_hash", ", api_key_hash") if grain in KEYED_BIN_GRAINS else ("''", "")
        bins: dict[tuple, dict[int, int]] = defaultdict(dict)
        for kind, column in BIN_COLUMNS.items():
            cursor.execute(
                f"SELECT {trunc}, {key}, model, provider, {column}, COUNT(*) FROM {Generation._meta.db_table} "  # noqa: S608
                f"WHERE ({raw_where}) AND {column} IS NOT NULL GROUP BY {trunc}{group_key}, model, provider, {column}",
                params,
            )
            for bucket, key_hash, model, provider, index, count in cursor.fetchall():
                bins[(bucket, key_hash, model, provider, BIN_KINDS[kind])][index] = count
        packed = [(*group, *pack(counts)) for group, counts in bins.items()]
    else:
        trunc = _trunc(unit, "bucket_start")
        cursor.execute(
            f"SELECT {trunc}, api_key_hash, model, provider, kind, low, counts FROM {table} "  # noqa: S608
            f"WHERE grain = %s AND {_ALL_KINDS} AND ({bucket_where})",
            [source, *params],
        )
        sums: dict[tuple, PackedSum] = defaultdict(PackedSum)
        for bucket, key_hash, model, provider, kind, low, counts in cursor.fetchall():
            sums[(bucket, key_hash, model, provider, kind)].add(low, counts)
        packed = [(*group, *total.packed()) for group, total in sums.items()]
    columns = ("grain", "bucket_start", "api_key_hash", "model", "provider", "kind", "low", "counts")
    _insert(cursor, table, columns, [(grain, *row) for row in packed])


def _refill(cursor, target: str, raw_where: str, params: list) -> None:
    """Recompute the buckets of `target` (a rollup table or a histogram grain) in the spans that
    raw_where selects: delete them, then insert their sums afresh."""
    # The same range condition on bucket_start selects the rollup rows of those spans.
    bucket_where = raw_where.replace("occurred_at", "bucket_start")
    if target in ROLLUP_TARGETS:
        cursor.execute(f"DELETE FROM {ROLLUP_TARGETS[target][0]._meta.db_table} WHERE {bucket_where}", params)  # noqa: S608
        cursor.execute(_fill_sql(target, raw_where, bucket_where), params)
        return
    cursor.execute(
        f"DELETE FROM {RollupHistogram._meta.db_table} WHERE grain = %s AND {_ALL_KINDS} AND ({bucket_where})",  # noqa: S608
        [target, *params],
    )
    _fill_histograms(cursor, target, raw_where, bucket_where, params)


def _refill_local_days(cursor, starts: Iterable[datetime], model: str | None = None, *, chunk: int = 400) -> None:
    """Recompute the 24-hour windows from `starts` (of one model, or all) from the quarter-hour rows.

    Summed in Python from running totals: windows from consecutive half hours share 94 of their 96
    quarter hours, so each window is one difference instead of a 96-row sum (an INSERT … SELECT over a
    join made this two thirds of a batch's rollup maintenance). Every window is recomputed whole;
    only the rows whose sums changed are rewritten (a batch of new generations changes the windows
    of the combinations it holds, not those of every other endpoint and provider of the model)."""
    starts = sorted(set(starts))
    if not starts:
        return
    position = {moment: n for n, moment in enumerate(_steps(starts[0], QUARTER_HOUR, until=starts[-1] + DAY))}
    quarters = QuarterHourRollup.objects.filter(bucket_start__gte=starts[0], bucket_start__lt=starts[-1] + DAY)
    if model is not None:
        quarters = quarters.filter(model=model)
    slots: dict[tuple, list] = defaultdict(lambda: [None] * len(position))
    for moment, *rest in quarters.values_list("bucket_start", *LOW_DIMENSIONS, *MEASURES):
        slots[tuple(rest[: len(LOW_DIMENSIONS)])][position[moment]] = rest[len(LOW_DIMENSIONS) :]
    windows = {}
    for dims, measures in slots.items():
        running = [[0] * len(MEASURES)]  # running[n]: sums of the quarter hours before position n
        for values in measures:
            running.append([a + b for a, b in zip(running[-1], values, strict=True)] if values else running[-1])
        for start in starts:
            before, after = running[position[start]], running[position[start] + DAY // QUARTER_HOUR]
            if after[0] != before[0]:  # some requests in the window (every quarter-hour row has some)
                windows[(start, *dims)] = [b - a for a, b in zip(before, after, strict=True)]
    stale = []
    for offset in range(0, len(starts), chunk):
        stored = LocalDayRollup.objects.filter(bucket_start__in=starts[offset : offset + chunk])
        if model is not None:
            stored = stored.filter(model=model)
        for pk, *row in stored.values_list("pk", "bucket_start", *LOW_DIMENSIONS, *MEASURES):
            key, measures = tuple(row[: 1 + len(LOW_DIMENSIONS)]), row[1 + len(LOW_DIMENSIONS) :]
            if windows.get(key) == measures:
                del windows[key]  # stored as it should be
            else:
                stale.append(pk)
    for offset in range(0, len(stale), chunk):
        part = stale[offset : offset + chunk]
        cursor.execute(f"DELETE FROM {LocalDayRollup._meta.db_table} WHERE id IN ({_marks(part)})", part)  # noqa: S608
    # In start order: a read fetches every combination of a few starts, so each start's rows share pages.
    rows = [
        (_adapt(start), *dims, *measures) for (start, *dims), measures in sorted(windows.items(), key=lambda w: w[0][0])
    ]
    _insert(cursor, LocalDayRollup._meta.db_table, ("bucket_start", *LOW_DIMENSIONS, *MEASURES), rows)


def _insert(cursor, table: str, columns: Sequence[str], rows: list[tuple], *, chunk: int = 500) -> None:
    """Multi-row INSERTs: one statement per `chunk` rows (on PostgreSQL a round trip per row cost
    more than computing the rows)."""
    marks = f"({_marks(columns)})"
    for offset in range(0, len(rows), chunk):
        part = rows[offset : offset + chunk]
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([marks] * len(part))}",  # noqa: S608
            [value for row in part for value in row],
        )


def _steps(start: datetime, step: timedelta, *, until: datetime) -> list[datetime]:
    """start, start + step, … before `until`."""
    return [start + n * step for n in range(-((start - until) // step))]


def _adapt(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _lock_weeks(weeks: Iterable[datetime]) -> None:
    """Serialise recomputes of the same UTC weeks across PostgreSQL transactions (SQLite has one
    writer): a week's rows are sums of its days, so two transactions recomputing different days
    of one week must not both rewrite the week."""
    if connection.vendor != "postgresql":
        return
    keys = sorted({zlib.crc32(week.strftime("rollup-week-%Y-%m-%d").encode()) for week in weeks})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", [keys])


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


def rollups_recompute(touches: Iterable[Touch], *, chunk: int = 200) -> None:
    """Recompute, from raw rows, every rollup bucket the touched generations are or were in."""
    touches = {Touch(floor_hour(t.occurred_at), t.model, t.api_key_hash) for t in touches}
    if not touches:
        return
    # Per grain, finest first (coarser rows are sums of finer ones): the buckets to recompute.
    levels = (
        (floor_hour, HOUR, "model", ("hour", "quarter", RollupHistogram.HOUR)),
        (floor_day, DAY, "model", ("day", RollupHistogram.DAY)),
        (floor_week, WEEK, "model", ("week", RollupHistogram.WEEK)),
        (floor_hour, HOUR, "api_key_hash", ("hourkey",)),
        (floor_day, DAY, "api_key_hash", ("daykey", RollupHistogram.DAY_KEY)),
        (floor_week, WEEK, "api_key_hash", ("weekkey",)),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # A local day may start in the week before the hour it holds.
        _lock_weeks(floor_week(t.occurred_at - shift) for t in touches for shift in (timedelta(0), DAY))
        for floor, step, column, targets in levels:
            keys = sorted({(floor(t.occurred_at), getattr(t, column)) for t in touches})
            for offset in range(0, len(keys), chunk):
                part = keys[offset : offset + chunk]
                where = " OR ".join([f"(occurred_at >= %s AND occurred_at < %s AND {column} = %s)"] * len(part))
                params = [v for start, value in part for v in (_adapt(start), _adapt(start + step), value)]
                for target in targets:
                    _refill(cursor, target, f"({where})", params)
        # Every 24-hour window holding a touched hour: those starting up to 23½ hours before it.
        windows = defaultdict(set)
        for touch in touches:
            windows[touch.model].update(
                _steps(touch.occurred_at - DAY + HALF_HOUR, HALF_HOUR, until=touch.occurred_at + HOUR)
            )
        for model, starts in sorted(windows.items()):
            _refill_local_days(cursor, starts, model)


def rollups_rebuild(start: datetime | None = None, end: datetime | None = None, *, weeks: int = 1) -> int:
    """Recompute every rollup over whole UTC weeks covering [start, end) (default: all data), one
    transaction per `weeks` weeks. Returns the number of batches."""
    if start is None or end is None:
        span = Generation.objects.order_by().aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
        if span["first"] is None:
            with transaction.atomic(), connection.cursor() as cursor:
                for table in ROLLUP_TABLES:
                    cursor.execute(f"DELETE FROM {table._meta.db_table}")  # noqa: S608
            return 0
        start, end = start or span["first"], end or span["last"] + HOUR
    first, end = floor_week(start), _ceil(end, floor_week, WEEK)
    batches = [(at, min(at + weeks * WEEK, end)) for at in _steps(first, weeks * WEEK, until=end)]
    for batch_start, batch_end in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            _lock_weeks(_steps(batch_start, WEEK, until=batch_end))
            params = [_adapt(batch_start), _adapt(batch_end)]
            for target in TARGETS:
                _refill(cursor, target, "occurred_at >= %s AND occurred_at < %s", params)
    # Windows read the quarter hours of the next day: only now are they all rebuilt (and the windows
    # starting in the day before the range hold some of them).
    for batch_start, batch_end in batches:
        windows_start = batch_start - DAY + HALF_HOUR if batch_start == first else batch_start
        with transaction.atomic(), connection.cursor() as cursor:
            _lock_weeks(_steps(floor_week(windows_start), WEEK, until=batch_end))
            _refill_local_days(cursor, _steps(windows_start, HALF_HOUR, until=batch_end))
    # Fresh statistics: without them SQLite may pick the per-key bin index for hour-bin deletes.
    # On PostgreSQL (outside a transaction) VACUUM also clears the rows the rebuild replaced now,
    # not when autovacuum next comes by.
    analyze = "VACUUM ANALYZE" if connection.vendor == "postgresql" and not connection.in_atomic_block else "ANALYZE"
    with connection.cursor() as cursor:
        for table in ROLLUP_TABLES:
            cursor.execute(f"{analyze} {table._meta.db_table}")
    return len(batches)


def rollups_check(*, start: datetime | None = None, end: datetime | None = None) -> list[str]:
    """Differences between rollups and raw rows (empty when consistent): every bucket of every
    rollup table and bin grain is compared with the same aggregate over raw rows."""
    problems = []
    everything = Generation.objects.order_by().aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    stored = [
        table.objects.aggregate(first=Min("bucket_start"), last=Max("bucket_start"))
        for table, _, _ in ROLLUP_TARGETS.values()
    ]
    firsts = [x["first"] for x in (everything, *stored) if x["first"] is not None]
    lasts = [x["last"] for x in (everything, *stored) if x["last"] is not None]
    if not firsts:
        return problems
    start = floor_week(start or min(firsts))
    end = _ceil(end or max(lasts) + HOUR, floor_week, WEEK)
    span = Q(occurred_at__gte=start, occurred_at__lt=end)
    bucket_span = Q(bucket_start__gte=start, bucket_start__lt=end)
    raw = Generation.objects.filter(span)
    for target, (rollup, _, unit) in ROLLUP_TARGETS.items():
        expected = _raw_buckets(raw, unit, _dimensions(rollup))
        problems += _differences(target, expected, _stored_buckets(rollup, bucket_span))
    windows = _stored_buckets(LocalDayRollup, bucket_span)
    problems += _differences("24-hour windows", _local_days_from_quarter_hours(start, end), windows)
    for grain, (_, unit) in BIN_TARGETS.items():
        dims = ("api_key_hash", *BIN_DIMENSIONS) if grain in KEYED_BIN_GRAINS else BIN_DIMENSIONS
        for kind, column in BIN_COLUMNS.items():
            expected = {
                key: [n] for key, n in _raw_bins(raw.filter(**{f"{column}__isnull": False}), unit, dims, column).items()
            }
            stored = RollupHistogram.objects.filter(bucket_span, grain=grain, kind=BIN_KINDS[kind])
            actual = {
                (*group, index): [count]
                for *group, low, packed in stored.values_list("bucket_start", *dims, "low", "counts")
                for index, count in unpack(low, packed).items()
            }
            problems += _differences(f"{kind} bins ({grain})", expected, actual)
    return problems


def _local_days_from_quarter_hours(start: datetime, end: datetime) -> dict[tuple, list[int]]:
    """What the 24-hour windows from [start, end) should hold: sums of the quarter-hour rows (which
    are checked against raw rows)."""
    expected: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(MEASURES))
    rows = QuarterHourRollup.objects.filter(bucket_start__gte=start - DAY, bucket_start__lt=end + DAY)
    for moment, *rest in rows.values_list("bucket_start", *LOW_DIMENSIONS, *MEASURES).iterator(chunk_size=10_000):
        dims, measures = tuple(rest[: len(LOW_DIMENSIONS)]), rest[len(LOW_DIMENSIONS) :]
        # Windows start on the half hours in (moment - 1 day, moment].
        first = floor_half_hour(moment - DAY) + HALF_HOUR
        for window in _steps(max(start, first), HALF_HOUR, until=min(end, floor_half_hour(moment) + HALF_HOUR)):
            sums = expected[(window, *dims)]
            for position, value in enumerate(measures):
                sums[position] += value
    return dict(expected)


def _stored_buckets(rollup, span: Q) -> dict[tuple, list[int]]:
    """{(bucket_start, *dimensions): [measures]} of a rollup table's rows in `span`."""
    dims = _dimensions(rollup)
    rows = rollup.objects.filter(span).values_list("bucket_start", *dims, *MEASURES)
    return {tuple(row[: 1 + len(dims)]): list(row[1 + len(dims) :]) for row in rows}


def _truncated(unit: str):
    if unit == "quarter":
        # The hour plus 15, 30 or 45 minutes (as in the database: Django has no TruncQuarterHour).
        quarter = Case(
            *(When(occurred_at__minute__gte=m, then=Value(timedelta(minutes=m))) for m in (45, 30, 15)),
            default=Value(timedelta(0)),
        )
        return ExpressionWrapper(TruncHour("occurred_at", tzinfo=UTC) + quarter, output_field=DateTimeField())
    return {"hour": TruncHour, "day": TruncDay, "week": TruncWeek}[unit]("occurred_at", tzinfo=UTC)


def _raw_sums() -> dict:
    return {
        "n_requests": Count("id"),
        "n_cost_pico": Sum("cost_pico"),
        "n_cost_unknown": Count("id", filter=Q(cost_pico__isnull=True)),
        "n_credits_used_pico": Sum("credits_used_pico"),
        "n_credits_unknown": Count("id", filter=Q(credits_used_pico__isnull=True)),
        "n_input_tokens": Sum("input_tokens"),
        "n_output_tokens": Sum("output_tokens"),
        "n_priced_tokens": Sum(
            Coalesce("input_tokens", Value(0)) + Coalesce("output_tokens", Value(0)),
            filter=Q(cost_pico__isnull=False),
        ),
    }


def _raw_buckets(raw: QuerySet, unit: str, dims: Sequence[str]) -> dict[tuple, list[int]]:
    rows = raw.annotate(_at=_truncated(unit)).values_list("_at", *dims).annotate(**_raw_sums()).order_by()
    # PostgreSQL gives the half-hour sum (no Trunc, so no converter) as a naive UTC timestamp.
    return {
        (at if at.tzinfo else at.replace(tzinfo=UTC), *row[: len(dims)]): [value or 0 for value in row[len(dims) :]]
        for at, *row in rows
    }


def _raw_bins(raw: QuerySet, unit: str, dims: Sequence[str], column: str) -> dict[tuple, int]:
    rows = raw.annotate(_at=_truncated(unit)).values_list("_at", *dims, column).annotate(n=Count("id"))
    return {tuple(row[:-1]): row[-1] for row in rows.order_by()}


def _differences(label: str, expected: dict, actual: dict, limit: int = 20) -> list[str]:
    problems = []
    for key in sorted(set(expected) | set(actual), key=str):
        if expected.get(key) != actual.get(key):
            problems.append(f"{label} {key}: raw rows give {expected.get(key)}, rollups hold {actual.get(key)}")
            if len(problems) >= limit:
                problems.append(f"{label}: more differences not listed")
                break
    return problems


def rollup_dimension_values(column: str) -> QuerySet:
    """The distinct values of a dimension column (model, provider, endpoint, …) of the stored
    generations, from the daily per-key rollup: tens of thousands of rows, where a DISTINCT over
    every generation reads the whole table (PostgreSQL has no skip scan)."""
    if column not in DIMENSIONS:
        raise ValueError(f"{column!r} is not a rollup dimension.")
    return DailyKeyRollup.objects.order_by(column).values_list(column, flat=True).distinct()

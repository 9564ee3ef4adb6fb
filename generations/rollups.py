"""Pre-aggregated generations ("rollups"): maintenance, reads and a consistency check.

Three tables (see docs/perf.md for why these grains):

* `HourlyRollup`: UTC hour × (model, provider, endpoint, BYOK). Time series and the parts of a
  range that are whole hours; exact local days in every whole-hour time zone.
* `DailyKeyRollup`: UTC day × (API key, model, provider, endpoint, BYOK). The whole UTC days of
  a range for totals, and anything filtered or grouped by key.
* `RollupBin`: latency / throughput histogram counts per (hour or UTC day) × (model, provider).

Every read splits the requested range into whole UTC days, whole hours and partial hours, reads
each piece from the coarsest source that can answer it (partial hours always from raw rows) and
adds them up, so results are exactly what the same query over raw rows returns. The `raw_*`
twins run that query over raw rows; the tests compare the two.

Maintenance never increments: a bucket is recomputed from raw rows (DELETE + INSERT … SELECT …
GROUP BY) in the caller's transaction, so repeating it can never double-count.
"""

import itertools
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Case, Count, IntegerField, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDay, TruncHour

from generations.histograms import percentile
from generations.models import DailyKeyRollup, DailyRollup, Generation, HourlyRollup, RollupBin

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

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
BIN_KINDS = {"latency": RollupBin.LATENCY, "throughput": RollupBin.THROUGHPUT}
BIN_COLUMNS = {"latency": "latency_bin", "throughput": "throughput_bin"}
BUCKETS = ("hour", "day", "week", "month")

Filters = dict[str, object]


# ---------------------------------------------------------------------------------------------
# Time helpers


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return floor_hour(moment).replace(hour=0)


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
            # Local hours as steps of elapsed time: DST changes give neither gaps nor duplicates,
            # and a half-hour zone's hours start at half past the UTC hour, as the local clock says.
            here = edges[-1].astimezone(zone)
            nxt = here.replace(minute=0, second=0, microsecond=0).astimezone(UTC) + HOUR
        else:
            if bucket == "day":
                local += timedelta(days=1)
            elif bucket == "week":
                local += timedelta(days=7)
            else:
                local = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
            nxt = local.replace(tzinfo=zone).astimezone(UTC)
        if nxt >= end:
            edges.append(end.astimezone(UTC))
            return edges
        if nxt > edges[-1]:
            edges.append(nxt)


# ---------------------------------------------------------------------------------------------
# Filters


def _values(value: object) -> list:
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def rollups_cover(filters: Filters) -> bool:
    """Whether rollups can answer queries with these filters (only dimension equality filters)."""
    return all(name in DIMENSIONS for name, value in filters.items() if value is not None)


def _filter_q(filters: Filters) -> Q:
    q = Q()
    for name, value in filters.items():
        if value is None:
            continue
        values = _values(value)
        if name == "is_byok":
            part = Q()
            for flag in values:
                part |= Q(is_byok__isnull=True) if flag is None else Q(is_byok=flag)
            q &= part
        else:
            q &= Q(**{f"{name}__in": values})
    return q


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
    source: str  # "day", "hour" or "raw"
    start: datetime
    end: datetime
    bucket: int


def _pieces(edges: list[datetime], *, day: bool, hour: bool) -> list[_Piece]:
    pieces = []
    for index, (start, end) in enumerate(itertools.pairwise(edges)):
        rest = [(start, end)]
        if day:
            first, last = _ceil(start, floor_day, DAY), floor_day(end)
            if first < last:
                pieces.append(_Piece("day", first, last, index))
                rest = [(start, first), (last, end)]
        for seg_start, seg_end in rest:
            if seg_start >= seg_end:
                continue
            first, last = _ceil(seg_start, floor_hour, HOUR), floor_hour(seg_end)
            if hour and first < last:
                pieces.append(_Piece("hour", first, last, index))
                raw = [(seg_start, first), (last, seg_end)]
            else:
                raw = [(seg_start, seg_end)]
            pieces.extend(_Piece("raw", a, b, index) for a, b in raw if a < b)
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


def _grouped(queryset: QuerySet, pieces: list[_Piece], time_field: str, keys: Sequence[str], sums: dict):
    """Rows of (bucket index, *keys, *sums) for `pieces` of one source."""
    buckets = {piece.bucket for piece in pieces}
    if len(buckets) > 1 and time_field != "bucket_start":
        # Raw pieces are short (partial hours): one indexed range query each beats one query
        # with a long OR, which SQLite answers with a full scan.
        for bucket in sorted(buckets):
            yield from _grouped(queryset, [p for p in pieces if p.bucket == bucket], time_field, keys, sums)
        return
    span = Q()
    for start, end in _merged(pieces):
        span |= Q(**{f"{time_field}__gte": start, f"{time_field}__lt": end})
    queryset = queryset.filter(span)
    if len(buckets) == 1:
        (only,) = buckets
        if not keys:
            result = queryset.order_by().aggregate(**sums)
            if result[next(iter(sums))]:
                yield (only, *result.values())
            return
        for row in queryset.values_list(*keys).annotate(**sums).order_by():
            yield (only, *row)
        return
    # Rollup rows start inside exactly one piece: the first (in time) that ends after the row
    # starts. Grouping by it in SQL returns buckets × keys rows, not hours × keys.
    ordered = sorted(pieces, key=lambda piece: piece.start)
    which = Case(
        *(When(**{f"{time_field}__lt": piece.end}, then=Value(piece.bucket)) for piece in ordered),
        output_field=IntegerField(),
    )
    yield from queryset.annotate(_bucket=which).values_list("_bucket", *keys).annotate(**sums).order_by()


# ---------------------------------------------------------------------------------------------
# Reads: counts and exact sums


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


def _rollup_sums() -> dict:
    return {f"n_{measure}": Sum(measure) for measure in MEASURES}


def _collect(edges, filters: Filters, group_by: Sequence[str], *, use_rollups: bool) -> dict:
    used = _used(filters, group_by)
    keyless = "api_key_hash" not in used
    pieces = _pieces(edges, day=use_rollups, hour=use_rollups and keyless)
    by_source = defaultdict(list)
    for piece in pieces:
        by_source[piece.source].append(piece)
    q = _filter_q(filters)
    sources = {
        "day": (DailyRollup if keyless else DailyKeyRollup, "bucket_start", _rollup_sums()),
        "hour": (HourlyRollup, "bucket_start", _rollup_sums()),
        "raw": (Generation, "occurred_at", _raw_sums()),
    }
    totals: dict[tuple, list[int]] = {}
    for source, source_pieces in by_source.items():
        table, time_field, sums = sources[source]
        for row in _grouped(table.objects.filter(q), source_pieces, time_field, list(group_by), sums):
            key = tuple(row[: 1 + len(group_by)])
            acc = totals.setdefault(key, [0] * len(MEASURES))
            for position, value in enumerate(row[1 + len(group_by) :]):
                acc[position] += int(value or 0)  # PostgreSQL sums bigints as numeric (Decimal)
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
    filters = filters or {}
    edges = bucket_edges(start, end, zone, bucket)
    labels = [edge.astimezone(zone) for edge in edges[:-1]]
    totals = _collect(edges, filters, split_by, use_rollups=not raw and rollups_cover(filters))
    return _rows(totals, split_by, labels)


# ---------------------------------------------------------------------------------------------
# Reads: histogram bins (percentiles)


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
    filters = filters or {}
    used = _used(filters, group_by)
    keyless = used <= set(BIN_DIMENSIONS)
    use_rollups = not raw and (keyless or used <= {*BIN_DIMENSIONS, "api_key_hash"})
    pieces = _pieces([start, end], day=use_rollups, hour=use_rollups and keyless)
    by_source = defaultdict(list)
    for piece in pieces:
        by_source[piece.source].append(piece)
    q = _filter_q(filters)
    counts: dict[tuple, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for source, source_pieces in by_source.items():
        if source == "raw":
            column = BIN_COLUMNS[kind]
            queryset = Generation.objects.filter(q, **{f"{column}__isnull": False})
            rows = _grouped(queryset, source_pieces, "occurred_at", [*group_by, column], {"n": Count("id")})
        else:
            grain = RollupBin.HOUR if source == "hour" else RollupBin.DAY if keyless else RollupBin.DAY_KEY
            queryset = RollupBin.objects.filter(q, grain=grain, kind=BIN_KINDS[kind])
            rows = _grouped(queryset, source_pieces, "bucket_start", [*group_by, "bin"], {"n": Sum("count")})
        for row in rows:
            counts[tuple(row[1:-2])][row[-2]] += int(row[-1])
    return {key: dict(bins) for key, bins in counts.items()}


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
    return {key: [percentile(bins, fraction) for fraction in fractions] for key, bins in counts.items()}


# ---------------------------------------------------------------------------------------------
# Maintenance


def _trunc(unit: str, column: str = "occurred_at") -> str:
    if connection.vendor == "postgresql":
        return f"(date_trunc('{unit}', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    return f"strftime('%%Y-%%m-%%d {'%%H' if unit == 'hour' else '00'}:00:00', {column})"


_MEASURE_SQL = (
    "COUNT(*), COALESCE(SUM(cost_pico), 0), SUM(CASE WHEN cost_pico IS NULL THEN 1 ELSE 0 END), "
    "COALESCE(SUM(credits_used_pico), 0), SUM(CASE WHEN credits_used_pico IS NULL THEN 1 ELSE 0 END), "
    "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
    "COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0)"
)


# Spelled out so the (grain, kind, …) indexes serve deletes and day sums (else: a scan of the grain).
_ALL_KINDS = f"kind IN ({', '.join(str(kind) for kind in BIN_KINDS.values())})"


def _fill_sql(target: str, raw_where: str) -> list[str]:
    """INSERT … SELECT … GROUP BY statements refilling `target` from raw rows matching raw_where.

    Table and column names come from the models; every value is a query parameter.
    """
    raw = Generation._meta.db_table
    low = ", ".join(LOW_DIMENSIONS)
    measures = ", ".join(MEASURES)
    # Day rows without a key are sums of the (already recomputed) hour rows of that day: 24 × a
    # few rows instead of every generation of the day. The same range condition selects them.
    hour_where = raw_where.replace("occurred_at", "bucket_start")
    if target == "hour":
        trunc = _trunc("hour")
        return [
            f"INSERT INTO {HourlyRollup._meta.db_table} (bucket_start, {low}, {measures}) "  # noqa: S608
            f"SELECT {trunc}, {low}, {_MEASURE_SQL} FROM {raw} WHERE {raw_where} GROUP BY {trunc}, {low}"
        ]
    if target == "day":
        trunc = _trunc("day", "bucket_start")
        sums = ", ".join(f"SUM({measure})" for measure in MEASURES)
        return [
            f"INSERT INTO {DailyRollup._meta.db_table} (bucket_start, {low}, {measures}) "  # noqa: S608
            f"SELECT {trunc}, {low}, {sums} FROM {HourlyRollup._meta.db_table} WHERE {hour_where} "
            f"GROUP BY {trunc}, {low}"
        ]
    if target == RollupBin.DAY:
        trunc = _trunc("day", "bucket_start")
        return [
            f"INSERT INTO {RollupBin._meta.db_table} (grain, bucket_start, api_key_hash, model, provider, kind, bin, count) "  # noqa: S608, E501
            f"SELECT '{RollupBin.DAY}', {trunc}, '', model, provider, kind, bin, SUM(count) "
            f"FROM {RollupBin._meta.db_table} WHERE grain = '{RollupBin.HOUR}' AND {_ALL_KINDS} AND ({hour_where}) "
            f"GROUP BY {trunc}, model, provider, kind, bin"
        ]
    if target == "daykey":
        day = _trunc("day")
        return [
            f"INSERT INTO {DailyKeyRollup._meta.db_table} (bucket_start, api_key_hash, {low}, {measures}) "  # noqa: S608
            f"SELECT {day}, api_key_hash, {low}, {_MEASURE_SQL} FROM {raw} WHERE {raw_where} "
            f"GROUP BY {day}, api_key_hash, {low}"
        ]
    trunc = _trunc("hour" if target == RollupBin.HOUR else "day")
    key = "api_key_hash" if target == RollupBin.DAY_KEY else "''"  # grain h or k
    group_key = ", api_key_hash" if target == RollupBin.DAY_KEY else ""
    return [
        f"INSERT INTO {RollupBin._meta.db_table} (grain, bucket_start, api_key_hash, model, provider, kind, bin, count) "  # noqa: S608, E501
        f"SELECT '{target}', {trunc}, {key}, model, provider, {BIN_KINDS[kind]}, {column}, COUNT(*) FROM {raw} "
        f"WHERE ({raw_where}) AND {column} IS NOT NULL GROUP BY {trunc}{group_key}, model, provider, {column}"
        for kind, column in BIN_COLUMNS.items()
    ]


def _delete_sql(target: str, bucket_where: str) -> str:
    if target in ("hour", "day"):
        table = (HourlyRollup if target == "hour" else DailyRollup)._meta.db_table
        return f"DELETE FROM {table} WHERE {bucket_where}"  # noqa: S608
    if target == "daykey":
        return f"DELETE FROM {DailyKeyRollup._meta.db_table} WHERE {bucket_where}"  # noqa: S608
    return f"DELETE FROM {RollupBin._meta.db_table} WHERE grain = '{target}' AND {_ALL_KINDS} AND ({bucket_where})"  # noqa: S608


TARGETS = ("hour", "day", "daykey", RollupBin.HOUR, RollupBin.DAY, RollupBin.DAY_KEY)


def _adapt(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _lock_days(days: Iterable[datetime]) -> None:
    """Serialise recomputes of the same UTC days across PostgreSQL transactions (SQLite has one writer)."""
    if connection.vendor != "postgresql":
        return
    keys = sorted({zlib.crc32(day.strftime("rollup-%Y-%m-%d").encode()) for day in days})
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
    hour_model = sorted({(t.occurred_at, t.model) for t in touches})
    day_model = sorted({(floor_day(t.occurred_at), t.model) for t in touches})
    day_key = sorted({(floor_day(t.occurred_at), t.api_key_hash) for t in touches})
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_days(day for day, _ in day_model)
        for keys, step, column, targets in (
            (hour_model, HOUR, "model", ("hour", RollupBin.HOUR)),
            (day_model, DAY, "model", ("day", RollupBin.DAY)),
            (day_key, DAY, "api_key_hash", ("daykey", RollupBin.DAY_KEY)),
        ):
            for offset in range(0, len(keys), chunk):
                part = keys[offset : offset + chunk]
                bucket_where = " OR ".join([f"(bucket_start = %s AND {column} = %s)"] * len(part))
                bucket_params = [v for start, value in part for v in (_adapt(start), value)]
                raw_where = " OR ".join([f"(occurred_at >= %s AND occurred_at < %s AND {column} = %s)"] * len(part))
                raw_params = [v for s, value in part for v in (_adapt(s), _adapt(s + step), value)]
                for target in targets:
                    cursor.execute(_delete_sql(target, bucket_where), bucket_params)
                    for insert in _fill_sql(target, f"({raw_where})"):
                        cursor.execute(insert, raw_params)


def rollups_rebuild(start: datetime | None = None, end: datetime | None = None, *, step: timedelta = 7 * DAY) -> int:
    """Recompute every rollup over whole UTC days covering [start, end) (default: all data), one
    transaction per `step` of time. Returns the number of batches."""
    if start is None or end is None:
        span = Generation.objects.order_by().aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
        if span["first"] is None:
            with transaction.atomic(), connection.cursor() as cursor:
                for target in TARGETS:
                    cursor.execute(_delete_sql(target, "1 = 1"))
            return 0
        start, end = start or span["first"], end or span["last"] + HOUR
    batch_start, end = floor_day(start), _ceil(end, floor_day, DAY)
    batches = 0
    while batch_start < end:
        batch_end = min(batch_start + step, end)
        with transaction.atomic(), connection.cursor() as cursor:
            _lock_days(batch_start + n * DAY for n in range((batch_end - batch_start).days))
            bucket_params = [_adapt(batch_start), _adapt(batch_end)]
            for target in TARGETS:
                cursor.execute(_delete_sql(target, "bucket_start >= %s AND bucket_start < %s"), bucket_params)
                for insert in _fill_sql(target, "occurred_at >= %s AND occurred_at < %s"):
                    cursor.execute(insert, bucket_params)
        batch_start, batches = batch_end, batches + 1
    # Fresh statistics: without them SQLite may pick the per-key bin index for hour-bin deletes.
    with connection.cursor() as cursor:
        for model in (HourlyRollup, DailyRollup, DailyKeyRollup, RollupBin):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return batches


def rollups_check(*, start: datetime | None = None, end: datetime | None = None) -> list[str]:
    """Differences between rollups and raw rows (empty when consistent): every hourly, daily-key
    and bin bucket is compared with the same aggregate over raw rows."""
    problems = []
    everything = Generation.objects.order_by().aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    stored = [
        HourlyRollup.objects.aggregate(first=Min("bucket_start"), last=Max("bucket_start")),
        DailyRollup.objects.aggregate(first=Min("bucket_start"), last=Max("bucket_start")),
        DailyKeyRollup.objects.aggregate(first=Min("bucket_start"), last=Max("bucket_start")),
    ]
    firsts = [x["first"] for x in (everything, *stored) if x["first"] is not None]
    lasts = [x["last"] for x in (everything, *stored) if x["last"] is not None]
    if not firsts:
        return problems
    start = floor_day(start or min(firsts))
    end = _ceil(end or max(lasts) + HOUR, floor_day, DAY)
    span = Q(occurred_at__gte=start, occurred_at__lt=end)
    bucket_span = Q(bucket_start__gte=start, bucket_start__lt=end)
    raw = Generation.objects.filter(span)
    for label, rollup, dims, grain_unit in (
        ("hourly", HourlyRollup, LOW_DIMENSIONS, "hour"),
        ("daily", DailyRollup, LOW_DIMENSIONS, "day"),
        ("daily-key", DailyKeyRollup, DIMENSIONS, "day"),
    ):
        expected = _raw_buckets(raw, grain_unit, dims)
        actual = {
            (row[0], *row[1 : 1 + len(dims)]): list(row[1 + len(dims) :])
            for row in rollup.objects.filter(bucket_span).values_list("bucket_start", *dims, *MEASURES)
        }
        problems += _differences(label, expected, actual)
    for grain, unit in ((RollupBin.HOUR, "hour"), (RollupBin.DAY, "day"), (RollupBin.DAY_KEY, "day")):
        dims = ("api_key_hash", *BIN_DIMENSIONS) if grain == RollupBin.DAY_KEY else BIN_DIMENSIONS
        for kind, column in BIN_COLUMNS.items():
            expected = {
                key: [n] for key, n in _raw_bins(raw.filter(**{f"{column}__isnull": False}), unit, dims, column).items()
            }
            actual = {
                tuple(row[:-1]): [row[-1]]
                for row in RollupBin.objects.filter(bucket_span, grain=grain, kind=BIN_KINDS[kind]).values_list(
                    "bucket_start", *dims, "bin", "count"
                )
            }
            problems += _differences(f"{kind} bins ({grain})", expected, actual)
    return problems


def _truncated(unit: str):
    return TruncHour("occurred_at", tzinfo=UTC) if unit == "hour" else TruncDay("occurred_at", tzinfo=UTC)


def _raw_buckets(raw: QuerySet, unit: str, dims: Sequence[str]) -> dict[tuple, list[int]]:
    rows = raw.annotate(_at=_truncated(unit)).values_list("_at", *dims).annotate(**_raw_sums()).order_by()
    return {tuple(row[: 1 + len(dims)]): [value or 0 for value in row[1 + len(dims) :]] for row in rows}


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

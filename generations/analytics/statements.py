"""Every SQL statement of the rollups (reads, maintenance, check), each written out whole below.

Written by hand, not with the ORM: compiling the same querysets cost more than running them, and
Django cannot join rows to a list of time spans passed as one parameter.

In the templates, `%(name)s` is a query parameter (pyformat: the same text runs on SQLite and
PostgreSQL through Django's cursor) and `{name}` is text chosen in this module from fixed sets only:
a table name from the models, dimension names checked against `DIMENSIONS`, the measure columns
and aggregates of `measures.MEASURES`, one database's spelling of a fragment (the pieces, the
start of a UTC bucket), or the SQL Django compiled from a queryset (with its own parameters). No
value ever becomes SQL text, so each `# noqa: S608` below is one of these formats.

**Pieces.** A read or a recompute covers a list of time spans (pieces): each is
(start, end, bucket index, match). They reach SQL as ONE parameter, a small table each stored row
joins to, so the text of a statement is the same for 1 bucket or 2,000 (a CASE arm per piece once
made a 420 KB statement PostgreSQL took 145 s to plan). Each piece is one index range scan. `match`,
when a statement uses it, is the value one more column must equal: the model or key of a touched
bucket in a recompute, the grain of a histogram read.
"""

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from generations.analytics.measures import MEASURE_NAMES, MEASURES
from generations.analytics.models import RollupHistogram
from generations.models import Generation, GenerationTag

GENERATIONS = Generation._meta.db_table
HISTOGRAMS = RollupHistogram._meta.db_table
TAGS = GenerationTag._meta.db_table
# Both kinds spelled out where a statement reads or deletes a grain's histograms: the
# (grain, kind, bucket_start) index then serves it (else: a scan of the grain).
ALL_KINDS = [RollupHistogram.LATENCY, RollupHistogram.THROUGHPUT]
LOW_DIMENSIONS = ("model", "provider", "endpoint", "is_byok")
DIMENSIONS = (*LOW_DIMENSIONS, "api_key_hash")
# Columns a statement may filter on besides the dimensions: a histogram's kind.
FILTER_COLUMNS = (*DIMENSIONS, "kind")
# The filter on tags ((name, value) pairs; value None: without that name), on raw rows only: no
# rollup table but the tag ones holds tags, and those hold no other dimension.
TAG_FILTER = "tags"
# The tag rollup tables' dimensions.
TAG_DIMENSIONS = ("tag_key", "tag_value")
BIN_COLUMNS = {"latency": "latency_bin", "throughput": "throughput_bin"}


@dataclass(frozen=True)
class Piece:
    start: datetime
    end: datetime
    bucket: int = 0
    match: str | None = None
    sign: int = 1  # -1: rollup rows subtracted from the bucket (an overhang of a whole day)


@dataclass(frozen=True)
class Statement:
    sql: str
    params: dict[str, object] | tuple  # named; positional only where Django compiled a part

    def rows(self) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            return cursor.fetchall()

    def run(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)


# ---------------------------------------------------------------------------------------------
# Fragments spelled differently by each database

PIECES = {
    "sqlite": """(
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%({name})s)
    LIMIT -1
) AS pieces""",
    "postgresql": """unnest(
    %({name}_starts)s::timestamptz[], %({name}_ends)s::timestamptz[], %({name}_buckets)s::int[],
    %({name}_matches)s::text[], %({name}_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)""",
}
# SQLite's `LIMIT -1` (no limit) keeps it from flattening the pieces into the join: flattened, it
# parsed each piece's JSON again for every stored row joined to it (the sign once per measure),
# half the time of a read.
# Each piece one index range scan of the stored rows: a plain join let PostgreSQL scan all 10M raw
# rows against the pieces (5.6 s), so there it is a LATERAL subquery it may not flatten (OFFSET 0);
# SQLite scanned the histograms (0.4 s) unless a CROSS JOIN (its way to fix the join order) makes
# the pieces the outer loop.
JOIN = {
    "sqlite": "CROSS JOIN {table} AS stored\n    ON {condition}",
    "postgresql": (
        "CROSS JOIN LATERAL (\n    SELECT * FROM {table} AS stored\n    WHERE {condition}\n    OFFSET 0\n) AS stored"
    ),
}
IN_LIST = {
    "sqlite": "stored.{column} IN (SELECT value FROM json_each(%({column})s))",
    "postgresql": "stored.{column} = ANY(%({column})s)",
}
# The UTC start of the quarter hour, hour, day or week (from Monday) a time column is in.
BUCKET_START = {
    "sqlite": {
        "quarter": (
            "strftime('%%Y-%%m-%%d %%H:', {column}) "
            "|| printf('%%02d', CAST(strftime('%%M', {column}) AS INTEGER) / 15 * 15) || ':00'"
        ),
        "hour": "strftime('%%Y-%%m-%%d %%H:00:00', {column})",
        "day": "strftime('%%Y-%%m-%%d 00:00:00', {column})",
        "week": "strftime('%%Y-%%m-%%d 00:00:00', {column}, '-6 days', 'weekday 1')",
    },
    "postgresql": {
        "quarter": "date_bin('15 minutes', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
        "hour": "date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
        "day": "date_trunc('day', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
        "week": "date_trunc('week', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    },
}


def _vendor() -> str:
    return connection.vendor


def adapt(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _pieces(name: str = "pieces") -> str:
    return PIECES[_vendor()].format(name=name)


def _pieces_params(pieces: Sequence[Piece], name: str = "pieces") -> dict[str, object]:
    columns = {
        "starts": [adapt(p.start) for p in pieces],
        "ends": [adapt(p.end) for p in pieces],
        "buckets": [p.bucket for p in pieces],
        "matches": [p.match for p in pieces],
        "signs": [p.sign for p in pieces],
    }
    if _vendor() == "postgresql":
        return {f"{name}_{column}": values for column, values in columns.items()}
    return {name: json.dumps(list(zip(*columns.values(), strict=True)))}


Filters = Mapping[str, object]


def _filter_condition(filters: Filters) -> tuple[list[str], dict[str, object]]:
    """Conditions on `stored` for column filters (each column equal to the value or one of the
    list; `None` in a list matches NULL, an unknown BYOK flag; an empty list matches nothing) and
    their parameters: one list parameter per column, so the text does not grow with the values."""
    conditions, params = [], {}
    for column, value in filters.items():
        if value is None:
            continue
        if column == TAG_FILTER:
            conditions += _tag_conditions(value, params)
            continue
        if column not in FILTER_COLUMNS:
            raise ValueError(f"rollups cannot filter by {column}")
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        known = [item for item in values if item is not None]
        condition = IN_LIST[_vendor()].format(column=column)
        if len(known) < len(values):
            condition = f"({condition} OR stored.{column} IS NULL)"
        conditions.append(condition)
        params[column] = known if _vendor() == "postgresql" else json.dumps(known)
    return conditions, params


# A raw row with a tag: its id among those the tag's (name, value, time) index holds in the row's
# piece, so each piece reads that tag's generations of its span by id (correlated with the piece:
# without the time, a piece would test every generation of its span, 1.5 s over 90 days at 1M).
# Only the first tag filter reads so; SQLite would list a second one's ids again for every row.
TAG_DRIVES = (
    "stored.id IN (SELECT tag.generation_id FROM {tags} AS tag WHERE tag.key = %(tag_key_{number})s "
    "AND tag.value = %(tag_value_{number})s "
    "AND tag.occurred_at >= pieces.piece_start AND tag.occurred_at < pieces.piece_end)"
)
# Any other tag filter: one probe of the (generation, name) index per row read.
TAG_PROBE = (
    "{negation}EXISTS (SELECT 1 FROM {tags} AS tag WHERE tag.generation_id = stored.id "
    "AND tag.key = %(tag_key_{number})s{value})"
)


def _tag_conditions(tags: Sequence[tuple[str, str | None]], params: dict[str, object]) -> list[str]:
    """A raw row's condition per tag filter (on rows joined to pieces), its parameters added to
    `params`: the row has the tag (value None: has no tag of that name). The text grows with the
    number of tag filters (at most filters.MAX_TAGS)."""
    conditions = []
    driven = False
    for number, (key, value) in enumerate(tags):
        params[f"tag_key_{number}"] = key
        if value is None:
            conditions.append(TAG_PROBE.format(negation="NOT ", tags=TAGS, number=number, value=""))
            continue
        params[f"tag_value_{number}"] = value
        if driven:
            value_condition = f" AND tag.value = %(tag_value_{number})s"
            conditions.append(TAG_PROBE.format(negation="", tags=TAGS, number=number, value=value_condition))
        else:
            conditions.append(TAG_DRIVES.format(tags=TAGS, number=number))
            driven = True
    return conditions


def _joined(table: str, time_column: str, conditions: Sequence[str]) -> str:
    condition = "\n    AND ".join(
        [f"stored.{time_column} >= pieces.piece_start AND stored.{time_column} < pieces.piece_end", *conditions]
    )
    return JOIN[_vendor()].format(table=table, condition=condition)


def _columns(names: Sequence[str], prefix: str = "") -> str:
    return "".join(f"{prefix}{name}, " for name in names)


def _keys(names: Sequence[str]) -> str:
    return "".join(f", stored.{name}" for name in names)


def _raw_measures(*, named: bool = False) -> str:
    """Every measure over raw rows; `named`: each as its name (the first part of a UNION names them)."""
    return ",\n    ".join(f"COALESCE({m.raw_sql}, 0){f' AS {m.name}' if named else ''}" for m in MEASURES)


def _summed_measures(read: Collection[str] = MEASURE_NAMES) -> str:
    """Every measure summed; one not in `read` is a constant 0 (its column is never read)."""
    return ",\n    ".join(f"SUM({name})" if name in read else f"0 AS {name}" for name in MEASURE_NAMES)


# ---------------------------------------------------------------------------------------------
# Reads

SUMS_BY_BUCKET = """
SELECT piece_bucket{keys},
    {measures}
FROM (
{parts}
) AS parts
GROUP BY piece_bucket{keys}
"""
# Rollup rows as they are, times their piece's sign.
ROLLUP_PART = """SELECT pieces.piece_bucket{keys},
    {measures}
FROM {pieces}
{joined}"""
# Raw rows summed per piece (never subtracted).
RAW_PART = """SELECT pieces.piece_bucket{keys},
    {measures}
FROM {pieces}
{joined}
GROUP BY pieces.piece_bucket{keys}"""


def sums_by_bucket(
    parts: Mapping[str, Sequence[Piece]],
    filters: Filters,
    keys: Sequence[str],
    *,
    id_prefix: str = "",
    read: Collection[str] = MEASURE_NAMES,
) -> Statement:
    """Rows of (bucket index, *keys, *measures): the rows of each table of `parts` (rollup tables
    or the raw generations) in its pieces, matching `filters` and, for raw rows, an id prefix. One
    statement, so every table is read in one snapshot: a bucket's subtracted pieces always cancel
    rows that the same statement added. Only the measures in `read` are summed, the others are 0:
    a page drawing costs and counts over 720 hours reads a third of the columns (about 40 % less
    time in SQLite)."""
    conditions, params = _filter_condition(filters)
    if id_prefix:
        # As Django's `startswith` on each database: SQLite's LIKE ignores ASCII case.
        conditions.append("stored.generation_id LIKE %(id_prefix)s ESCAPE '\\'")
        params["id_prefix"] = connection.ops.prep_for_like_query(id_prefix) + "%"
    selects = []
    for number, (table, pieces) in enumerate(parts.items()):
        name = f"pieces_{number}"
        raw = table == GENERATIONS
        measures = (
            (f"COALESCE({measure.raw_sql}, 0) AS {measure.name}" for measure in MEASURES if measure.name in read)
            if raw
            else (f"stored.{column} * pieces.piece_sign AS {column}" for column in MEASURE_NAMES if column in read)
        )
        selects.append(
            (RAW_PART if raw else ROLLUP_PART).format(
                keys=_keys(keys),
                measures=",\n    ".join(measures),
                pieces=_pieces(name),
                joined=_joined(table, "occurred_at" if raw else "bucket_start", conditions),
            )
        )
        params.update(_pieces_params(pieces, name))
    sql = SUMS_BY_BUCKET.format(
        keys="".join(f", {key}" for key in keys), measures=_summed_measures(read), parts="\nUNION ALL\n".join(selects)
    )
    return Statement(sql, params)


TOTALS_OF_IDS = """
SELECT {keys}{measures}
FROM {generations} AS stored
WHERE stored.id IN ({ids})
{group_by}"""


def totals_of_ids(ids: QuerySet, group_by: Sequence[str]) -> Statement:
    """Rows of (*group_by, *measures) over the generations whose ids the queryset `ids` selects,
    such as the matches of a text search, which neither rollups nor pieces can answer. Its
    parameters are the queryset's own (positional, as Django compiles it)."""
    if not set(group_by) <= set(DIMENSIONS):
        raise ValueError(f"cannot group generations by {', '.join(group_by)}")
    inner, params = ids.order_by().query.sql_with_params()
    sql = TOTALS_OF_IDS.format(
        keys=_columns(group_by, "stored."),
        measures=_raw_measures(),
        generations=GENERATIONS,
        ids=inner,
        group_by=f"GROUP BY {', '.join(f'stored.{name}' for name in group_by)}\n" if group_by else "",
    )
    return Statement(sql, params)


HISTOGRAMS_BY_PIECE = """
SELECT stored.kind, {keys}stored.low, stored.counts
FROM {pieces}
{joined}
"""


def histograms_by_piece(pieces: Sequence[Piece], filters: Filters, kinds: Sequence[int], keys: Sequence[str]):
    """(kind, *keys, low, packed counts) of the stored histograms of each piece's grain (its match)."""
    conditions, params = _filter_condition({**filters, "kind": list(kinds)})
    sql = HISTOGRAMS_BY_PIECE.format(
        keys=_columns(keys, "stored."),
        pieces=_pieces(),
        joined=_joined(HISTOGRAMS, "bucket_start", ["stored.grain = pieces.piece_match", *conditions]),
    )
    return Statement(sql, {**_pieces_params(pieces), **params})


BINS_BY_PIECE = """
SELECT {keys}stored.{bin}, COUNT(*)
FROM {pieces}
{joined}
GROUP BY {keys}stored.{bin}
"""


def bins_by_piece(pieces: Sequence[Piece], filters: Filters, kind: str, keys: Sequence[str]) -> Statement:
    """(*keys, bin, count) of the raw rows in `pieces` with a known `kind` ("latency", "throughput")."""
    conditions, params = _filter_condition(filters)
    column = BIN_COLUMNS[kind]
    sql = BINS_BY_PIECE.format(
        keys=_columns(keys, "stored."),
        bin=column,
        pieces=_pieces(),
        joined=_joined(GENERATIONS, "occurred_at", [*conditions, f"stored.{column} IS NOT NULL"]),
    )
    return Statement(sql, {**_pieces_params(pieces), **params})


# ---------------------------------------------------------------------------------------------
# Maintenance: a bucket is deleted, then its sums inserted afresh (never incremented)

DELETE_BUCKETS = """
DELETE FROM {table} WHERE id IN (
SELECT stored.id
FROM {pieces}
{joined}
)
"""


def _match_condition(match: str | None) -> list[str]:
    if match is None:
        return []
    if match not in DIMENSIONS:
        raise ValueError(f"cannot match pieces on {match}")
    return [f"stored.{match} = pieces.piece_match"]


def delete_buckets(table: str, pieces: Sequence[Piece], match: str | None, *, grain: str | None = None) -> Statement:
    """Delete the rows of a rollup table (or of one histogram grain) in `pieces`."""
    conditions, params = _match_condition(match), {}
    if grain is not None:
        kinds, params = _filter_condition({"kind": ALL_KINDS})
        conditions = ["stored.grain = %(grain)s", *kinds, *conditions]
        params["grain"] = grain
    sql = DELETE_BUCKETS.format(table=table, pieces=_pieces(), joined=_joined(table, "bucket_start", conditions))
    return Statement(sql, {**_pieces_params(pieces), **params})


SELECT_BUCKETS = """
SELECT {bucket_start} AS bucket_start, {dims},
    {measures}
FROM {pieces}
{joined}
GROUP BY {bucket_start}, {dims}
"""
INSERT_BUCKETS = "INSERT INTO {table} (bucket_start, {dims}, {columns})" + SELECT_BUCKETS


def _bucket_sums(pieces: Sequence[Piece], unit: str, dims: Sequence[str], source: str | None, match: str | None):
    """Formatting arguments of SELECT_BUCKETS: sums per `unit` bucket and `dims` of the raw rows
    (source None) or of the finer rollup table `source`, in `pieces`."""
    time_column = "bucket_start" if source else "occurred_at"
    return {
        "bucket_start": BUCKET_START[_vendor()][unit].format(column=f"stored.{time_column}"),
        "dims": ", ".join(dims),
        "measures": _summed_measures() if source else _raw_measures(),
        "pieces": _pieces(),
        "joined": _joined(source or GENERATIONS, time_column, _match_condition(match)),
    }


def insert_buckets(
    table: str, pieces: Sequence[Piece], unit: str, dims: Sequence[str], *, source: str | None, match: str | None
) -> Statement:
    """Insert the sums of every `unit` bucket × `dims` in `pieces` into `table`, from raw rows or
    from the finer rollup table `source`."""
    sql = INSERT_BUCKETS.format(
        table=table, columns=", ".join(MEASURE_NAMES), **_bucket_sums(pieces, unit, dims, source, match)
    )
    return Statement(sql, _pieces_params(pieces))


def select_buckets(pieces: Sequence[Piece], unit: str, dims: Sequence[str]) -> Statement:
    """What `insert_buckets` from raw rows would insert (for the check)."""
    sql = SELECT_BUCKETS.format(**_bucket_sums(pieces, unit, dims, None, None))
    return Statement(sql, _pieces_params(pieces))


STORED_BUCKETS = """
SELECT {bucket_start} AS bucket_start, {dims}, {columns}
FROM {table} AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s
"""


def stored_buckets(table: str, unit: str, dims: Sequence[str], start: datetime, end: datetime) -> Statement:
    """The rows of a rollup table in [start, end), their bucket starts written as `select_buckets`
    writes them (SQLite: text, which Django would read back as a datetime)."""
    sql = STORED_BUCKETS.format(
        bucket_start=BUCKET_START[_vendor()][unit].format(column="stored.bucket_start"),
        table=table,
        dims=", ".join(dims),
        columns=", ".join(MEASURE_NAMES),
    )
    return Statement(sql, {"start": adapt(start), "end": adapt(end)})


RAW_BINS = """
SELECT {bucket_start} AS bucket_start, {key}, stored.model, stored.provider, stored.{bin}, COUNT(*)
FROM {pieces}
{joined}
GROUP BY {bucket_start}, {key_group}stored.model, stored.provider, stored.{bin}
"""


def raw_bins(pieces: Sequence[Piece], unit: str, kind: str, *, per_key: bool, match: str | None) -> Statement:
    """(bucket start, key, model, provider, bin, count) of the raw rows in `pieces` with a known
    `kind`; key is "" unless `per_key`."""
    column = BIN_COLUMNS[kind]
    bucket_start = BUCKET_START[_vendor()][unit].format(column="stored.occurred_at")
    sql = RAW_BINS.format(
        bucket_start=bucket_start,
        key="stored.api_key_hash" if per_key else "''",
        key_group="stored.api_key_hash, " if per_key else "",
        bin=column,
        pieces=_pieces(),
        joined=_joined(GENERATIONS, "occurred_at", [*_match_condition(match), f"stored.{column} IS NOT NULL"]),
    )
    return Statement(sql, _pieces_params(pieces))


STORED_HISTOGRAMS = """
SELECT {bucket_start} AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.kind,
       stored.low, stored.counts
FROM {pieces}
{joined}
"""


def stored_histograms(pieces: Sequence[Piece], grain: str, unit: str, match: str | None) -> Statement:
    """(bucket start of `unit`, key, model, provider, kind, low, packed counts) of the histograms of
    `grain` in `pieces`: a finer grain's, to add up into a coarser one, or a grain's own (check)."""
    kinds, params = _filter_condition({"kind": ALL_KINDS})
    sql = STORED_HISTOGRAMS.format(
        bucket_start=BUCKET_START[_vendor()][unit].format(column="stored.bucket_start"),
        pieces=_pieces(),
        joined=_joined(HISTOGRAMS, "bucket_start", ["stored.grain = %(grain)s", *kinds, *_match_condition(match)]),
    )
    return Statement(sql, {**_pieces_params(pieces), **params, "grain": grain})


def insert_rows(table: str, columns: Sequence[str], rows: list[tuple], *, chunk: int = 500) -> None:
    """Multi-row INSERTs of rows computed in Python (packed histograms), `chunk` rows a statement:
    the only statements whose text grows, with the rows written (on PostgreSQL a round trip per
    row cost more than computing the rows)."""
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), chunk):
            part = rows[offset : offset + chunk]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([marks] * len(part))}",  # noqa: S608
                [value for row in part for value in row],
            )


# ---------------------------------------------------------------------------------------------
# Tags: sums per value of one tag name (the cost-by-tag chart) and the tag rollup tables

TAG_JOIN = "JOIN {tags} AS tag ON tag.generation_id = stored.id"
# Tag rollup rows as they are, times their piece's sign.
TAG_ROLLUP_PART = """SELECT stored.tag_value AS tag_value,
    {measures}
FROM {pieces}
{joined}"""
# Raw rows with the tag, summed per value.
TAG_RAW_PART = """SELECT tag.value AS tag_value,
    {measures}
FROM {pieces}
{joined}
{tag_join} AND tag.key = %(tag_key)s
GROUP BY tag.value"""
TAG_SUMS = """
SELECT tag_value,
    {measures}
FROM (
{parts}
) AS parts
GROUP BY tag_value
"""


def tag_sums(parts: Mapping[str, Sequence[Piece]], tag_key: str, filters: Filters) -> Statement:
    """Rows of (tag value, *measures) of the generations with a tag named `tag_key`: the rows of
    each table of `parts` (tag rollup tables, or the raw generations joined to their tags) in its
    pieces. `filters` (dimensions, tags) apply to raw rows only: the caller reads rollup tables
    only without them. One statement, as `sums_by_bucket`."""
    conditions, params = _filter_condition(filters)
    params["tag_key"] = tag_key
    selects = []
    for number, (table, pieces) in enumerate(parts.items()):
        name = f"pieces_{number}"
        if table == GENERATIONS:
            select = TAG_RAW_PART.format(
                measures=_raw_measures(named=True),
                pieces=_pieces(name),
                joined=_joined(GENERATIONS, "occurred_at", conditions),
                tag_join=TAG_JOIN.format(tags=TAGS),
            )
        else:
            select = TAG_ROLLUP_PART.format(
                measures=",\n    ".join(f"stored.{column} * pieces.piece_sign AS {column}" for column in MEASURE_NAMES),
                pieces=_pieces(name),
                joined=_joined(table, "bucket_start", ["stored.tag_key = %(tag_key)s"]),
            )
        selects.append(select)
        params.update(_pieces_params(pieces, name))
    sql = TAG_SUMS.format(measures=_summed_measures(), parts="\nUNION ALL\n".join(selects))
    return Statement(sql, params)


SELECT_TAG_BUCKETS = """
SELECT {bucket_start} AS bucket_start, tag.key, tag.value,
    {measures}
FROM {pieces}
{joined}
{tag_join}
GROUP BY {bucket_start}, tag.key, tag.value
"""
INSERT_TAG_BUCKETS = "INSERT INTO {table} (bucket_start, tag_key, tag_value, {columns})" + SELECT_TAG_BUCKETS


def _tag_bucket_sums(pieces: Sequence[Piece], unit: str) -> dict[str, str]:
    return {
        "bucket_start": BUCKET_START[_vendor()][unit].format(column="stored.occurred_at"),
        "measures": _raw_measures(),
        "pieces": _pieces(),
        "joined": _joined(GENERATIONS, "occurred_at", []),
        "tag_join": TAG_JOIN.format(tags=TAGS),
    }


def insert_tag_buckets(table: str, pieces: Sequence[Piece], unit: str) -> Statement:
    """Insert the sums of every `unit` bucket × (tag name, tag value) in `pieces` into `table`,
    from raw rows joined to their tags (a generation counts once under each of its tags)."""
    sql = INSERT_TAG_BUCKETS.format(table=table, columns=", ".join(MEASURE_NAMES), **_tag_bucket_sums(pieces, unit))
    return Statement(sql, _pieces_params(pieces))


def select_tag_buckets(pieces: Sequence[Piece], unit: str) -> Statement:
    """What `insert_tag_buckets` would insert (for the check)."""
    return Statement(SELECT_TAG_BUCKETS.format(**_tag_bucket_sums(pieces, unit)), _pieces_params(pieces))

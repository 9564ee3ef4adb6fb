"""The generation list (keyset pages) and its CSV export, over the same `queries` layer as the dashboard."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.utils.safestring import SafeString

from generations.analytics.filters import NULLABLE_SORTS, SORTS, ListCursor, ListFilters
from generations.analytics.queries import (
    FilterChoices,
    Source,
    Totals,
    filter_choices,
    key_labels,
    source_of,
    totals_by,
)
from generations.body_search import FEW_MATCHES, BodySearch
from generations.display import key_name
from generations.models import Generation
from generations.money import from_pico

# What a CSV row is built from, in its order: generation_export_rows unpacks them so.
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
# The list page shows the same but the credits, and needs the row id for its cursor.
LIST_COLUMNS = ["id", *(column for column in EXPORT_COLUMNS if column != "credits_used_pico")]


@dataclass(frozen=True)
class GenerationPage:
    filters: ListFilters
    # Only on the first page: a later page is a keyset seek, and summing the whole range again
    # on every page turn would cost more than the page itself.
    totals: Totals | None
    rows: list[Generation]
    key_names: dict[str, str]
    next_cursor: str
    sort: str
    choices: FilterChoices
    # A text search's highlighted snippet per row id.
    snippets: dict[int, SafeString]
    # A text search in at least this many bodies (None otherwise): too common to total on a page.
    common_search_matches: int | None


def _list_source(filters: ListFilters, *, raw: bool = False) -> Source:
    body_search = BodySearch.parse(filters.text) if filters.text else None
    return source_of(filters, raw=raw, prefix=filters.q, body_search=body_search)


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
    filters: ListFilters, cursor: ListCursor | None = None, size: int = 50, *, raw: bool = False
) -> GenerationPage:
    """One page of the filtered list; the first page also carries the matching totals, from the
    same layer (rollups when the filters allow) as the dashboard, so the two never disagree."""
    sort = filters.sort
    source = _list_source(filters, raw=raw)
    in_time_order = _sort_column(sort)[0] == "occurred_at"
    rows = _ordered(source.rows(in_time_order=in_time_order), sort).only(*LIST_COLUMNS)
    if cursor:
        rows = _after(rows, sort, cursor)
    page = list(rows[: size + 1])
    more = len(page) > size
    page = page[:size]
    labels = key_labels()
    common = bool(source.body_search and source.body_search.common)
    next_cursor = ListCursor(getattr(page[-1], _sort_column(sort)[0]), page[-1].id).encode() if more else ""
    return GenerationPage(
        filters=filters,
        totals=None if cursor or common else totals_by(source, [])[()],
        rows=page,
        key_names={row.api_key_hash: key_name(row.api_key_hash, labels) for row in page},
        next_cursor=next_cursor,
        sort=sort,
        choices=filter_choices(labels),
        snippets=source.body_search.snippets([row.id for row in page]) if source.body_search else {},
        common_search_matches=FEW_MATCHES if common else None,
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


def generation_export_rows(filters: ListFilters) -> Iterator[list[object]]:
    """The filtered set, row by row from a database cursor (never all in memory, never the bodies)."""
    labels = key_labels()
    zone = filters.tzinfo
    sort = filters.sort
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

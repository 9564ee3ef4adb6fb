from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal

from generations.analytics.models import WeeklyKeyRollup
from generations.analytics.rollups import rollup_dimension_values
from generations.body_search import BodySearch, UnsearchableText
from generations.display import (
    NOTHING,
    format_count,
    format_credits,
    format_fastrouter_minutes,
    format_latency,
    format_significant,
    format_throughput,
    format_usd,
)
from generations.ingest.models import IngestToken, LookupBatch, LookupRequest
from generations.ingest.tokens import ingest_token_create, ingest_token_revoke
from generations.models import Generation, GenerationBody, KeyLabel
from generations.money import from_pico
from generations.selectors import pretty_body


class CappedCountPaginator(Paginator):
    """Never counts a million rows: PostgreSQL's planner estimate for the unfiltered table,
    otherwise an exact count of at most COUNT_CAP rows (later pages are reached by filtering)."""

    COUNT_CAP = 10_000

    @cached_property
    def _count_and_label(self) -> tuple[int, str]:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None:
            return len(queryset), f"{len(queryset):,}"
        if connection.vendor == "postgresql" and not query.where and not query.distinct:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
                )
                estimate = cursor.fetchone()[0]
            if estimate > self.COUNT_CAP:
                return estimate, f"about {estimate:,}"
        count = queryset.order_by()[: self.COUNT_CAP].count()
        return count, f"at least {count:,}" if count >= self.COUNT_CAP else f"{count:,}"

    @property
    def count(self) -> int:
        return self._count_and_label[0]

    @property
    def count_label(self) -> str:
        """What the changelist says: "about" an estimate, "at least" a capped count."""
        return self._count_and_label[1]


# How many index probes an id search may spend finding which spellings (letter cases) of its
# start some stored id has: two per letter (in one statement) while one spelling is left.
MAX_ID_PROBES = 32
# From this many ids in an id search's index ranges on, its page walks the time index instead
# of sorting them all, on SQLite (ColumnSearch.by_id): at a million rows, sorting 65,000 matches
# took 130 ms, counting this many in the index 20 ms; a walk finds 50 in the first 500 rows when a
# tenth of them match (fewer would make the capped count read most of the table).
ID_RANGE_ROWS = 100_000
# PostgreSQL's UPPER() folds these non-ASCII letters to ASCII ones ("ı" to "I", "ſ" to "S").
UPPER_TO_ASCII = {"i": "ı", "s": "ſ"}


def search_words(search_term: str) -> list[str]:
    """The words of an admin search, split as Django's admin splits them (a quoted word unquoted)."""
    words = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        words.append(bit)
    return words


def _cases(character: str) -> set[str]:
    """The characters the admin's case-blind `istartswith` takes `character` to match."""
    cases = {character.lower(), character.upper()}
    if connection.vendor == "postgresql" and character.lower() in UPPER_TO_ASCII:
        cases.add(UPPER_TO_ASCII[character.lower()])
    return cases


def _starts_with(spelling: str) -> Q:
    """Ids starting with `spelling` exactly (case and all), as a range the id index answers."""
    if connection.vendor == "postgresql":
        # Case-sensitive LIKE 'x%': the id's pattern index answers it in any collation.
        return Q(generation_id__startswith=spelling)
    # SQLite compares the column byte by byte: every id starting so lies in the range.
    following = spelling[:-1] + chr(ord(spelling[-1]) + 1)
    return Q(generation_id__gte=spelling, generation_id__lt=following)


def _spellings_in_use(spellings: list[str]) -> list[str]:
    """Those of `spellings` that some stored id starts with: one statement of an index probe each."""
    probes = [
        Generation.objects.filter(_starts_with(spelling)).order_by().values("pk").query.sql_with_params()
        for spelling in spellings
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(f"EXISTS({sql})" for sql, _ in probes),
            [param for _, params in probes for param in params],
        )
        in_use = cursor.fetchone()
    return [spelling for spelling, used in zip(spellings, in_use, strict=True) if used]


def id_prefix_condition(bit: str) -> Q | None:
    """The admin's `^generation_id` (the id starts with `bit`, ignoring case) as a condition the id
    index answers: exactly the same rows. None when `bit` has no ASCII start to narrow by.

    `LIKE` ignoring case cannot use the index, and every spelling of a long prefix is too many
    ranges (2**10 for "chatcmpl-f"), so the spellings are grown letter by letter, keeping those
    some stored id starts with (an index probe each, one statement per letter; usually one is
    left). Ids are checked with the admin's own lookup in the ranges found: past MAX_ID_PROBES
    probes or a non-ASCII character, whose case folding differs between databases, that check
    alone decides the rest."""
    spellings = [""]
    probes = 0
    for character in bit:
        cases = _cases(character)
        if not character.isascii() or (len(cases) > 1 and probes + len(spellings) * len(cases) > MAX_ID_PROBES):
            break
        spellings = [start + case for start in spellings for case in cases]
        if len(cases) > 1:
            probes += len(spellings)
            spellings = _spellings_in_use(spellings)
            if not spellings:
                return Q(pk__in=[])  # no stored id starts so
    if spellings == [""]:
        return None
    ranges = Q.create([_starts_with(spelling) for spelling in spellings], connector=Q.OR)
    return ranges & Q(generation_id__istartswith=bit)


def _id_prefix_can_match(bit: str) -> bool:
    """Whether some generation id starts with `bit` ignoring case, from the id index."""
    condition = id_prefix_condition(bit)
    if condition is None:
        return True  # no ASCII start to narrow by: assume it might (the full search decides)
    return Generation.objects.filter(condition).exists()


def _in_other_columns(bit: str) -> bool:
    """Whether `bit` is in some model, provider or endpoint, or starts some key hash: asked of the
    weekly key rollup, which holds every stored value (6,000 rows at a million generations over 90
    days, against 32,000 in the daily one: about 10 ms instead of 50 on PostgreSQL)."""
    in_columns = Q(model__icontains=bit) | Q(provider__icontains=bit) | Q(endpoint__icontains=bit)
    return WeeklyKeyRollup.objects.filter(in_columns | Q(api_key_hash__istartswith=bit)).exists()


@dataclass(frozen=True)
class ColumnSearch:
    """What GenerationAdmin's search over its columns can find (each word: the id or key hash
    starts with it, or a model, provider or endpoint contains it; every word must match), asked of
    small things instead of `LIKE` over every row: the weekly key rollup and the id index."""

    words: tuple[str, ...]
    in_other_columns: tuple[bool, ...]

    @classmethod
    def of(cls, search_term: str) -> "ColumnSearch":
        words = tuple(search_words(search_term))
        return cls(words, tuple(_in_other_columns(bit) for bit in words))

    def can_match(self) -> bool:
        """False when it surely finds nothing: some word is in no model, provider, endpoint or key
        hash and starts no generation id."""
        words = zip(self.words, self.in_other_columns, strict=True)
        return all(elsewhere or _id_prefix_can_match(bit) for bit, elsewhere in words)

    def by_id(self) -> Q | None:
        """The same search on the id alone, when the id is the only column it can match: no word
        is in any model, provider, endpoint or key hash, so each word's OR over the columns comes
        down to "the id starts with it". None otherwise (or when a word has no ASCII start to
        narrow by): then only the search over every column is exact.

        The index ranges (`id_prefix_condition`), except on SQLite when they hold ID_RANGE_ROWS
        ids or more: a prefix many ids share ("chatcmpl-") is then left to the admin's `istartswith`
        alone, so the page walks the time index and stops after 50, where SQLite's planner, given
        the ranges, reads and sorts them all (5 s at 1M). PostgreSQL's planner knows from its
        statistics of the ids how many a prefix matches, and walks the time index itself."""
        if not self.words or any(self.in_other_columns):
            return None
        conditions = [id_prefix_condition(bit) for bit in self.words]
        if None in conditions:
            return None
        in_ranges = Q.create(conditions)
        if (
            connection.vendor == "postgresql"
            or Generation.objects.filter(in_ranges).order_by()[:ID_RANGE_ROWS].count() < ID_RANGE_ROWS
        ):
            return in_ranges
        return Q.create([Q(generation_id__istartswith=bit) for bit in self.words])


class RollupValuesFilter(admin.AllValuesFieldListFilter):
    """The distinct values of a column from the rollups instead of a DISTINCT over every generation."""

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = rollup_dimension_values([field.name])[field.name]


def _shown(field: str, label: str, show: Callable[[object], str]) -> Callable[[Generation], str]:
    """A read-only field of the change page as the app shows it: dollars, not pico-units; a
    rounded figure with its unit, not a float's 16 digits."""

    @admin.display(description=label, ordering=field)
    def shown(generation: Generation) -> str:
        return show(getattr(generation, field))

    shown.__name__ = f"{field}_shown"
    return shown


# The change page's stored figures, each through the app's display helpers.
SHOWN_FIELDS = {
    "credits_used_pico": _shown("credits_used_pico", "Credits used (USD)", lambda p: format_credits(from_pico(p))),
    "usage_cost_pico": _shown("usage_cost_pico", "Usage cost", lambda p: format_usd(from_pico(p))),
    "cost_pico": _shown("cost_pico", "Cost", lambda p: format_usd(from_pico(p))),
    "input_tokens": _shown("input_tokens", "Input tokens", format_count),
    "output_tokens": _shown("output_tokens", "Output tokens", format_count),
    "total_tokens": _shown("total_tokens", "Total tokens", format_count),
    "avg_response_time_minutes": _shown(
        "avg_response_time_minutes", "Average response time (FastRouter's)", format_fastrouter_minutes
    ),
    "avg_tokens_per_nano": _shown(
        "avg_tokens_per_nano",
        "Speed figure (FastRouter's avg_tokens_per_nano, unit not documented)",
        format_significant,
    ),
    "duration_ms": _shown("duration_ms", "Duration", format_latency),
    "latency_ms": _shown("latency_ms", "Latency", format_latency),
    "output_tokens_per_second": _shown("output_tokens_per_second", "Throughput (ours)", format_throughput),
}


class GenerationBodyInline(admin.StackedInline):
    model = GenerationBody
    can_delete = False
    fields = ["pretty_request", "pretty_response", "pretty_metadata", "bodies_truncated"]
    readonly_fields = fields

    def _pretty(self, value: object) -> str:
        body = pretty_body(value)
        if body is None:
            return NOTHING
        note = " (cut at 256 KB for display)" if body.truncated else ""
        return format_html('<pre class="admin-json">{}</pre>{}', body.text, note)

    @admin.display(description="Request")
    def pretty_request(self, body: GenerationBody) -> str:
        return self._pretty(body.request)

    @admin.display(description="Response")
    def pretty_response(self, body: GenerationBody) -> str:
        return self._pretty(body.response)

    @admin.display(description="Metadata")
    def pretty_metadata(self, body: GenerationBody) -> str:
        return self._pretty(body.metadata)

    def has_add_permission(self, request: HttpRequest, obj: Generation | None = None) -> bool:
        return False


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = [
        "generation_id",
        "occurred_at",
        "model",
        "provider",
        "cost",
        "tokens",
        "latency",
    ]
    list_filter = [
        ("provider", RollupValuesFilter),
        ("model", RollupValuesFilter),
        "is_byok",
        ("endpoint", RollupValuesFilter),
        "occurred_at",
    ]
    search_fields = ["^generation_id", "model", "provider", "^api_key_hash", "endpoint"]
    search_help_text = (
        "Id or key hash (starts with), model, provider or endpoint (contains), or words in the prompt or response."
    )
    ordering = ["-occurred_at", "-id"]
    # No COUNT(*) over the whole table on every page load.
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    inlines = [GenerationBodyInline]
    # Shown through SHOWN_FIELDS instead: not as form inputs holding the raw stored values.
    exclude = list(SHOWN_FIELDS)

    def get_readonly_fields(self, request: HttpRequest, obj: Generation | None = None) -> list:
        return [SHOWN_FIELDS.get(field.name, field.name) for field in Generation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """The columns' search, or the words in the bodies (the list's `?text=` search).

        `LIKE '%word%'` over every row costs seconds at a million rows (in the capped count, or in
        the page when few rows match), so the columns are asked cheaper ways first, finding the
        same rows: an id prefix from the id index alone, when no other column can hold the words;
        nothing at all when no column can."""
        columns = ColumnSearch.of(search_term)
        by_id = columns.by_id()
        try:
            body_search = BodySearch.parse(search_term)
        except UnsearchableText:
            if by_id is not None:
                return queryset.filter(by_id), False
            return super().get_search_results(request, queryset, search_term)
        # Without a column chosen ("o"), the changelist is in time order.
        in_body = body_search.restrict(queryset, in_time_order="o" not in request.GET)
        if by_id is not None:
            return queryset.filter(by_id) | in_body, False
        if not columns.can_match():
            return in_body, False
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return found | in_body, may_have_duplicates

    @admin.display(description="Cost", ordering="cost_pico")
    def cost(self, generation: Generation) -> str:
        return format_usd(from_pico(generation.cost_pico))

    @admin.display(description="Tokens in → out", ordering="total_tokens")
    def tokens(self, generation: Generation) -> str:
        return f"{format_count(generation.input_tokens)} → {format_count(generation.output_tokens)}"

    @admin.display(description="Latency", ordering="latency_ms")
    def latency(self, generation: Generation) -> str:
        return format_latency(generation.latency_ms)


@admin.register(KeyLabel)
class KeyLabelAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "api_key_hash"]
    search_fields = ["name", "team", "api_key_hash"]


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    fields = ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]
    # What a subclass for another token kind (monitoring's read tokens) changes.
    token_create = staticmethod(ingest_token_create)
    grants_access_to = "POST /api/ingest"

    def save_model(self, request: HttpRequest, obj: IngestToken, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = self.token_create(name=obj.name, user=request.user)
        obj.pk, obj.token_hash, obj.prefix = token.pk, token.token_hash, token.prefix
        obj._raw_token = raw  # for response_add, on this request only

    def response_add(self, request: HttpRequest, obj: IngestToken, post_url_continue=None) -> TemplateResponse:
        """The only time the token is shown (it is stored hashed): on this page, never in a message,
        which would sit in a cookie or the session."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Copy the token for “{obj.name}” now",
            "token": obj,
            "raw_token": obj._raw_token,
            "grants_access_to": self.grants_access_to,
        }
        return TemplateResponse(request, "admin/generations/ingesttoken/created.html", context)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset) -> None:
        count = ingest_token_revoke(tokens=queryset)
        self.message_user(request, f"Revoked {count} token(s).")


@admin.register(LookupBatch)
class LookupBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "source", "label", "created_by", "found_count", "new_count", "invalid_count"]
    list_filter = ["source"]
    readonly_fields = [f.name for f in LookupBatch._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(LookupRequest)
class LookupRequestAdmin(admin.ModelAdmin):
    list_display = [
        "generation_id",
        "state",
        "source",
        "attempts",
        "last_error",
        "next_attempt_at",
        "claimed_by",
        "batch",
    ]
    list_filter = ["state", "source"]
    search_fields = ["^generation_id"]
    readonly_fields = [f.name for f in LookupRequest._meta.fields]
    show_full_result_count = False
    list_select_related = ["batch"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

from collections.abc import Callable

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal

from generations.analytics.models import DailyKeyRollup
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


# How many leading characters of an id search narrow it to index ranges: 2**5 ranges at most.
PREFIX_CASE_CHARS = 5
# PostgreSQL's UPPER() folds these non-ASCII letters to ASCII ones ("ı" to "I", "ſ" to "S").
UPPER_TO_ASCII = {"i": "ı", "s": "ſ"}


def _id_prefix_can_match(bit: str) -> bool:
    """Whether some generation id starts with `bit` ignoring case (the admin's `^generation_id`),
    answered from the id index: LIKE ignoring case reads every id, so the query asks for the
    ranges of each spelling of the first letters instead, and checks those few ids exactly."""
    head = ""
    for character in bit[:PREFIX_CASE_CHARS]:
        if not character.isascii():
            break
        head += character
    if not head:
        return True  # no ASCII start to narrow by: assume it might (the full search decides)
    spellings = {""}
    for character in head:
        cases = {character.lower(), character.upper()}
        if connection.vendor == "postgresql" and character.lower() in UPPER_TO_ASCII:
            cases.add(UPPER_TO_ASCII[character.lower()])
        spellings = {start + case for start in spellings for case in cases}
    ranges = Q()
    for spelling in spellings:
        if connection.vendor == "postgresql":
            # Case-sensitive LIKE 'x%': the id's pattern index answers it in any collation.
            ranges |= Q(generation_id__startswith=spelling)
        else:
            # SQLite compares the column byte by byte: every id starting so lies in the range.
            following = spelling[:-1] + chr(ord(spelling[-1]) + 1)
            ranges |= Q(generation_id__gte=spelling, generation_id__lt=following)
    return Generation.objects.filter(ranges).filter(generation_id__istartswith=bit).exists()


def column_search_can_match(search_term: str) -> bool:
    """False when GenerationAdmin's column search surely finds nothing: some word of it is in no
    model, provider, endpoint or key hash (the daily key rollup holds every stored value) and
    starts no generation id. Django's admin splits the words the same way."""
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        # The id index first: a few index ranges, where the rollup check reads its whole table.
        if _id_prefix_can_match(bit):
            continue
        in_columns = Q(model__icontains=bit) | Q(provider__icontains=bit) | Q(endpoint__icontains=bit)
        if not DailyKeyRollup.objects.filter(in_columns | Q(api_key_hash__istartswith=bit)).exists():
            return False
    return True


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
        """The columns' search, or the words in the bodies (the list's `?text=` search)."""
        try:
            body_search = BodySearch.parse(search_term)
        except UnsearchableText:
            return super().get_search_results(request, queryset, search_term)
        # Without a column chosen ("o"), the changelist is in time order.
        in_body = body_search.restrict(queryset, in_time_order="o" not in request.GET)
        # A word of the bodies is rarely in a column, and `LIKE '%word%'` over every row just to
        # find that out costs seconds in the capped count: ask the small tables first.
        if not column_search_can_match(search_term):
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

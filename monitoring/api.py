"""The read API (/api/v1/…): the dashboard's and the list's figures as JSON, for scripts and notebooks.

Views validate with the pages' own filter forms (the same parameters, the same messages, as JSON
400s) and read through `figures.py`, the selectors the pages use. Money is exact decimal text,
times ISO 8601 with the offset of the selection's zone (UTC for stored instants).
"""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from generations.display import key_name
from generations.money import from_pico
from monitoring.figures import (
    DashboardFilterForm,
    DashboardFilters,
    GenerationListFilterForm,
    Totals,
    generation_detail,
    generation_page,
    key_labels,
    selection_latency_percentiles,
    selection_series,
    selection_totals,
    selection_totals_by,
    sum_totals,
)
from monitoring.openapi import openapi_document
from monitoring.rate_limit import read_rate_limit_take, too_many_requests
from monitoring.tokens import INSUFFICIENT_SCOPE, is_ingest_token, read_token_of

# /api/v1/breakdown/<dimension> → the Generation column it groups by (team: the keys' labels)
BREAKDOWN_COLUMNS = {
    "model": "model",
    "provider": "provider",
    "endpoint": "endpoint",
    "key": "api_key_hash",
    "team": "api_key_hash",
    "byok": "is_byok",
}


def money(amount: Decimal | None) -> str | None:
    """Exact decimal text, never an exponent (1E-12) nor a float."""
    return None if amount is None else format(amount, "f")


def instant(moment: datetime | None, zone=None) -> str | None:
    return None if moment is None else (moment.astimezone(zone) if zone else moment).isoformat()


def totals_json(totals: Totals) -> dict:
    return {
        "requests": totals.requests,
        "priced_requests": totals.priced_requests,
        "unknown_cost_requests": totals.unknown_cost_requests,
        "cost_usd": money(totals.cost),
        "credits_used": money(totals.credits),
        "average_cost_usd": money(totals.average_cost),
        "cost_per_1k_tokens_usd": money(totals.cost_per_1k_tokens),
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "byok_requests": totals.byok_requests,
    }


def _error(messages: list[str], status: int) -> JsonResponse:
    response = JsonResponse({"errors": messages}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fastrouter-dash read"'
    elif status == 403:
        response["WWW-Authenticate"] = 'Bearer realm="fastrouter-dash read", error="insufficient_scope"'
    return response


def read_api(view):
    """GET only, a read token instead of a login session, at most READ_API_RATE_LIMIT a minute."""

    @login_not_required
    @require_GET
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
        token = read_token_of(request)
        if token is None and is_ingest_token(request):
            return _error([INSUFFICIENT_SCOPE], 403)
        if token is None:
            return _error(["A valid read token is required: send Authorization: Bearer <token>."], 401)
        retry_after = read_rate_limit_take(token_id=token.pk)
        if retry_after is not None:
            return too_many_requests(retry_after=retry_after)
        return view(request, *args, **kwargs)

    return wrapper


def _selection(filters: DashboardFilters) -> dict:
    return {
        "start": instant(filters.start, filters.tzinfo),
        "end": instant(filters.end, filters.tzinfo),
        "zone": filters.zone,
        "bucket": filters.bucket,
        "parameters": filters.params(),
    }


def filtered_by(form_class):
    """Validate the query string with a page's filter form: the view gets the valid form after the
    request, an invalid one is answered 400 with the page's messages."""

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
            form = form_class(request.GET, default_zone=settings.TIME_ZONE)
            if not form.is_valid():
                return _error(form.error_messages(), 400)
            return view(request, form, *args, **kwargs)

        return wrapper

    return decorate


@read_api
@filtered_by(DashboardFilterForm)
def summary(request: HttpRequest, form: DashboardFilterForm) -> JsonResponse:
    filters = form.filters()
    p50, p95 = selection_latency_percentiles(filters, (0.5, 0.95))
    return JsonResponse(
        {
            "selection": _selection(filters),
            "totals": totals_json(selection_totals(filters)),
            "latency_ms": {"p50": p50, "p95": p95},
        }
    )


@read_api
@filtered_by(DashboardFilterForm)
def breakdown(request: HttpRequest, form: DashboardFilterForm, dimension: str) -> JsonResponse:
    column = BREAKDOWN_COLUMNS.get(dimension)
    if column is None:
        return _error([f"Unknown dimension {dimension!r}: use one of {', '.join(BREAKDOWN_COLUMNS)}."], 404)
    filters = form.filters()
    groups = selection_totals_by(filters, column)
    labels = key_labels() if column == "api_key_hash" else {}
    if dimension == "team":
        by_team = defaultdict(list)
        for key, totals in groups.items():
            by_team[labels[key].team if key in labels else ""].append(totals)
        groups = {team: sum_totals(parts) for team, parts in by_team.items()}
    rows = []
    for value, totals in groups.items():
        row = {dimension: value, **totals_json(totals)}
        if dimension == "key":
            row["key_name"] = key_name(value, labels)
        rows.append(row)
    rows.sort(key=lambda row: (-Decimal(row["cost_usd"] or 0), -row["requests"], str(row[dimension])))
    return JsonResponse({"selection": _selection(filters), "dimension": dimension, "rows": rows})


@read_api
@filtered_by(DashboardFilterForm)
def series(request: HttpRequest, form: DashboardFilterForm) -> JsonResponse:
    filters = form.filters()
    points = [
        {"start": instant(start, filters.tzinfo), filters.split: value, **totals_json(totals)}
        for (start, value), totals in sorted(
            selection_series(filters).items(), key=lambda item: (item[0][0], str(item[0][1]))
        )
    ]
    return JsonResponse({"selection": _selection(filters), "split": filters.split, "points": points})


def generation_json(generation, key_names: dict[str, str]) -> dict:
    return {
        "generation_id": generation.generation_id,
        "occurred_at": instant(generation.occurred_at),
        "model": generation.model,
        "provider": generation.provider,
        "api_key_hash": generation.api_key_hash,
        "key_name": key_names.get(generation.api_key_hash),
        "endpoint": generation.endpoint,
        "byok": generation.is_byok,
        "cost_usd": money(from_pico(generation.cost_pico)),
        "input_tokens": generation.input_tokens,
        "output_tokens": generation.output_tokens,
        "latency_ms": generation.latency_ms,
        "output_tokens_per_second": generation.output_tokens_per_second,
    }


@read_api
@filtered_by(GenerationListFilterForm)
def generations(request: HttpRequest, form: GenerationListFilterForm) -> JsonResponse:
    page = generation_page(form.filters(), form.cursor, size=form.page_size)
    return JsonResponse(
        {
            "selection": _selection(page.filters),
            "totals": totals_json(page.totals) if page.totals else None,
            "generations": [generation_json(row, page.key_names) for row in page.rows],
            # Pass it back as ?after=… (with the same parameters) for the next page; "" on the last.
            "next_after": page.next_cursor,
        }
    )


@read_api
def generation(request: HttpRequest, generation_id: str) -> JsonResponse:
    detail = generation_detail(generation_id=generation_id)
    if detail is None:
        return _error([f"No stored generation {generation_id!r}."], 404)
    row = detail.generation
    names = {
        row.api_key_hash: key_name(row.api_key_hash, {row.api_key_hash: detail.key_label} if detail.key_label else {})
    }
    return JsonResponse(
        {
            **generation_json(row, names),
            "team": detail.key_label.team if detail.key_label else "",
            "credits_used": money(from_pico(row.credits_used_pico)),
            "usage_cost_usd": money(from_pico(row.usage_cost_pico)),
            "fetched_at": instant(row.fetched_at),
        }
    )


@login_not_required  # a description of the API, nothing stored: tools fetch it without a token
@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(dimensions=tuple(BREAKDOWN_COLUMNS)), json_dumps_params={"indent": 2})

"""The Cost check and What-if pages and their CSVs: the dashboard's filter form, one selector, render."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from generations.analytics.filters import DEFAULT_SORT, DashboardFilterForm, ListCursor
from generations.analytics.views import bad_filters, csv_download, filter_form_context, viewer_zone
from generations.money import from_pico
from pricing import selectors, usage

GAP_HEADER = ["Model", "Checked generations", "Charged (USD)", "Expected (USD)", "Difference (USD)"]
REPRICED_HEADER = [
    "Model",
    "Requests",
    "Input tokens",
    "Output tokens",
    "Charged (USD)",
    "Re-priced (USD)",
    "Saving (USD)",
]


class WhatIfForm(DashboardFilterForm):
    model_to = forms.CharField(max_length=200, required=False, label="Re-price on")


class OverToleranceForm(DashboardFilterForm):
    after = forms.CharField(max_length=400, required=False)

    def clean_after(self) -> ListCursor | None:
        text = self.cleaned_data["after"].strip()
        return ListCursor.decode(text, sort=DEFAULT_SORT) if text else None


@dataclass(frozen=True)
class Frame:
    """What the shared page frame (templates/pricing/page.html) shows around a page's figures."""

    title: str
    lede: str
    url_name: str
    figures: str  # the template of the figures, rendered inside the filters' swapped body


COST_CHECK = Frame(
    "Cost check",
    "What FastRouter charged against what the catalogue's prices say each call should have cost: input tokens × "
    "prompt price + output tokens × completion price + the per-request price, at the price in force when the call "
    "was made.",
    "cost-check",
    "pricing/cost_check.html",
)
OVER_TOLERANCE = Frame(
    "Generations over the tolerance",
    "Generations whose charge differs from the catalogue's price by more than the tolerance, newest first.",
    "cost-check-over-tolerance",
    "pricing/over_tolerance.html",
)
WHAT_IF = Frame(
    "What if…",
    "What the same calls would have cost on another model: the same token counts at its current catalogue prices.",
    "what-if",
    "pricing/what_if.html",
)


def _context(form: DashboardFilterForm, request: HttpRequest, frame: Frame) -> dict:
    return {
        **filter_form_context(form, request),
        "frame": frame,
        "choices": usage.choices(),
        "filters": form.filters() if form.is_valid() else None,
    }


def _page(
    request: HttpRequest, frame: Frame, form_class: type[DashboardFilterForm], figures: Callable[..., dict]
) -> HttpResponse:
    """A pricing page: its form validated, `figures(form, filters)` (one selector) added, rendered in
    the frame (the body alone for htmx)."""
    form = form_class(request.GET, default_zone=viewer_zone(request))
    context = _context(form, request, frame)
    if context["filters"]:
        context.update(figures(form, context["filters"]))
    if request.htmx:
        return render(request, "pricing/page.html#body", context)
    return render(request, "pricing/page.html", context, status=400 if context["errors"] else 200)


@require_GET
def cost_check(request: HttpRequest) -> HttpResponse:
    return _page(
        request, COST_CHECK, DashboardFilterForm, lambda form, filters: {"check": selectors.cost_check(filters)}
    )


@require_GET
def cost_check_over_tolerance(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        OVER_TOLERANCE,
        OverToleranceForm,
        lambda form, filters: {
            "flagged": selectors.flagged_page(filters, form.cleaned_data["after"]),
            "tolerance": selectors.tolerance(),
        },
    )


@require_GET
def what_if(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        WHAT_IF,
        WhatIfForm,
        lambda form, filters: {"what_if": selectors.what_if(filters, form.cleaned_data["model_to"].strip())},
    )


def _gap_rows(gaps: list[selectors.Gap], total: selectors.Gap) -> Iterable[list[object]]:
    yield GAP_HEADER
    for gap in [*gaps, total]:
        yield [gap.label, gap.checked, gap.charged, gap.expected, gap.difference]


def _flagged_rows(filters) -> Iterable[list[object]]:
    yield [
        "Generation id",
        "Time (UTC)",
        "Model",
        "BYOK",
        "Input tokens",
        "Output tokens",
        "Charged (USD)",
        "Expected (USD)",
    ]
    for row in selectors.flagged_rows(filters):
        yield [
            row.generation_id,
            row.occurred_at.isoformat(),
            row.model,
            {True: "yes", False: "no"}.get(row.is_byok, ""),
            row.input_tokens,
            row.output_tokens,
            from_pico(row.charged_pico),
            from_pico(row.expected_pico),
        ]


@require_GET
def cost_check_csv(request: HttpRequest, table: str) -> HttpResponse:
    form = DashboardFilterForm(request.GET, default_zone=viewer_zone(request))
    if table not in ("models", "byok-models", "flagged"):
        raise Http404("No such table")
    if not form.is_valid():
        return bad_filters(form)
    if table == "flagged":
        return csv_download("cost-check-flagged.csv", _flagged_rows(form.filters()))
    check = selectors.cost_check(form.filters())
    if table == "models":
        return csv_download("cost-check-models.csv", _gap_rows(check.models, check.platform))
    return csv_download("cost-check-byok-models.csv", _gap_rows(check.byok_models, check.byok))


def _repriced_cells(row: selectors.Repriced) -> list[object]:
    return [row.model, row.requests, row.input_tokens, row.output_tokens, row.charged, row.repriced, row.saving]


@require_GET
def what_if_csv(request: HttpRequest, table: str) -> HttpResponse:
    form = WhatIfForm(request.GET, default_zone=viewer_zone(request))
    if table not in ("repriced", "alternatives"):
        raise Http404("No such table")
    if not form.is_valid():
        return bad_filters(form)
    result = selectors.what_if(form.filters(), form.cleaned_data["model_to"].strip())
    if table == "repriced":
        rows = (
            [REPRICED_HEADER, *(_repriced_cells(row) for row in [*result.rows, result.total])]
            if result.rows
            else [REPRICED_HEADER]
        )
        return csv_download("what-if.csv", rows)
    header = [
        "Current model",
        "Alternative",
        "Context length",
        "Charged (USD)",
        "Re-priced (USD)",
        "Saving (USD)",
        "p50 latency (ms)",
        "p50 tokens/s",
    ]
    rows = [header]
    for model, options in result.alternatives.items():
        rows.extend(
            [
                model,
                option.model,
                option.context_length,
                option.repriced.charged,
                option.repriced.repriced,
                option.repriced.saving,
                option.p50_latency_ms,
                option.p50_tokens_per_second,
            ]
            for option in options
        )
    return csv_download("cheaper-alternatives.csv", rows)

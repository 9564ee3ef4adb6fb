"""The analytics pages: dashboard, generation list, CSV downloads.

Views only validate the query string with a filter form, call one analytics selector and
render. Every number they show comes from `generations.analytics.queries`.
"""

import zoneinfo
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from generations.analytics import dashboard as dashboards
from generations.analytics import listing
from generations.analytics.filters import (
    BYOK_CHOICES,
    DEFAULT_SORT,
    RANGE_CHOICES,
    SORTS,
    DashboardFilterForm,
    GenerationListFilterForm,
)
from generations.csv_cells import csv_lines
from generations.middleware import SESSION_TIME_ZONE_KEY
from generations.selectors import viewer_saved_zone
from pricing.selectors import model_rates

# The zone picker's ~600 <option>s, built once: through the template engine on every page they
# cost more than some of the charts.
ZONE_OPTIONS = format_html_join("", '<option value="{}">', ((name,) for name in sorted(zoneinfo.available_timezones())))
# (sort name, column title, numeric) in the order the list shows them.
SORT_COLUMNS = [
    ("occurred_at", "Time", False),
    ("model", "Model", False),
    ("provider", "Provider", False),
    ("cost", "Cost", True),
    ("latency", "Latency", True),
    ("input_tokens", "Input tokens", True),
    ("output_tokens", "Output tokens", True),
]


def viewer_zone(request: HttpRequest) -> str:
    """The viewer's saved reporting zone, mirrored into the session (one query per session)."""
    name = request.session.get(SESSION_TIME_ZONE_KEY)
    if name is None:
        name = viewer_saved_zone(user=request.user)
        request.session[SESSION_TIME_ZONE_KEY] = name
    return name or settings.TIME_ZONE


def filter_form_context(form: DashboardFilterForm, request: HttpRequest) -> dict:
    """What the filter form (generations/_filters.html) needs, on every page that shows it (pricing's too)."""
    return {
        "form": form,
        "errors": [] if form.is_valid() else form.error_messages(),
        "range_choices": RANGE_CHOICES,
        "byok_choices": BYOK_CHOICES,
        "zone_options": ZONE_OPTIONS,
        "saved_zone": viewer_zone(request),
    }


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return _filtered_page(
        request, DashboardFilterForm, "generations/dashboard.html", "dashboard-body", _dashboard_figures
    )


def _dashboard_figures(form: DashboardFilterForm) -> dict:
    board = dashboards.dashboard(form.filters())
    models = [row.label for row in board.charts_by_slug["cost-by-model"].rows]
    return {
        "board": board,
        "filters": board.filters,
        "choices": board.choices,
        "model_rates": model_rates(board.filters, models),
    }


def _filtered_page(
    request: HttpRequest,
    form_class: type[DashboardFilterForm],
    template: str,
    partial: str,
    figures: Callable[[DashboardFilterForm], dict],
) -> HttpResponse:
    """A page of the filter form: `figures(form)` (one selector) when the query string is valid,
    its messages otherwise (a 400); the body `partial` alone for htmx."""
    form = form_class(request.GET, default_zone=viewer_zone(request))
    context = filter_form_context(form, request)
    if form.is_valid():
        context.update(figures(form))
    if request.htmx:
        # htmx swaps only 2xx answers; the message in the body says what was wrong.
        return _partial(request, f"{template}#{partial}", context)
    return render(request, template, context, status=200 if form.is_valid() else 400)


def _partial(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """The swapped part, with the address bar showing the selection's tidy, shareable URL."""
    response = render(request, template, context)
    if "filters" in context:
        push_url(response, f"{request.path}?{context['filters'].querystring()}")
    return response


def csv_download(filename: str, rows: Iterable[list[object]]) -> StreamingHttpResponse:
    """A CSV file streamed as a download (pricing's tables too): every cell through `csv_lines`."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def bad_filters(form: DashboardFilterForm) -> HttpResponse:
    """The 400 of a CSV link whose filters do not validate: the form's messages as plain text."""
    return HttpResponse("\n".join(form.error_messages()), status=400, content_type="text/plain; charset=utf-8")


@require_GET
def dashboard_chart_csv(request: HttpRequest, chart: str) -> HttpResponse:
    form = DashboardFilterForm(request.GET, default_zone=viewer_zone(request))
    if not form.is_valid():
        return bad_filters(form)
    table = dashboards.dashboard_chart(form.filters(), chart)
    if table is None:
        raise Http404("No such chart")
    header = table.csv_columns or table.columns
    rows = [header, *([row.label, *(cell.value for cell in row.cells)] for row in table.rows)]
    return csv_download(f"{table.slug}.csv", rows)


def _sort_links(form: GenerationListFilterForm) -> dict[str, str]:
    """Per column, the URL that sorts by it (descending first, then toggling)."""
    filters = form.filters()
    current = filters.sort
    links = {}
    for name in SORTS:
        target = name if current == f"-{name}" else f"-{name}"
        links[name] = "?" + filters.querystring(sort=target, after="")
    return links


@require_GET
def generation_list(request: HttpRequest) -> HttpResponse:
    return _filtered_page(
        request, GenerationListFilterForm, "generations/generation_list.html", "list-body", _list_figures
    )


def _list_figures(form: GenerationListFilterForm) -> dict:
    page = listing.generation_page(form.filters(), form.cursor, size=form.page_size)
    return {
        "page": page,
        "filters": page.filters,
        "choices": page.choices,
        "sort_links": _sort_links(form),
        "sort_columns": SORT_COLUMNS,
        "sort": page.sort,
        "default_sort": DEFAULT_SORT,
    }


@require_GET
def generation_export(request: HttpRequest) -> HttpResponse:
    form = GenerationListFilterForm(request.GET, default_zone=viewer_zone(request))
    if not form.is_valid():
        return bad_filters(form)
    return csv_download("generations.csv", _with_header(listing.generation_export_rows(form.filters())))


def _with_header(rows: Iterator[list[object]]) -> Iterator[list[object]]:
    yield listing.EXPORT_HEADER
    yield from rows

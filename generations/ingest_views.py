"""Bulk import pages, batch progress, and the token-authenticated ingest API."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generations import ingest_selectors, queue
from generations.access import fetch_required
from generations.forms import ImportConfirmForm, ImportForm
from generations.id_import import ParsedIds
from generations.ingest_tokens import ingest_token_authenticate
from generations.models import LookupBatch

INVALID_SHOWN = 200


@require_http_methods(["GET", "POST"])
@fetch_required
def import_ids(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "confirm" in request.POST:
        confirm = ImportConfirmForm(request.POST)
        if confirm.is_valid():
            data = confirm.cleaned_data
            batch = queue.generation_enqueue(
                ids=data["ids_list"],
                source=data["source"],
                user=request.user,
                label=data["label"],
                invalid=data["invalid"],
            )
            messages.success(request, f"Queued {batch.new_count:,} new ids of {batch.found_count:,}.")
            return redirect("batch-detail", pk=batch.pk)
        for error in confirm.non_field_errors():
            messages.error(request, error)
        return redirect("import")

    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            parsed: ParsedIds = form.cleaned_data["parsed"]
            context.update(
                parsed=parsed,
                invalid_shown=parsed.invalid[:INVALID_SHOWN],
                counts=queue.generation_import_preview(
                    ids=parsed.ids, invalid=len(parsed.invalid), duplicates=parsed.duplicates
                ),
                confirm=ImportConfirmForm.for_preview(
                    ids=parsed.ids,
                    source=form.cleaned_data["source"],
                    label=form.cleaned_data["label"],
                    invalid=len(parsed.invalid),
                ),
            )
        else:
            status = 400
    return render(request, "generations/import.html", context, status=status)


@require_GET
def batch_list(request: HttpRequest) -> HttpResponse:
    return render(request, "generations/batch_list.html", {"rows": ingest_selectors.recent_batches()})


@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(LookupBatch.objects.select_related("created_by"), pk=pk)
    context = {
        "batch": batch,
        "progress": ingest_selectors.batch_progress(batch=batch),
        "problems": ingest_selectors.batch_problems(batch=batch),
    }
    # When finished, the partial renders without hx-trigger, which ends the polling.
    template = "generations/batch_detail.html#batch-progress" if request.htmx else "generations/batch_detail.html"
    return render(request, template, context)


@require_POST
@fetch_required
def batch_retry(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(LookupBatch, pk=pk)
    count = queue.generation_batch_retry_failed(batch=batch, user=request.user)
    if count:
        messages.success(request, f"Queued {count:,} ids again.")
    else:
        messages.info(request, "Nothing to retry: no id of this batch failed.")
    return redirect("batch-detail", pk=batch.pk)


def _api_error(message: str, status: int) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fastrouter-dash ingest"'
    return response


@csrf_exempt  # bearer-token API for applications: no cookies, so no CSRF to defend against
@login_not_required
@require_POST
def ingest_api(request: HttpRequest) -> JsonResponse:
    scheme, _, raw_token = request.headers.get("Authorization", "").partition(" ")
    token = ingest_token_authenticate(raw=raw_token) if scheme.lower() == "bearer" else None
    if token is None:
        return _api_error("A valid ingest token is required: send Authorization: Bearer <token>.", 401)
    limit = settings.INGEST_MAX_IDS_PER_REQUEST
    try:
        body = request.body
    except RequestDataTooBig:
        return _api_error(f"The request body is too large; send at most {limit:,} ids per request.", 413)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return _api_error('The body must be JSON: a list of ids, or {"ids": [...]}.', 400)
    if isinstance(document, dict):
        document = document.get("ids")
    if not isinstance(document, list):
        return _api_error('The body must be JSON: a list of ids, or {"ids": [...]}.', 400)
    if len(document) > limit:
        return _api_error(f"{len(document):,} ids sent; at most {limit:,} are accepted per request.", 413)
    parsed = ParsedIds(format="api")
    for number, item in enumerate(document, start=1):
        parsed.add(item, f"item {number}")
    result = {"queued": 0, "already_stored": 0, "already_queued": 0, "batch": None}
    if parsed.ids:
        batch = queue.generation_enqueue(
            ids=parsed.ids, source=LookupBatch.Source.API, label=token.name, invalid=len(parsed.invalid)
        )
        result = {
            "queued": batch.new_count,
            "already_stored": batch.already_stored_count,
            "already_queued": batch.already_queued_count,
            "batch": batch.pk,
        }
    result["invalid"] = [{"item": e.location, "reason": e.reason} for e in parsed.invalid]
    return JsonResponse(result, status=202 if parsed.ids else 200)

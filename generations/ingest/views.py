"""Bulk import pages, batch progress, and the token-authenticated ingest API."""

import json
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generations.access import fetch_required
from generations.ingest import otlp, queue
from generations.ingest import selectors as ingest_selectors
from generations.ingest.forms import CoverageForm, ImportConfirmForm, ImportForm
from generations.ingest.models import IngestToken, LookupBatch
from generations.ingest.parsing import ParsedIds
from generations.ingest.tags import InvalidTags, clean_tags
from generations.ingest.tokens import ingest_token_authenticate
from generations.ingest.uploads import PasteAsFileHandler

logger = logging.getLogger(__name__)


@csrf_exempt  # only to add the upload handler first: import_page checks CSRF
@require_http_methods(["GET", "POST"])
@fetch_required
def import_ids(request: HttpRequest) -> HttpResponse:
    # Before anything reads the body: a paste larger than Django's limit on form fields is read as a file.
    request.upload_handlers.insert(0, PasteAsFileHandler(request, field_name="text"))
    return import_page(request)


@csrf_protect
def import_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "confirm" in request.POST:
        confirm = ImportConfirmForm(request.POST)
        try:
            if not confirm.is_valid():
                raise queue.PreviewGone
            batch = queue.generation_import_confirm(pending_id=confirm.cleaned_data["pending"], user=request.user)
        except queue.PreviewGone as gone:
            messages.error(request, gone.user_message)
            return redirect("import")
        messages.success(request, f"Queued {batch.new_count:,} new ids of {batch.found_count:,}.")
        return redirect("batch-detail", pk=batch.pk)

    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    context: dict = {"form": form}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            parsed: ParsedIds = form.cleaned_data["parsed"]
            staged = queue.generation_import_stage(
                ids=parsed.ids,
                user=request.user,
                source=form.cleaned_data["source"],
                label=form.cleaned_data["label"],
                invalid=parsed.invalid_count,
                duplicates=parsed.duplicates,
            )
            context.update(
                parsed=parsed,
                invalid_shown=parsed.invalid,  # the first parsing.KEPT_INVALID
                counts=staged.counts,
                confirm=ImportConfirmForm(initial={"pending": staged.pending.pk}) if staged.pending else None,
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
        "waiting": ingest_selectors.batch_waiting(batch=batch),
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


@require_GET
def coverage_page(request: HttpRequest) -> HttpResponse:
    """Ids received per source, what became of them, how long storing took, and whether ids expire unfetched."""
    form = CoverageForm(request.GET)
    if not form.is_valid():
        return render(request, "generations/coverage.html", {"form": form}, status=400)
    report = ingest_selectors.coverage(length=form.length)
    return render(request, "generations/coverage.html", {"form": form, "coverage": report})


BODY_FORMATS = (
    'a list of ids, {"ids": [...]}, or {"items": [{"id": ..., "tags": {...}}, ...]}; '
    'either object may add "tags" (for every id) and "source".'
)
# Who may say what through the API: the other sources are the Import page's, the command line's and the demo's.
API_SOURCES = (LookupBatch.Source.API, LookupBatch.Source.REPORTER)


class _BadIngestBody(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _HandedOver:
    parsed: ParsedIds
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # id → its tags, for ids that have any
    source: str = LookupBatch.Source.API


def _read_ingest_document(document: object, *, limit: int) -> _HandedOver:
    """The ids, tags and source of a JSON body: a bad body raises _BadIngestBody; a bad id or an id's bad tags
    only make that item invalid, reported in the answer."""
    common: dict[str, str] = {}
    source = LookupBatch.Source.API
    if isinstance(document, dict):
        unknown = sorted(set(document) - {"ids", "items", "tags", "source"})
        if unknown:
            raise _BadIngestBody(f"Unknown field {unknown[0]!r}. The body must be {BODY_FORMATS}")
        if "ids" in document and "items" in document:
            raise _BadIngestBody('Send either "ids" or "items", not both.')
        if "tags" in document:
            try:
                common = clean_tags(document["tags"])
            except InvalidTags as error:
                raise _BadIngestBody(f"tags: {error}") from None
        source = document.get("source", source)
        if source not in API_SOURCES:
            raise _BadIngestBody(f"source must be one of {', '.join(map(repr, map(str, API_SOURCES)))}.")
        entries = document.get("items", document.get("ids"))
        with_tags = "items" in document
    else:
        entries, with_tags = document, False
    if not isinstance(entries, list):
        raise _BadIngestBody(f"The body must be {BODY_FORMATS}")
    if len(entries) > limit:
        raise _BadIngestBody(f"{len(entries):,} ids sent; at most {limit:,} are accepted per request.", 413)
    handed_over = _HandedOver(parsed=ParsedIds(format="api", keep_invalid=limit), source=source)
    parsed = handed_over.parsed
    for number, entry in enumerate(entries, start=1):
        location = f"item {number}"
        tags = common
        if with_tags:
            if not isinstance(entry, dict) or set(entry) - {"id", "tags"} or "id" not in entry:
                parsed.reject(location, entry, 'not an object {"id": ..., "tags": {...}}')
                continue
            try:
                # Its own tags win over the common ones; the two together are checked against the limits again.
                tags = clean_tags({**common, **clean_tags(entry["tags"])}) if "tags" in entry else common
            except InvalidTags as error:
                parsed.reject(location, entry["id"], f"tags: {error}")
                continue
            entry = entry["id"]
        known = len(parsed.ids)
        parsed.add(entry, location)
        if tags and len(parsed.ids) > known:
            handed_over.tags[parsed.ids[-1]] = tags
    return handed_over


UNAUTHENTICATED_MESSAGE = "A valid ingest token is required: send Authorization: Bearer <token>."


def _bearer_token(request: HttpRequest) -> IngestToken | None:
    scheme, _, raw_token = request.headers.get("Authorization", "").partition(" ")
    return ingest_token_authenticate(raw=raw_token) if scheme.lower() == "bearer" else None


def _refusal_headers(response: HttpResponse, status: int) -> HttpResponse:
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fastrouter-dash ingest"'
    elif status == 405:
        response["Allow"] = "POST"
    return response


def _api_error(message: str, status: int) -> JsonResponse:
    return _refusal_headers(JsonResponse({"error": message}, status=status), status)


@csrf_exempt  # bearer-token API for applications: no cookies, so no CSRF to defend against
@login_not_required
def ingest_api(request: HttpRequest) -> JsonResponse:
    """Always answers JSON, an unexpected failure too (never Django's HTML error page)."""
    try:
        return _ingest(request)
    except Exception:
        logger.exception("POST /api/ingest failed")  # the traceback holds no token: it is only in the headers
        return _api_error("The ids could not be queued because of an internal error; nothing was queued.", 500)


def _ingest(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return _api_error("Only POST is allowed: send the ids as a JSON body.", 405)
    token = _bearer_token(request)
    if token is None:
        return _api_error(UNAUTHENTICATED_MESSAGE, 401)
    limit = settings.INGEST_MAX_IDS_PER_REQUEST
    try:
        body = request.body
    except RequestDataTooBig:
        return _api_error(f"The request body is too large; send at most {limit:,} ids per request.", 413)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return _api_error(f"The body must be JSON: {BODY_FORMATS}", 400)
    except RecursionError:
        return _api_error(f"The JSON is nested too deeply. The body must be {BODY_FORMATS}", 400)
    try:
        handed_over = _read_ingest_document(document, limit=limit)
    except _BadIngestBody as error:
        return _api_error(str(error), error.status)
    parsed = handed_over.parsed
    result = {"queued": 0, "already_stored": 0, "already_queued": 0, "batch": None}
    if parsed.ids:
        batch = queue.generation_enqueue(
            ids=parsed.ids,
            source=handed_over.source,
            label=token.name,
            invalid=parsed.invalid_count,
            tags=handed_over.tags,
            ingest_token=token,
        )
        result = {
            "queued": batch.new_count,
            "already_stored": batch.already_stored_count,
            "already_queued": batch.already_queued_count,
            "batch": batch.pk,
        }
    result["invalid"] = [{"item": e.location, "reason": e.reason} for e in parsed.invalid]
    return JsonResponse(result, status=202 if parsed.ids else 200)


@csrf_exempt  # bearer-token API for exporters: no cookies, so no CSRF to defend against
@login_not_required
def ingest_otlp_traces(request: HttpRequest) -> HttpResponse:
    """OTLP/HTTP traces (see otlp.py). Answers in the request's encoding, as the OTLP specification asks:
    an ExportTraceServiceResponse, or a google.rpc.Status with an error status."""
    media_type = otlp.answer_media_type(request.content_type)
    try:
        body = _otlp_export(request, media_type)
    except otlp.OtlpRefused as refused:
        status = refused.status
        body = otlp.encode_refusal(message=str(refused), status=status, media_type=media_type)
    except Exception:
        logger.exception("POST /api/ingest/otlp/v1/traces failed")  # no token in the traceback: it is in a header
        status = 500
        message = "The spans could not be read because of an internal error; nothing was queued."
        body = otlp.encode_refusal(message=message, status=status, media_type=media_type)
    else:
        status = 200
    return _refusal_headers(HttpResponse(body, content_type=media_type, status=status), status)


def _otlp_export(request: HttpRequest, media_type: str) -> bytes:
    if request.method != "POST":
        raise otlp.OtlpRefused("Only POST is allowed: export spans with an OTLP/HTTP exporter.", 405)
    token = _bearer_token(request)
    if token is None:
        raise otlp.OtlpRefused(UNAUTHENTICATED_MESSAGE, 401)
    limit = settings.OTLP_MAX_BODY_BYTES
    too_large = otlp.OtlpRefused(f"The body is larger than {limit:,} bytes; export smaller batches.", 413)
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    # Read directly, not through request.body: DATA_UPLOAD_MAX_MEMORY_SIZE is for forms, an export has its own limit.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_large
    export = otlp.decode_export(
        body,
        content_type=request.content_type,
        content_encoding=request.headers.get("Content-Encoding", ""),
        limit=limit,
    )
    found = otlp.span_ids(export, tag_attributes=settings.OTLP_TAG_ATTRIBUTES)
    if found.parsed.ids:
        queue.generation_enqueue(
            ids=found.parsed.ids,
            source=LookupBatch.Source.OTLP,
            label=token.name,
            invalid=found.rejected,
            tags=found.tags,
            hints=found.hints,
            ingest_token=token,
        )
    return otlp.encode_answer(found=found, media_type=media_type)

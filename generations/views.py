import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from generations import selectors, services
from generations.fastrouter.errors import FastRouterError
from generations.forms import LookupForm
from generations.middleware import SESSION_TIME_ZONE_KEY
from generations.roles import FetchRefused

THEMES = ("light", "dark", "auto")
THEME_COOKIE_AGE = 365 * 24 * 3600
# The ids this browser session opened last, most recent first: the lookup home lists them. The
# session, not a table: nothing to migrate or purge, and it ends with the login.
RECENTLY_VIEWED_SESSION_KEY = "recently_viewed_generations"
RECENT_LIMIT = 10


def _detail_url(generation_id: str) -> str:
    return reverse("generation-detail", args=[generation_id])


def _remember_viewed(request: HttpRequest, generation_id: str) -> None:
    viewed = request.session.get(RECENTLY_VIEWED_SESSION_KEY, [])
    if viewed[:1] == [generation_id]:
        return  # a reload: no session write
    viewed = [seen for seen in viewed if seen != generation_id]
    request.session[RECENTLY_VIEWED_SESSION_KEY] = [generation_id, *viewed][:RECENT_LIMIT]


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.POST or None)
    error = ""
    detail = None
    status = 200
    if request.method == "POST" and form.is_valid():
        generation_id = form.cleaned_data["generation_id"]
        try:
            services.generation_lookup(generation_id=generation_id, user=request.user)
        except FetchRefused as refused:
            error = refused.user_message
            status = refused.status
        except FastRouterError as failure:
            error = failure.user_message
            status = 502
        else:
            if not request.htmx:
                return redirect(_detail_url(generation_id))
            detail = selectors.generation_detail(generation_id=generation_id)
            if detail:
                _remember_viewed(request, generation_id)
    elif request.method == "POST":
        status = 400

    context = {"form": form, "error": error, "detail": detail}
    if request.htmx:
        # htmx only swaps 2xx answers; the message itself says what went wrong.
        response = render(request, "generations/lookup.html#lookup-result", context)
        if detail:
            push_url(response, _detail_url(detail.generation.generation_id))
        return response
    context["recent"] = selectors.recent_generations(
        viewed_ids=request.session.get(RECENTLY_VIEWED_SESSION_KEY, []), limit=RECENT_LIMIT
    )
    return render(request, "generations/lookup.html", context, status=status)


@require_http_methods(["GET", "POST"])
def generation_detail(request: HttpRequest, generation_id: str) -> HttpResponse:
    if request.method == "POST":
        # A refresh: on failure the stored record stays exactly as it was.
        if selectors.generation_get(generation_id=generation_id) is None:
            raise Http404("No stored generation with this id")
        try:
            services.generation_refresh(generation_id=generation_id, user=request.user)
        except FetchRefused as refused:
            messages.error(request, refused.user_message)
        except FastRouterError as failure:
            messages.error(request, f"Refresh failed, the stored record is unchanged: {failure.user_message}")
        else:
            messages.success(request, "Refreshed from FastRouter.")
        return redirect(_detail_url(generation_id))

    detail = selectors.generation_detail(generation_id=generation_id)
    if detail is None:
        raise Http404("No stored generation with this id")
    _remember_viewed(request, generation_id)
    return render(request, "generations/detail.html", {"detail": detail, "form": LookupForm()})


@require_GET
def generation_payload(request: HttpRequest, generation_id: str) -> HttpResponse:
    """The whole stored payload as FastRouter sent it, for bodies too large to show."""
    detail = selectors.generation_detail(generation_id=generation_id)
    if detail is None or detail.body is None:
        raise Http404("No stored generation with this id")
    response = HttpResponse(detail.body.raw_payload, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="generation-{detail.generation.pk}.json"'
    return response


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says (the admin's pages say nothing)."""
    return redirect(static("favicon.svg"))


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@require_POST
def set_theme(request: HttpRequest) -> HttpResponse:
    """Works without JavaScript: a form posts here and comes back to the same page."""
    theme = request.POST.get("theme", "auto")
    response = HttpResponseRedirect(_safe_next(request, reverse("dashboard")))
    if theme in THEMES:
        response.set_cookie("theme", theme, max_age=THEME_COOKIE_AGE, samesite="Lax", secure=request.is_secure())
    return response


@require_POST
def set_time_zone(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("tz", "").strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return HttpResponse(f"Unknown time zone {name[:64]!r}.", status=400, content_type="text/plain; charset=utf-8")
    services.viewer_set_time_zone(user=request.user, zone=name)
    request.session[SESSION_TIME_ZONE_KEY] = name
    return HttpResponseRedirect(_safe_next(request, reverse("dashboard")))

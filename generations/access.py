"""View decorators for the roles (see generations/roles.py)."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from generations.roles import NOT_A_MEMBER, FetchRefused, can_fetch


def fetch_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For pages that spend FastRouter quota: members and staff only. A refusal, here or from the
    service the view calls (over the daily limit), is a page saying why; nothing was queued."""

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            if not can_fetch(request.user):
                raise FetchRefused(NOT_A_MEMBER, status=403)
            return view(request, *args, **kwargs)
        except FetchRefused as refused:
            return render(request, "generations/refused.html", {"refused": refused}, status=refused.status)

    return checked

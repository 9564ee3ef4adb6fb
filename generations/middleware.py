import time
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from django.conf import settings
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

SESSION_TIME_ZONE_KEY = "time_zone"


class ViewerTimeZoneMiddleware:
    """Shows times in the viewer's chosen zone (kept in the session, so no query per request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.session.get(SESSION_TIME_ZONE_KEY) if hasattr(request, "session") else None
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class NoStoreForSignedInMiddleware:
    """Every answer to a signed-in user (pages, CSVs, payloads, the admin) is private data: no
    browser or proxy cache may keep it (Cache-Control: no-store), e.g. after logging out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


class QueryTimeLimitMiddleware:
    """The backstop against a request that would tie up a worker and the database: each SQL
    statement a page runs is cut off after `WEB_QUERY_TIMEOUT_SECONDS` (PostgreSQL's
    statement_timeout; a SQLite progress handler), and the page says so instead of a 500.

    Set on the driver's connection, not through Django's cursor, so it is not one more query per
    page. Streamed responses (the CSV export of every row) run after this and are not limited."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = settings.WEB_QUERY_TIMEOUT_SECONDS
        if not seconds:
            return self.get_response(request)
        with query_time_limit(seconds):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_query_time_limit(exception):
            return None
        message = (
            f"This took longer than {settings.WEB_QUERY_TIMEOUT_SECONDS:g} s to compute and was stopped. "
            "Choose a shorter range or a coarser bucket."
        )
        if request.path.endswith(".csv") or request.path.startswith("/api/"):
            return HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        return render(request, "query_timeout.html", {"message": message}, status=503)


@contextmanager
def query_time_limit(seconds: float) -> Iterator[None]:
    connection.ensure_connection()
    driver = connection.connection
    if connection.vendor == "postgresql":
        driver.execute(f"SET statement_timeout = {int(seconds * 1000):d}")
        try:
            yield
        finally:
            _quietly(lambda: driver.execute("RESET statement_timeout"))
        return
    if connection.vendor == "sqlite":
        deadline = time.monotonic() + seconds
        # Called every 10,000 virtual-machine steps; a true answer interrupts the statement.
        driver.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            yield
        finally:
            driver.set_progress_handler(None, 0)
        return
    yield


def is_query_time_limit(exception: BaseException) -> bool:
    if not isinstance(exception, OperationalError):
        return False
    cause = exception.__cause__
    # SQLite: "interrupted"; PostgreSQL: QueryCanceled ("canceling statement due to statement timeout").
    return "interrupted" in str(exception) or type(cause).__name__ == "QueryCanceled"


def _quietly(action: Callable[[], object]) -> None:
    """Undo the limit unless the connection has gone (then Django opens a new one anyway)."""
    with suppress(Exception):
        action()

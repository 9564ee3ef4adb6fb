"""READ_API_RATE_LIMIT: requests per minute per read token, counted in Django's cache.

The count lives in the cache so every web process shares it when the cache is Redis (CACHE_URL);
with the default per-process memory cache each process counts on its own. A fixed window per
token and minute: one atomic `incr` per request (Redis INCR), no read-modify-write race. At a
window's edge a client may get up to twice the limit within a few seconds; a sliding window
would need a script per request, which this guard against runaway scripts does not.
"""

import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse

WINDOW_SECONDS = 60


def read_rate_limit_take(*, token_id: int, clock: Callable[[], float] = time.time) -> int | None:
    """Count one request of the token: None when it is within the limit, else the whole seconds
    until its next window (the Retry-After). Nothing is counted when READ_API_RATE_LIMIT is 0."""
    limit = settings.READ_API_RATE_LIMIT
    if not limit:
        return None
    now = clock()
    window = int(now // WINDOW_SECONDS)
    key = f"monitoring:read-rate:{token_id}:{window}"
    count = _count(key)
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def _count(key: str) -> int:
    """Add one to the window's count: one round trip once the window has its entry."""
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request (or its entry was evicted)
        # `add` writes only if no other process wrote first; the entry outlives its window a little.
        if cache.add(key, 1, timeout=WINDOW_SECONDS + 5):
            return 1
        return cache.incr(key)


def too_many_requests(*, retry_after: int) -> JsonResponse:
    response = JsonResponse(
        {
            "errors": [
                f"This read token made more than {settings.READ_API_RATE_LIMIT} requests in a minute "
                f"(READ_API_RATE_LIMIT); try again in {retry_after} s."
            ]
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response

"""This thread's FastRouter client for interactive calls (lookup, refresh, the demo's check).

A `requests.Session` is not thread-safe, and runserver and gunicorn's gthread workers serve requests
from several threads of one process: each thread gets its own client (`threading.local`), built again
when the settings it was made from change.
"""

import threading
from functools import partial

from django.conf import settings

from generations.fastrouter.client import FastRouterClient
from generations.fastrouter.rate_budget import INTERACTIVE_WAIT_SECONDS, RateBudget

_this_thread = threading.local()
# Bumped by fastrouter_clients_reset(): a client made before is stale in every thread.
_generation = 0


def fastrouter_client() -> FastRouterClient:
    """This thread's client of interactive calls, for the current settings.

    They hold a web worker, so: a short deadline, never a sleep on a Retry-After (the user is told
    how long to wait instead), and every attempt takes a slot of the budget the fetch workers share.
    """
    config = (
        _generation,
        settings.FASTROUTER_BASE_URL,
        settings.FASTROUTER_API_KEY,
        settings.FASTROUTER_TIMEOUT,
        settings.FASTROUTER_INTERACTIVE_DEADLINE,
        settings.FASTROUTER_MAX_RPM,
    )
    cached = getattr(_this_thread, "cached", None)
    if cached is not None and cached[0] == config:
        return cached[1]
    if cached is not None:
        cached[1].close()
    _, base_url, api_key, timeout, deadline, per_minute = config
    slot_wait = min(INTERACTIVE_WAIT_SECONDS, deadline / 2)  # room left for the request itself
    client = FastRouterClient(
        base_url=base_url,
        api_key=api_key,
        timeout=timeout,
        deadline=deadline,
        max_retry_after=0,
        take_slot=partial(RateBudget(per_minute).take, max_wait=slot_wait),
    )
    _this_thread.cached = (config, client)
    return client


def fastrouter_clients_reset() -> None:
    """Close this thread's client and make every other thread's stale (each builds a new one on its
    next call): tests call it between tests, whose servers and settings differ."""
    global _generation
    _generation += 1
    cached = getattr(_this_thread, "cached", None)
    if cached is not None:
        cached[1].close()
        del _this_thread.cached


def catalogue_client() -> FastRouterClient:
    """A client for the model catalogue (`sync_models`): a command, not a page, so the client's usual
    retries and deadline; the catalogue needs no key, and one request a day takes no budget slot."""
    return FastRouterClient(base_url=settings.FASTROUTER_BASE_URL, api_key="", timeout=settings.FASTROUTER_TIMEOUT)

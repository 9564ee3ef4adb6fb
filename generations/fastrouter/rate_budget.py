"""One FastRouter request budget for the whole deployment: FASTROUTER_MAX_RPM, shared by every process.

Each web process's lookups and refreshes and each fetch worker thread, on every machine, take a
request slot from one shared store before they send. FastRouter counts a sliding minute, so slots
are evenly spaced, BUDGET_MINUTE_SECONDS (62) / FASTROUTER_MAX_RPM seconds apart, and the two
seconds of slack are spent so that no 60 s ever sees more than FASTROUTER_MAX_RPM requests:
- one on catching up: a slot nobody took may still be taken up to CATCH_UP_SECONDS late, so a
  moment when every worker thread was busy (a slow claim or answer) costs no throughput;
- one on the time between taking a slot and FastRouter counting the request (a queue claim, the
  network).
A 429's Retry-After pauses the budget itself: every process waits it out, and no slot of the
pause is caught up.

The store holds two Unix times (the next free slot, the end of a pause), and taking a slot is one
atomic step (a GCRA: a "next free slot", not a count per minute, so requests stay evenly spaced):
slot = max(next free, end of pause, now - CATCH_UP_SECONDS); next free = slot + interval.

People come first: a lookup takes a slot up to INTERACTIVE_WAIT_SECONDS ahead, a fetch worker only
up to WORKER_LOOKAHEAD_SECONDS ahead, so a lookup gets the next slot even while the workers drain a
large import (at FASTROUTER_MAX_RPM ≥ 62, where slots are at most a second apart).

- Database (the default: nothing more to run): one `RateBudgetState` row, locked with
  SELECT … FOR UPDATE on PostgreSQL; SQLite transactions here begin IMMEDIATE, which locks too.
- Redis (CACHE_URL=redis://…, the same Redis as Django's cache): a hash changed by Lua scripts,
  which Redis runs atomically.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

import redis
from django.conf import settings
from django.db import transaction

from generations.fastrouter.errors import FastRouterError
from generations.fastrouter.models import RateBudgetState

DEFAULT_BUDGET = "fastrouter"
BUDGET_MINUTE_SECONDS = 62.0
CATCH_UP_SECONDS = 1.0
INTERACTIVE_WAIT_SECONDS = 2.0
WORKER_LOOKAHEAD_SECONDS = 1.0


class RateBudgetBusy(FastRouterError):
    """No slot is free soon enough: ``retry_after`` seconds until the next one."""

    def __init__(self, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"The FastRouter rate budget is in use; try again in {max(1, math.ceil(retry_after))} s.")


class RateBudgetUnavailable(FastRouterError):
    """The store (Redis) could not be reached: nothing is sent rather than risk the limit."""

    default_message = "The shared FastRouter rate budget could not be reached; try again later."


class Slot(NamedTuple):
    granted: bool
    # Seconds from now to the slot: to wait when granted, to try again after when not.
    wait: float


class BudgetStore(Protocol):
    def take(self, *, name: str, now: float, earliest: float, interval: float, max_wait: float | None) -> Slot: ...

    def pause(self, *, name: str, until: float) -> None: ...

    def paused_until(self, *, name: str) -> float: ...


class DatabaseBudgetStore:
    """The budget in a `RateBudgetState` row of the default database."""

    def take(self, *, name: str, now: float, earliest: float, interval: float, max_wait: float | None) -> Slot:
        with transaction.atomic():
            # A new budget starts at `now`: no catch-up of slots from before it existed.
            state, _ = RateBudgetState.objects.select_for_update().get_or_create(
                name=name, defaults={"next_free_at": now}
            )
            slot = max(state.next_free_at, state.paused_until, earliest)
            wait = max(0.0, slot - now)
            if max_wait is not None and wait > max_wait:
                return Slot(granted=False, wait=wait)
            state.next_free_at = slot + interval
            state.save(update_fields=["next_free_at"])
        return Slot(granted=True, wait=wait)

    def pause(self, *, name: str, until: float) -> None:
        with transaction.atomic():
            state, _ = RateBudgetState.objects.select_for_update().get_or_create(name=name)
            if until > state.paused_until:
                state.paused_until = until
                state.save(update_fields=["paused_until"])

    def paused_until(self, *, name: str) -> float:
        return RateBudgetState.objects.filter(name=name).values_list("paused_until", flat=True).first() or 0.0


# The same step as DatabaseBudgetStore.take. Lua numbers come back to Python as integers, so times travel as text.
_TAKE_SCRIPT = """
local state = redis.call('HMGET', KEYS[1], 'next_free_at', 'paused_until')
local slot = math.max(tonumber(state[1] or ARGV[1]), tonumber(state[2] or 0), tonumber(ARGV[2]))
local wait = math.max(0, slot - tonumber(ARGV[1]))
if ARGV[4] ~= '' and wait > tonumber(ARGV[4]) then
  return {0, string.format('%.6f', wait)}
end
redis.call('HSET', KEYS[1], 'next_free_at', string.format('%.6f', slot + tonumber(ARGV[3])))
return {1, string.format('%.6f', wait)}
"""
_PAUSE_SCRIPT = """
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'paused_until') or 0) then
  redis.call('HSET', KEYS[1], 'paused_until', ARGV[1])
end
"""


class RedisBudgetStore:
    """The budget in a Redis hash, changed only by Lua scripts (atomic in Redis)."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self._redis.register_script(_TAKE_SCRIPT)
        self._pause = self._redis.register_script(_PAUSE_SCRIPT)

    @staticmethod
    def key(name: str) -> str:
        return f"fastrouter_dash:rate_budget:{name}"

    def take(self, *, name: str, now: float, earliest: float, interval: float, max_wait: float | None) -> Slot:
        args = [repr(now), repr(earliest), repr(interval), "" if max_wait is None else repr(max_wait)]
        try:
            granted, wait = self._take(keys=[self.key(name)], args=args)
        except redis.RedisError:
            raise RateBudgetUnavailable() from None
        return Slot(granted=bool(granted), wait=float(wait))

    def pause(self, *, name: str, until: float) -> None:
        try:
            self._pause(keys=[self.key(name)], args=[repr(until)])
        except redis.RedisError:
            raise RateBudgetUnavailable() from None

    def paused_until(self, *, name: str) -> float:
        try:
            value = self._redis.hget(self.key(name), "paused_until")
        except redis.RedisError:
            raise RateBudgetUnavailable() from None
        return float(value or 0.0)


@functools.cache
def _redis_store(url: str) -> RedisBudgetStore:
    # One connection pool per process.
    return RedisBudgetStore(url)


def budget_store() -> BudgetStore:
    """Redis when CACHE_URL names one (production, several machines), else the database."""
    return _redis_store(settings.CACHE_URL) if settings.CACHE_URL else DatabaseBudgetStore()


class RateBudget:
    """`per_minute` evenly spaced FastRouter request slots, shared through `store` by every process."""

    def __init__(
        self,
        per_minute: float,
        *,
        store: BudgetStore | None = None,
        name: str = DEFAULT_BUDGET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = BUDGET_MINUTE_SECONDS / per_minute
        self.store = store or budget_store()
        self.name = name
        self._clock = clock

    def take(self, *, max_wait: float | None = None) -> float:
        """Take the next free slot and return the seconds to wait for it.

        Raises `RateBudgetBusy` (nothing taken) when that slot is more than `max_wait` seconds away.
        """
        now = self._clock()
        slot = self.store.take(
            name=self.name, now=now, earliest=now - CATCH_UP_SECONDS, interval=self.interval, max_wait=max_wait
        )
        if not slot.granted:
            raise RateBudgetBusy(retry_after=slot.wait)
        return slot.wait

    def pause(self, seconds: float) -> None:
        """No slot for anyone in the next `seconds` (FastRouter's Retry-After)."""
        self.store.pause(name=self.name, until=self._clock() + seconds)

    def paused_until(self) -> float:
        return self.store.paused_until(name=self.name)

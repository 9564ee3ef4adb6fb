"""The fetch worker: drains the lookup queue under the deployment's shared rate budget.

Threads (one FastRouterClient each: a requests.Session is not thread-safe) wait for a slot of
the `RateBudget` every web process and worker shares (through one `RateLimiter`), claim one row,
fetch, and record the outcome. The client retries little (the queue does the retrying, with
backoff stored in next_attempt_at); a 429 pauses the shared budget, so every process slows down,
not one thread.

Fetched generations are stored in batches (`StoreBuffer`): at most STORE_DELAY_SECONDS after
the fetch, or at once when STORE_BATCH have piled up, one transaction per batch, so the rollup
buckets a batch touches are recomputed once for all of its generations. A worker killed with a
batch unstored loses nothing: the rows are still claimed, and are fetched again once the claims
expire. An answer that cannot be stored fails alone, with its reason: a batch that fails is
stored in halves, down to the answers at fault. No answer, however odd, stops a thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from generations import services
from generations.fastrouter.client import FastRouterClient
from generations.fastrouter.details import GenerationDetails
from generations.fastrouter.errors import (
    AuthenticationFailed,
    FastRouterError,
    GenerationNotFound,
    InvalidGenerationId,
    NotConfigured,
    RateLimited,
)
from generations.fastrouter.rate_budget import (
    WORKER_LOOKAHEAD_SECONDS,
    RateBudget,
    RateBudgetBusy,
    RateBudgetUnavailable,
)
from generations.ingest import queue
from generations.ingest.models import LookupRequest

logger = logging.getLogger("generations.worker")

# A batch recomputes each rollup bucket it touches once, so a backlog (an import fetched at a high
# rate limit) stores faster in larger batches; 2,000 answers with their bodies are a few MB.
STORE_BATCH = 2000
STORE_DELAY_SECONDS = 0.5


class RateLimiter:
    """This worker's threads waiting for slots of the shared `RateBudget` (or for a stop).

    A slot is taken at most WORKER_LOOKAHEAD_SECONDS ahead, leaving the nearer ones to lookups.
    `pause` (a 429's Retry-After) pauses the shared budget: every process waits. `hold` (the key
    was rejected) stops only this worker: lookups in the web then show the key error themselves.
    """

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.time) -> None:
        self.budget = RateBudget(per_minute, clock=clock)
        self._clock = clock
        self._held_until = 0.0

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for a slot; False if ``stop`` was set while waiting."""
        while True:
            if not self._wait_until(self._held_until, stop):
                return False
            try:
                wait = self.budget.take(max_wait=WORKER_LOOKAHEAD_SECONDS)
            except RateBudgetBusy as busy:
                # Ask again when the next free slot is near enough.
                if not self._wait_until(self._clock() + busy.retry_after - WORKER_LOOKAHEAD_SECONDS, stop):
                    return False
                continue
            if not self._wait_until(self._clock() + wait, stop):
                return False
            if self.budget.paused_until() <= self._clock():
                return True
            # A 429 paused everyone after this slot was taken: take a fresh one, after the pause.

    def _wait_until(self, moment: float, stop: threading.Event) -> bool:
        while (wait := moment - self._clock()) > 0:
            if stop.wait(wait):
                return False
        return not stop.is_set()

    def is_paused(self) -> bool:
        return max(self._held_until, self.budget.paused_until()) > self._clock()

    def pause(self, seconds: float) -> None:
        self.budget.pause(seconds)

    def hold(self, seconds: float) -> None:
        self._held_until = max(self._held_until, self._clock() + seconds)


def make_client() -> FastRouterClient:
    # Few client-side retries: a failed id goes back to the queue with backoff instead.
    return FastRouterClient(
        base_url=settings.FASTROUTER_BASE_URL,
        api_key=settings.FASTROUTER_API_KEY,
        timeout=settings.FASTROUTER_TIMEOUT,
        max_attempts=1,
        deadline=settings.FASTROUTER_TIMEOUT + 5,
    )


@dataclass
class WorkerStats:
    stored: int = 0
    not_found: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


class StoreBuffer:
    """Fetched generations waiting to be stored, shared by the worker's threads."""

    def __init__(self, stats: WorkerStats, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stats = stats
        self._clock = clock
        self._lock = threading.Lock()
        self._items: list[tuple[LookupRequest, GenerationDetails]] = []
        self._oldest = 0.0

    def add(self, request: LookupRequest, details: GenerationDetails) -> None:
        with self._lock:
            if not self._items:
                self._oldest = self._clock()
            self._items.append((request, details))
            full = len(self._items) >= STORE_BATCH
        if full:
            self.flush()

    def flush_due(self) -> None:
        with self._lock:
            due = bool(self._items) and self._clock() - self._oldest >= STORE_DELAY_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        if items:
            self._store(items)

    def _store(self, items: list[tuple[LookupRequest, GenerationDetails]]) -> None:
        """Store `items` in one transaction; if that fails, each half apart, down to the answers at fault."""
        try:
            queue.lookup_record_stored(results=items)
        except Exception as error:  # whatever an answer makes the store raise, it fails alone
            failure = error
        else:
            for _ in items:
                self.stats.add("stored")
            return
        if len(items) == 1:
            self._record_unstorable(items[0][0], error=failure)
            return
        # One bad answer must not hold back the rest: a few halvings find it among thousands.
        logger.warning(
            "Could not store %d generations together (%s); storing each half apart.",
            len(items),
            type(failure).__name__,
        )
        half = len(items) // 2
        self._store(items[:half])
        self._store(items[half:])

    def _record_unstorable(self, request: LookupRequest, *, error: Exception) -> None:
        logger.error("Could not store generation %s.", request.generation_id, exc_info=error)
        reason = services.unstorable_reason(error)
        if services.database_trouble(error):
            # The database's trouble, not the answer's: a failed attempt, tried again later.
            state = queue.lookup_record_transient(request=request, reason=reason)
        else:
            # The same answer would fail the same way: fetching it again only spends the rate limit.
            queue.lookup_record_failed(request=request, reason=reason)
            state = LookupRequest.State.FAILED
        self.stats.add("retried" if state == LookupRequest.State.QUEUED else "failed")


class FetchWorker:
    def __init__(
        self,
        *,
        concurrency: int | None = None,
        max_rpm: int | None = None,
        once: bool = False,
        client_factory: Callable[[], FastRouterClient] = make_client,
        idle_seconds: float = 1.0,
    ) -> None:
        self.concurrency = concurrency or settings.FETCH_WORKER_CONCURRENCY
        self.limiter = RateLimiter(max_rpm or settings.FASTROUTER_MAX_RPM)
        self.once = once
        self.client_factory = client_factory
        self.idle_seconds = idle_seconds
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop_event = threading.Event()
        self.stats = WorkerStats()
        self.stored = StoreBuffer(self.stats)
        # Set when the key was rejected during a --once run: the command reports it.
        self.auth_error: str = ""
        self._auth_alert_may_be_set = True
        self._auth_lock = threading.Lock()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> WorkerStats:
        threads = [
            threading.Thread(target=self._thread_main, args=(index,), name=f"fetch-{index}", daemon=True)
            for index in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.5)
        except KeyboardInterrupt:
            self.stop()
            for thread in threads:
                thread.join()
        return self.stats

    # -- one thread

    def _thread_main(self, index: int) -> None:
        token = f"{self.name}/{index}"
        client = self.client_factory()
        try:
            while not self.stop_event.is_set():
                try:
                    if not self._step(client, token):
                        break
                except (DatabaseError, RateBudgetUnavailable):
                    # A database/Redis hiccup (restart, lock timeout): a claimed row comes back when its claim expires.
                    logger.exception("Database error in fetch worker thread %s; carrying on in a moment.", token)
                    connection.close()
                    self.stop_event.wait(1.0)
        except Exception:
            logger.exception("Fetch worker thread %s crashed; its claims expire and are picked up again.", token)
            self.stop()
            raise
        finally:
            client.close()
            try:
                self.stored.flush()
            finally:
                connection.close()

    def _step(self, client: FastRouterClient, token: str) -> bool:
        """Wait for a rate-limit slot, claim, fetch and record one id; False when the thread should end.

        The slot comes first: a claim held through a long Retry-After pause could expire and let
        another worker fetch the same id. An empty queue takes no slot: the budget is the web's too.
        """
        if self.limiter.is_paused():
            self.stored.flush()  # nothing waits out a long pause unstored (and its claims with it)
        else:
            self.stored.flush_due()
        if not queue.lookup_due():
            return self._idle()
        if not self.limiter.acquire(self.stop_event):
            return False
        claimed = queue.lookup_claim(worker=token)
        if not claimed:
            return self._idle()
        self.process(claimed[0], client)
        return True

    def _idle(self) -> bool:
        """Wait for work; False when a --once run has nothing left."""
        self.stored.flush()
        close_old_connections()
        wait = self.idle_seconds
        if self.once:
            if not queue.lookup_pending():
                return False
            due = queue.lookup_next_due()
            if due is not None:
                wait = min(max((due - timezone.now()).total_seconds(), 0.05), 5.0)
        return not self.stop_event.wait(wait)

    def process(self, request: LookupRequest, client: FastRouterClient) -> None:
        """Fetch one claimed row and record what happened (a generation is stored with the next batch)."""
        try:
            details = client.get_generation(request.generation_id)
        except RateLimited as error:
            wait = error.retry_after if error.retry_after is not None else queue.retry_delay(1)
            logger.info("Rate limited by FastRouter; pausing every fetch for %.1f s.", wait)
            self.limiter.pause(wait)
            self.stats.add("rate_limited")
            queue.lookup_release(request=request, delay=wait)
        except (AuthenticationFailed, NotConfigured) as error:
            self._pause_for_auth(request, error)
        except InvalidGenerationId as error:
            self.stats.add("failed")
            queue.lookup_record_failed(request=request, reason=error.user_message)
        except GenerationNotFound as error:
            state = queue.lookup_record_not_found(request=request, reason=error.user_message)
            self.stats.add("retried" if state == LookupRequest.State.QUEUED else "not_found")
        except FastRouterError as error:
            # UpstreamError (5xx), UpstreamUnavailable (timeouts), MalformedResponse.
            self._record_transient(request, error.user_message)
        except Exception as error:
            # A fault nobody foresaw fails this id alone (a few attempts); the thread carries on.
            logger.exception("Unexpected error fetching generation %s.", request.generation_id)
            self._record_transient(request, f"Unexpected error while fetching ({type(error).__name__}); see the log.")
        else:
            self.stored.add(request, details)
            if self._auth_alert_may_be_set:
                self._auth_alert_may_be_set = False
                queue.worker_status_clear_auth(worker=self.name)

    def _record_transient(self, request: LookupRequest, reason: str) -> None:
        state = queue.lookup_record_transient(request=request, reason=reason)
        self.stats.add("retried" if state == LookupRequest.State.QUEUED else "failed")

    def _pause_for_auth(self, request: LookupRequest, error: FastRouterError) -> None:
        # Every call would fail the same way: stop fetching, keep the row queued, tell the web UI.
        queue.lookup_release(request=request)
        with self._auth_lock:
            self._auth_alert_may_be_set = True
            queue.worker_status_auth_failed(worker=self.name, message=error.user_message)
            self.limiter.hold(settings.FETCH_AUTH_PAUSE_SECONDS)
        if self.once:
            self.auth_error = error.user_message
            self.stop()
        else:
            logger.error("%s Pausing the fetch worker for %d s.", error.user_message, settings.FETCH_AUTH_PAUSE_SECONDS)

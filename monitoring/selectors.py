"""Reads of the fetch queue, the worker and budgets for /metrics (generation figures: figures.py)."""

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min

from budgets.selectors import budget_statuses
from generations.fastrouter.rate_budget import RateBudget
from generations.ingest.models import LookupRequest, WorkerStatus


@dataclass(frozen=True)
class QueueHealth:
    ids_by_state: dict[str, int]  # every state, 0 when none
    oldest_queued_age_seconds: float | None
    auth_failed: bool  # the worker stopped because FastRouter rejected the key (401)
    rate_limited_seconds: float  # how long the shared budget stays paused by a 429's Retry-After
    worker_seen: bool  # a fetch worker has reported to the shared status row


def queue_health(*, now: datetime) -> QueueHealth:
    counts = dict(LookupRequest.objects.values_list("state").annotate(n=Count("id")).order_by())
    oldest = LookupRequest.objects.filter(state=LookupRequest.State.QUEUED).aggregate(first=Min("first_seen_at"))
    status = WorkerStatus.objects.filter(pk=1).first()
    paused_until = RateBudget(settings.FASTROUTER_MAX_RPM).paused_until()
    return QueueHealth(
        ids_by_state={state: counts.get(state, 0) for state in LookupRequest.State.values},
        oldest_queued_age_seconds=(now - oldest["first"]).total_seconds() if oldest["first"] else None,
        auth_failed=bool(status and status.auth_failed_at),
        rate_limited_seconds=max(0.0, paused_until - time.time()),
        worker_seen=bool(status and status.heartbeat_at),
    )


@dataclass(frozen=True)
class BudgetFigures:
    name: str
    amount_pico: int
    spent_pico: int
    forecast_pico: int


def budget_figures(*, now: datetime) -> list[BudgetFigures]:
    """Each budget's current period, through budgets' own selector (the one its pages use)."""
    return [
        BudgetFigures(
            status.budget.name, status.forecast.amount_pico, status.forecast.spent_pico, status.forecast.forecast_pico
        )
        for status in budget_statuses(now=now)
    ]

"""Budgets pages: everyone signed in reads them; staff create, edit, delete and test channels."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from budgets.anomalies import LISTED_DAYS, recent_anomalies
from budgets.forms import BudgetForm
from budgets.messages import anomaly_path, generations_path, money_text
from budgets.models import Budget, Channel, Notification
from budgets.selectors import BudgetStatus, budget_status, budget_statuses, chart_rows, notification_history
from budgets.services import channel_send_test
from generations.money import to_pico


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("Only staff manage budgets and channels.")
        return view(request, *args, **kwargs)

    return checked


def drill_down_url(status: BudgetStatus) -> str:
    """The generations list with the budget's scope and the period so far."""
    budget = status.budget
    return generations_path(
        scope_kind=budget.scope_kind,
        scope_value=budget.scope_value,
        first=status.period.first,
        last=min(status.period.last, status.today),
        zone=budget.zone,
    )


def budget_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    anomalies = [(anomaly, anomaly_path(anomaly)) for anomaly in recent_anomalies(now=now)]
    return render(
        request,
        "budgets/budget_list.html",
        {
            "statuses": budget_statuses(now=now),
            "anomalies": anomalies,
            "anomaly_rule": {
                "factor": settings.BUDGET_ANOMALY_FACTOR,
                "minimum": to_pico(settings.BUDGET_ANOMALY_MIN_USD),
                "zone": settings.BUDGET_REPORT_ZONE,
                "days": LISTED_DAYS,
            },
            "channels": Channel.objects.all(),
        },
    )


def _text(pico: int | None) -> str | None:
    return None if pico is None else money_text(pico)


def budget_detail(request: HttpRequest, pk: int) -> HttpResponse:
    budget = get_object_or_404(Budget.objects.prefetch_related("channels"), pk=pk)
    status = budget_status(budget, now=timezone.now())
    rows = chart_rows(status)
    amount = money_text(budget.amount_pico)
    chart = {
        "labels": [row.day.isoformat() for row in rows],
        # Exact decimal strings; the browser turns them into numbers only to draw.
        "actual": [_text(row.actual) for row in rows],
        "forecast": [_text(row.forecast) for row in rows],
        "low": [_text(row.low) for row in rows],
        "high": [_text(row.high) for row in rows],
        "budget": [amount for _ in rows],
    }
    return render(
        request,
        "budgets/budget_detail.html",
        {
            "status": status,
            "rows": rows,
            "chart": chart,
            "drill_down_url": drill_down_url(status),
            "notifications": notification_history(budget=budget)[:50],
        },
    )


def alert_history(request: HttpRequest) -> HttpResponse:
    return render(request, "budgets/alert_history.html", {"notifications": notification_history()[:500]})


def _save(request: HttpRequest, budget: Budget | None) -> HttpResponse:
    form = BudgetForm(request.POST or None, instance=budget)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Budget “{saved.name}” saved.")
        return redirect("budget-detail", pk=saved.pk)
    return render(
        request, "budgets/budget_form.html", {"form": form, "budget": budget}, status=400 if form.errors else 200
    )


@staff_required
def budget_create(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@staff_required
def budget_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save(request, get_object_or_404(Budget, pk=pk))


@require_POST
@staff_required
def budget_delete(request: HttpRequest, pk: int) -> HttpResponse:
    budget = get_object_or_404(Budget, pk=pk)
    budget.delete()
    messages.success(request, f"Budget “{budget.name}” deleted; its alert history stays.")
    return redirect("budget-list")


@require_POST
@staff_required
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    result = channel_send_test(channel=channel, now=timezone.now())
    if result.state == Notification.SENT:
        messages.success(request, f"Test sent to “{channel.name}”.")
    else:
        messages.error(request, f"The test to “{channel.name}” failed: {result.last_error}")
    return redirect("budget-list")

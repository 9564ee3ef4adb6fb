"""The shared FastRouter request budget's database store."""

from django.db import models


class RateBudgetState(models.Model):
    """The shared FastRouter request budget (see rate_budget.py): one row, updated under a row lock."""

    name = models.CharField(max_length=50, primary_key=True)
    # Unix times: every process, on every machine, reads the same clock through them.
    next_free_at = models.FloatField(default=0.0)
    paused_until = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"Rate budget {self.name}"

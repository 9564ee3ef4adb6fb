import pytest
from django.core.management import CommandError, call_command

from generations.analytics.models import DailyRollup, HourlyRollup
from tests.factories import make_generation


def test_rebuild_then_check_reports_consistent_rollups(db, capsys):
    make_generation("g-1", rollups=False)
    make_generation("g-2", model="google/gemini", rollups=False)
    with pytest.raises(CommandError):
        call_command("check_rollups")  # written straight to the table: no rollups yet
    call_command("rebuild_rollups")
    call_command("check_rollups")
    assert "Rollups match raw rows." in capsys.readouterr().out
    assert HourlyRollup.objects.count() == 2
    assert DailyRollup.objects.get(model="google/gemini").requests == 1

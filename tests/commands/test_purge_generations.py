from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from generations.models import Generation, GenerationBody
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_and_new():
    now = timezone.now()
    for n in range(5):
        make_generation(f"gen-old-{n}", occurred_at=now - timedelta(days=120 + n))
    make_generation("gen-new", occurred_at=now - timedelta(days=10))


def _purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_generations", *args, stdout=out)
    return out.getvalue()


def test_purge_deletes_whole_old_records_in_batches(old_and_new):
    output = _purge("--older-than", "90d", "--batch-size", "2")
    assert "Deleted 5 generations and 5 bodies" in output
    assert list(Generation.objects.values_list("generation_id", flat=True)) == ["gen-new"]
    assert GenerationBody.objects.count() == 1


def test_bodies_only_keeps_the_generations(old_and_new):
    output = _purge("--older-than", "12w", "--bodies-only")
    assert "Deleted 5 bodies" in output
    assert Generation.objects.count() == 6
    assert list(GenerationBody.objects.values_list("generation_id", flat=True)) == [
        Generation.objects.get(generation_id="gen-new").pk
    ]


def test_dry_run_counts_and_deletes_nothing(old_and_new):
    output = _purge("--older-than", "90d", "--dry-run")
    assert "Would delete 5 generations and 5 bodies" in output
    assert Generation.objects.count() == 6
    assert GenerationBody.objects.count() == 6


def test_detail_page_of_a_purged_body_says_so(old_and_new, user_client):
    _purge("--older-than", "90d", "--bodies-only")
    page = user_client.get("/generations/gen-old-0/")
    assert page.status_code == 200
    assert "purged by the retention policy" in page.content.decode()


@pytest.mark.parametrize("period", ["90", "0d", "ninety days", "-5d", "3m"])
def test_a_bad_period_is_refused_with_an_example(period):
    with pytest.raises(CommandError, match="90d, 12w or 36h"):
        _purge(f"--older-than={period}")

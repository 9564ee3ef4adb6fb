from io import StringIO

import pytest
from django.core.management import call_command

from fastrouter_simulator.server import demo_ids
from generations.ingest.models import LookupBatch, LookupRequest
from generations.models import Generation

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # the worker writes from its own thread
def test_demo_generations_enter_through_the_queue_and_the_real_client(simulator):
    call_command("load_demo", count=25, stdout=StringIO(), stderr=StringIO())
    assert LookupBatch.objects.get().source == LookupBatch.Source.DEMO
    assert LookupRequest.objects.count() == 25
    call_command("fetch_worker", once=True, concurrency=1, stdout=StringIO(), stderr=StringIO())
    assert set(Generation.objects.values_list("generation_id", flat=True)) == set(demo_ids(25))
    assert Generation.objects.filter(cost_pico__isnull=True).count() == 0


def test_loading_twice_queues_nothing_again(simulator):
    call_command("load_demo", count=10, stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command("load_demo", count=10, stdout=out, stderr=StringIO())
    assert "already stored or queued" in out.getvalue()
    assert LookupRequest.objects.count() == 10

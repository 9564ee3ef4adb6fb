import threading
from io import StringIO

import pytest
from django.core.management import call_command

from fastrouter_simulator.server import SimulatorConfig, demo_ids, make_server
from generations.ingest.models import LookupBatch, LookupRequest
from generations.models import Generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulator(http_mock, settings):
    server = make_server(SimulatorConfig(api_key="sim-test-key"), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    http_mock.add_passthru(base_url)
    settings.FASTROUTER_BASE_URL = base_url
    settings.FASTROUTER_API_KEY = "sim-test-key"
    yield server
    server.shutdown()
    server.server_close()


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

"""`make run`'s demo application: its ids reach the live dashboard by reporter, OTLP and log, and get stored."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from fastrouter_simulator.server import is_simulator_id
from generations.ingest.models import IngestToken, LookupRequest
from generations.ingest.selectors import coverage
from generations.models import Generation


def _run_demo_app(live_server, log) -> str:
    out = StringIO()
    call_command(
        "demo_app",
        dashboard=live_server.url,
        log=str(log),
        spool_dir=str(log.parent / "spool"),
        count=6,
        interval=0.0,
        wait=20.0,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.mark.django_db(transaction=True)  # the live server and the worker write from their own threads
def test_every_way_in_arrives_and_is_stored(live_server, simulator, http_mock, tmp_path):
    http_mock.add_passthru(live_server.url)  # the OpenTelemetry exporter uses requests
    log = tmp_path / "demo-app.log"
    out = _run_demo_app(live_server, log)
    assert "Exported one OpenTelemetry span" in out
    assert "Demo app done: 3 ids sent by the reporter." in out
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 3
    call_command("follow_log", str(log), format="jsonl", key="response.id", once=True, stdout=StringIO())

    by_source = {}
    for generation_id, source in LookupRequest.objects.values_list("generation_id", "source"):
        assert is_simulator_id(generation_id)
        by_source[source] = by_source.get(source, 0) + 1
    assert by_source == {"reporter": 3, "otlp": 1, "follower": 3}
    assert {line["response"]["id"] for line in lines} == set(
        LookupRequest.objects.filter(source="follower").values_list("generation_id", flat=True)
    )

    call_command("fetch_worker", once=True, concurrency=1, stdout=StringIO(), stderr=StringIO())
    assert Generation.objects.count() == 7
    rows = {
        (row.source_label, row.token_name): (row.received, row.stored)
        for row in coverage(length=timedelta(days=1)).rows
    }
    assert rows == {
        ("Reporter", "demo app (make run)"): (3, 3),
        ("Log follower", ""): (3, 3),
        ("OpenTelemetry", "demo app (make run)"): (1, 1),
    }


@pytest.mark.django_db(transaction=True)
def test_each_run_has_a_new_token_and_leaves_the_old_one_revoked(live_server, http_mock, tmp_path):
    http_mock.add_passthru(live_server.url)
    _run_demo_app(live_server, tmp_path / "first.log")
    _run_demo_app(live_server, tmp_path / "second.log")
    tokens = IngestToken.objects.order_by("created_at")
    assert [token.revoked_at is None for token in tokens] == [False, True]
    assert LookupRequest.objects.filter(source="reporter").count() == 6  # new ids every run

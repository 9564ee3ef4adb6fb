"""The reporter against the real dashboard: Django's live server, a real ingest token, the real database."""

import os
import signal
import subprocess
import sys
import threading

import pytest
from django.db.models import Sum

from generations.ingest.models import LookupBatch, LookupRequest
from generations.ingest.tokens import ingest_token_create
from tests.contrib.conftest import REPORTER_PATH, forwarding, free_port, wait_until


@pytest.fixture
def token(transactional_db):
    return ingest_token_create(name="checkout-service")[1]


def _arrived() -> dict:
    """What the dashboard holds: queued rows, distinct ids, and what its batches counted on arrival."""
    totals = LookupBatch.objects.aggregate(found=Sum("found_count"), again=Sum("already_queued_count"))
    return {
        "rows": LookupRequest.objects.count(),
        "distinct": LookupRequest.objects.values("generation_id").distinct().count(),
        "received": totals["found"] or 0,
        "received_twice": totals["again"] or 0,
    }


def test_ten_thousand_ids_from_eight_threads_arrive_exactly_once(live_server, token, reporters, tmp_path):
    reporter = reporters(live_server.url, token, spool_dir=tmp_path)
    expected = {f"gen-t{thread}-{n:05d}" for thread in range(8) for n in range(1250)}

    def report_from(thread: int) -> None:
        for n in range(1250):
            reporter.report(f"gen-t{thread}-{n:05d}", thread=str(thread))

    threads = [threading.Thread(target=report_from, args=(thread,)) for thread in range(8)]
    for each in threads:
        each.start()
    for each in threads:
        each.join()
    assert reporter.close(timeout=60)
    assert _arrived() == {"rows": 10_000, "distinct": 10_000, "received": 10_000, "received_twice": 0}
    assert set(LookupRequest.objects.values_list("generation_id", flat=True)) == expected
    assert set(LookupRequest.objects.values_list("source", flat=True)) == {"reporter"}
    assert LookupRequest.objects.get(generation_id="gen-t3-00042").tags == {"thread": "3"}
    assert {(b.source, b.label) for b in LookupBatch.objects.all()} == {("reporter", "checkout-service")}
    assert (reporter.stats["reported"], reporter.stats["sent"], reporter.dropped) == (10_000, 10_000, 0)
    assert os.listdir(tmp_path) == []


def test_with_the_dashboard_down_then_back_nothing_is_lost(live_server, token, reporters, tmp_path):
    port = free_port()
    reporter = reporters(f"http://127.0.0.1:{port}", token, spool_dir=tmp_path)
    for n in range(3000):
        reporter.report(f"gen-down-{n:05d}")
    wait_until(lambda: reporter.stats["spooled"] == 3000 and reporter.stats["failed_attempts"] >= 2)
    assert LookupRequest.objects.count() == 0
    with forwarding(port, live_server.thread.port):
        wait_until(lambda: reporter.stats["spooled"] == 0)
        assert reporter.close(timeout=10)
    assert _arrived() == {"rows": 3000, "distinct": 3000, "received": 3000, "received_twice": 0}
    assert (reporter.stats["sent"], reporter.dropped) == (3000, 0)


def test_a_restart_mid_spool_loses_nothing(live_server, token, reporters, tmp_path):
    before = reporters(f"http://127.0.0.1:{free_port()}", token, spool_dir=tmp_path)
    for n in range(2500):
        before.report(f"gen-before-{n:05d}", feature="search")
    wait_until(lambda: before.stats["spooled"] == 2500)
    assert not before.close(timeout=0.5)  # the dashboard is down: the ids stay in the spool
    after = reporters(live_server.url, token, spool_dir=tmp_path)
    for n in range(500):
        after.report(f"gen-after-{n:05d}")
    assert after.close(timeout=30)
    assert _arrived() == {"rows": 3000, "distinct": 3000, "received": 3000, "received_twice": 0}
    assert LookupRequest.objects.filter(tags={"feature": "search"}).count() == 2500
    assert (before.dropped, after.stats["sent"], after.dropped) == (0, 3000, 0)
    assert os.listdir(tmp_path) == []


CRASHING_APP = """
import sys, time
sys.path.insert(0, sys.argv[1])
from fastrouter_dash_reporter import Reporter
reporter = Reporter(sys.argv[2], "frdi_unused", spool_dir=sys.argv[3], flush_interval=0.02, backoff_base=0.02)
for n in range(2000):
    reporter.report(f"gen-crash-{n:05d}")
while reporter.stats["spooled"] < 2000:
    time.sleep(0.01)
print("spooled", flush=True)
time.sleep(60)
"""


def test_a_process_killed_mid_spool_loses_nothing(live_server, token, reporters, tmp_path):
    app = subprocess.Popen(  # noqa: S603 (this interpreter, a script of this test)
        [sys.executable, "-c", CRASHING_APP, str(REPORTER_PATH.parent), f"http://127.0.0.1:{free_port()}", tmp_path],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout.readline() == "spooled\n"
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait()
        app.stdout.close()
    after = reporters(live_server.url, token, spool_dir=tmp_path)
    assert after.close(timeout=30)
    assert _arrived() == {"rows": 2000, "distinct": 2000, "received": 2000, "received_twice": 0}
    assert (after.stats["sent"], after.dropped) == (2000, 0)

"""The reporter's limits, retries and refusals, against a stdlib stand-in for the dashboard (no database)."""

import json
import logging
import os
import time

import pytest

from tests.contrib.conftest import free_port, reporter_module, wait_until

TOKEN = "frdi_test-token-never-logged"


def _ids(count: int, prefix: str = "gen") -> list[str]:
    return [f"{prefix}-{n:08d}" for n in range(count)]


def test_ids_and_tags_are_sent_as_items_with_the_reporter_source_and_the_token(dashboard, reporters):
    reporter = reporters(dashboard.url, flush_interval=1)
    assert reporter.report(" gen-a1 ", feature="search", user=42, team=None)
    assert reporter.report("gen-b2")
    assert reporter.close(timeout=5)
    [request] = dashboard.requests
    assert request["path"] == "/api/ingest"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["body"] == {
        "items": [{"id": "gen-a1", "tags": {"feature": "search", "user": "42"}}, {"id": "gen-b2"}],
        "source": "reporter",
    }
    assert reporter.stats["sent"] == 2
    assert reporter.dropped == 0


def test_the_url_may_be_the_dashboard_or_its_ingest_endpoint(reporters):
    assert reporters("https://dash.example/").endpoint == "https://dash.example/api/ingest"
    assert reporters("https://dash.example/api/ingest").endpoint == "https://dash.example/api/ingest"
    with pytest.raises(ValueError, match="http"):
        reporter_module.Reporter("dash.example", TOKEN)


def test_up_to_batch_size_ids_go_in_one_request(dashboard, reporters):
    reporter = reporters(dashboard.url, batch_size=100, flush_interval=5)
    for generation_id in _ids(250):
        reporter.report(generation_id)
    assert reporter.close(timeout=5)
    assert [len(r["body"]["items"]) for r in dashboard.requests] == [100, 100, 50]


def test_a_partial_batch_is_sent_after_the_flush_interval(dashboard, reporters):
    reporter = reporters(dashboard.url, flush_interval=0.2)
    reporter.report("gen-a1")
    # The dashboard sees the request before the reporter reads its answer: wait for the count.
    wait_until(lambda: reporter.stats["sent"] == 1, timeout=5)
    assert len(dashboard.requests) == 1


def test_bad_ids_and_bad_tags_are_counted_not_raised(dashboard, reporters, caplog):
    reporter = reporters(dashboard.url, flush_interval=1)
    assert not reporter.report(None)
    assert not reporter.report("   ")
    assert not reporter.report("x" * 257)
    assert reporter.report("gen-a1", **{"bad key": "x", "ok": "yes", "empty": "", "long": "v" * 201})
    assert reporter.close(timeout=5)
    assert dashboard.requests[0]["body"]["items"] == [{"id": "gen-a1", "tags": {"ok": "yes"}}]
    assert reporter.stats["dropped"]["bad_id"] == 3
    assert reporter.stats["tags_dropped"] == 3
    assert "'bad key' was left off" in caplog.text


def test_a_full_memory_queue_drops_and_counts_without_blocking(dashboard, reporters):
    reporter = reporters(dashboard.url, batch_size=1, max_queued=5)
    dashboard.hold.clear()  # the first send hangs: nothing more leaves the queue
    reporter.report("gen-first")
    dashboard.arrived.wait(5)
    started = time.monotonic()
    accepted = [reporter.report(generation_id) for generation_id in _ids(12)]
    assert time.monotonic() - started < 0.5
    assert accepted == [True] * 5 + [False] * 7
    assert reporter.stats["dropped"]["queue_full"] == 7
    dashboard.hold.set()
    assert reporter.close(timeout=5)
    assert sorted(dashboard.ids()) == sorted(["gen-first", *_ids(5)])


def test_a_full_spool_drops_and_counts_and_keeps_what_fitted(dashboard, reporters, tmp_path):
    line = len(json.dumps({"id": "gen-00000000"}, separators=(",", ":"))) + 1
    down = reporters(f"http://127.0.0.1:{free_port()}", spool_dir=tmp_path, max_spool_bytes=9 * line + 5)
    for generation_id in _ids(20):
        down.report(generation_id)
    wait_until(lambda: down.stats["spooled"] + down.stats["dropped"]["spool_full"] == 20)
    assert (down.stats["spooled"], down.stats["dropped"]["spool_full"]) == (9, 11)
    assert not down.close(timeout=0.2)
    back = reporters(dashboard.url, spool_dir=tmp_path)
    assert back.close(timeout=5)
    assert dashboard.ids() == _ids(9)


def test_without_a_spool_dir_unsent_ids_wait_in_memory_up_to_max_queued(reporters):
    reporter = reporters(f"http://127.0.0.1:{free_port()}", max_queued=10)
    for generation_id in _ids(10):
        reporter.report(generation_id)
    wait_until(lambda: reporter.stats["failed_attempts"] and reporter.stats["spooled"] == 10)
    for generation_id in _ids(5, prefix="more"):
        reporter.report(generation_id)
    wait_until(lambda: reporter.stats["dropped"]["spool_full"] == 5)
    assert reporter.stats["spooled"] == 10
    assert not reporter.close(timeout=0.2)
    assert reporter.stats["dropped"]["unsent_at_exit"] == 10


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_a_server_error_is_retried_with_backoff_until_taken(dashboard, reporters, status):
    dashboard.answers = [(status, {"error": "busy"}, {})] * 3
    reporter = reporters(dashboard.url)
    for generation_id in _ids(3):
        reporter.report(generation_id)
    wait_until(lambda: reporter.stats["sent"] == 3)
    assert reporter.stats["failed_attempts"] == 3
    assert len(dashboard.requests) == 4
    assert dashboard.ids()[-3:] == _ids(3)
    assert reporter.dropped == 0


def test_a_429_waits_the_retry_after(dashboard, reporters):
    dashboard.answers = [(429, {"error": "slow down"}, {"Retry-After": "0.3"})]
    reporter = reporters(dashboard.url)
    reporter.report("gen-a1")
    wait_until(lambda: reporter.stats["sent"] == 1)
    assert len(dashboard.requests) == 2
    assert reporter.stats["failed_attempts"] == 1


def _seconds_between_failures(reporter, first: int, last: int) -> float:
    reporter.report("gen-a1")
    wait_until(lambda: reporter.stats["failed_attempts"] >= first)
    started = time.monotonic()
    wait_until(lambda: reporter.stats["failed_attempts"] >= last)
    return time.monotonic() - started


def test_backoff_doubles(reporters):
    reporter = reporters(f"http://127.0.0.1:{free_port()}", backoff_base=0.05, backoff_max=1)
    # Waits of 0.05·2ⁿ⁻¹ s with a jitter of ×0.5 to ×1: at least 0.025 + 0.05 + 0.1 + 0.2 + 0.4.
    assert _seconds_between_failures(reporter, 1, 6) >= 0.775


def test_backoff_is_capped(reporters):
    reporter = reporters(f"http://127.0.0.1:{free_port()}", backoff_base=0.05, backoff_max=0.05)
    # Uncapped, the 2nd to the 12th failure would be at least 0.025·(2¹¹ - 1) = 51 s apart.
    assert _seconds_between_failures(reporter, 1, 12) < 5


@pytest.mark.parametrize(
    ("status", "answer", "reason"),
    [
        (401, {"error": "A valid ingest token is required: send Authorization: Bearer <token>."}, "HTTP 401 A valid"),
        (400, {"error": "source must be one of 'api', 'reporter'."}, "HTTP 400 source must be"),
        (302, b"", "HTTP 302"),
        (404, b"<html>Not Found</html>", "HTTP 404 <html>Not Found"),
        (200, b"<html>a login page</html>", "HTTP 200 without the ingest API's answer"),
    ],
)
def test_a_refusal_for_good_drops_and_counts_once_with_the_reason_and_never_the_token(
    dashboard, reporters, caplog, status, answer, reason
):
    caplog.set_level(logging.DEBUG)
    dashboard.answers = [(status, answer, {"Location": "https://elsewhere.example/"} if status == 302 else {})]
    reporter = reporters(dashboard.url, flush_interval=1)
    for generation_id in _ids(4):
        reporter.report(generation_id)
    assert reporter.close(timeout=5)
    assert len(dashboard.requests) == 1
    assert reporter.stats["dropped"]["rejected"] == 4
    assert reporter.stats["sent"] == 0
    assert f"refused 4 ids, which are dropped: {reason}" in caplog.text
    assert TOKEN not in caplog.text


def test_ids_the_dashboard_finds_invalid_are_counted(dashboard, reporters):
    dashboard.answers = [(202, {"queued": 1, "invalid": [{"item": "item 2", "reason": "no spaces"}]}, {})]
    reporter = reporters(dashboard.url, flush_interval=1)
    reporter.report("gen-a1")
    reporter.report("gen-b2")
    assert reporter.close(timeout=5)
    assert (reporter.stats["sent"], reporter.stats["dropped"]["invalid"]) == (1, 1)


def test_a_413_halves_the_requests_and_loses_nothing(dashboard, reporters):
    dashboard.answers = [(413, {"error": "at most 2"}, {}), (413, {"error": "at most 2"}, {})]
    reporter = reporters(dashboard.url, flush_interval=1)
    for generation_id in _ids(8):
        reporter.report(generation_id)
    assert reporter.close(timeout=5)
    assert [len(r["body"]["items"]) for r in dashboard.requests] == [8, 4, 2, 2, 2, 2]
    assert sorted(dashboard.ids()[12:]) == _ids(8)
    assert reporter.dropped == 0


def test_report_after_close_is_counted(dashboard, reporters):
    reporter = reporters(dashboard.url)
    reporter.close(timeout=1)
    assert not reporter.report("gen-a1")
    assert reporter.stats["dropped"]["closed"] == 1


def test_close_keeps_its_deadline_when_the_dashboard_hangs_and_the_spool_keeps_the_ids(dashboard, reporters, tmp_path):
    dashboard.hold.clear()
    reporter = reporters(dashboard.url, spool_dir=tmp_path, timeout=0.3)
    reporter.report("gen-a1")
    dashboard.arrived.wait(5)
    reporter.report("gen-b2")
    started = time.monotonic()
    assert not reporter.close(timeout=0.5)
    assert time.monotonic() - started < 0.8
    wait_until(lambda: not reporter._thread.is_alive())
    dashboard.hold.set()
    dashboard.requests.clear()
    assert reporters(dashboard.url, spool_dir=tmp_path).close(timeout=5)
    assert sorted(dashboard.ids()) == ["gen-a1", "gen-b2"]


def test_a_live_reporter_keeps_its_spool_and_a_closed_ones_is_taken_over(dashboard, reporters, tmp_path):
    down = reporters(f"http://127.0.0.1:{free_port()}", spool_dir=tmp_path)
    for generation_id in _ids(5):
        down.report(generation_id)
    wait_until(lambda: down.stats["spooled"] == 5)
    neighbour = reporters(dashboard.url, spool_dir=tmp_path)
    neighbour.report("gen-own")
    assert neighbour.close(timeout=5)
    assert dashboard.ids() == ["gen-own"]
    assert down.stats["spooled"] == 5
    assert not down.close(timeout=0.2)
    assert reporters(dashboard.url, spool_dir=tmp_path).close(timeout=5)
    assert dashboard.ids() == ["gen-own", *_ids(5)]
    assert os.listdir(tmp_path) == []


def test_a_spool_cut_short_by_a_crash_sends_its_unsent_complete_lines(dashboard, reporters, tmp_path):
    lines = [json.dumps({"id": generation_id}) + "\n" for generation_id in ("gen-sent", "gen-unsent", "gen-bad")]
    (tmp_path / "spool-1-dead.lock").write_bytes(b"")
    (tmp_path / "spool-1-dead.jsonl").write_text(lines[0] + lines[1] + "not json\n" + lines[2][:9])
    (tmp_path / "spool-1-dead.sent").write_text(str(len(lines[0])))
    reporter = reporters(dashboard.url, spool_dir=tmp_path)
    assert reporter.close(timeout=5)
    assert dashboard.ids() == ["gen-unsent"]
    assert reporter.stats["dropped"]["unreadable_spool"] == 2
    assert os.listdir(tmp_path) == []


def test_a_failing_spool_write_drops_and_counts_that_batch_and_leaves_no_half_line(
    dashboard, reporters, tmp_path, monkeypatch
):
    real_fsync = os.fsync
    failures = iter([OSError(28, "No space left on device")])

    def fsync_failing_once(fd: int) -> None:
        failure = next(failures, None)
        if failure:
            raise failure
        real_fsync(fd)

    monkeypatch.setattr(reporter_module.os, "fsync", fsync_failing_once)
    reporter = reporters(dashboard.url, spool_dir=tmp_path)
    reporter.report("gen-lost")
    wait_until(lambda: reporter.stats["dropped"]["error"] == 1)
    reporter.report("gen-kept")
    assert reporter.close(timeout=5)
    assert dashboard.ids() == ["gen-kept"]
    assert reporter.stats["dropped"]["unreadable_spool"] == 0


def test_an_unusable_spool_dir_falls_back_to_memory(dashboard, reporters, tmp_path, caplog):
    (tmp_path / "a-file").write_text("")
    reporter = reporters(dashboard.url, spool_dir=tmp_path / "a-file" / "spool")
    reporter.report("gen-a1")
    assert reporter.close(timeout=5)
    assert dashboard.ids() == ["gen-a1"]
    assert "ids waiting for a retry are kept in memory" in caplog.text

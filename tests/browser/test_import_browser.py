"""Bulk import in a real Chromium: paste or upload ids, preview, confirm, and watch a real fetch
worker (a background thread, against the FastRouter simulator) fill the batch's progress bar."""

import json
import re
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from playwright.sync_api import expect

from fastrouter_simulator.server import demo_ids
from generations.ingest.models import LookupRequest
from generations.ingest.worker import FetchWorker
from generations.models import Generation
from tests.browser.conftest import snapshot

pytestmark = pytest.mark.browser

UNKNOWN_IDS = ["gen-unknown-browser-1", "gen-unknown-browser-2"]
TOO_LONG = "x" * 300
POLL_INTERVAL_SECONDS = 2


@pytest.fixture
def fetch_worker(simulator, settings, monkeypatch) -> Iterator:
    """Start with `fetch_worker()`: a real FetchWorker (once=False) draining the queue in a thread.

    PostgreSQL: the worker's threads have their own connections, as in production. SQLite: the
    test database is in memory, which the live server already shares with this thread as one
    connection; a second connection would get "database table is locked" instead of waiting
    (see tests/ingest/test_worker.py), so the worker's single thread shares that connection too.
    """
    settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS = 0
    settings.FETCH_RETRY_BASE_SECONDS = 0.01
    shared = connections[DEFAULT_DB_ALIAS]
    in_memory = shared.vendor == "sqlite" and shared.is_in_memory_db()
    worker = FetchWorker(concurrency=1 if in_memory else 3, max_rpm=600_000, once=False, idle_seconds=0.05)
    if in_memory:
        thread_main = FetchWorker._thread_main

        def on_the_shared_connection(self, index: int) -> None:
            connections[DEFAULT_DB_ALIAS] = shared
            thread_main(self, index)

        monkeypatch.setattr(FetchWorker, "_thread_main", on_the_shared_connection)
        shared.inc_thread_sharing()
    runner = threading.Thread(target=worker.run, name="browser-fetch-worker", daemon=True)
    yield runner.start
    worker.stop()
    if runner.is_alive() or runner.ident is not None:
        runner.join(timeout=10)
    if in_memory:
        shared.dec_thread_sharing()
    assert not runner.is_alive(), "the fetch worker did not stop"


def _stat(page, label: str) -> int:
    value = page.locator(".stat", has=page.locator(".label", has_text=re.compile(f"^{re.escape(label)}$")))
    return int(value.locator(".value").inner_text().replace(",", ""))


def _watch_progress(page, *, until: int, timeout_seconds: float = 30) -> list[int]:
    """The progress bar's values, read every 200 ms until it shows `until`."""
    shown = []
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        shown.append(int(page.locator("#batch-progress progress").get_attribute("value")))
        if shown[-1] == until:
            return shown
        page.wait_for_timeout(200)
    pytest.fail(f"the progress bar never reached {until}: {shown[-5:]}")


def _batch_requests(page, pattern: str) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if re.search(pattern, request.url) else None)
    return seen


def test_pasted_ids_are_previewed_queued_and_fetched_while_the_progress_bar_fills(
    member_page, live_server, fetch_worker
):
    page = member_page
    ids = demo_ids(60)
    lines = [*ids[:20], "", TOO_LONG, *ids[20:40], "tab\u200bbed", ids[0], *ids[40:], *UNKNOWN_IDS]
    page.goto(f"{live_server.url}/import/")
    page.fill("#id_text", "\n".join(lines))
    page.fill("#id_label", "Browser paste")
    page.click("form.import-form button[type=submit]")
    page.wait_for_load_state()

    assert _stat(page, "Ids found") == 62
    assert _stat(page, "New (will be queued)") == 62
    assert _stat(page, "Already stored") == 0
    assert _stat(page, "Invalid") == 2
    expect(page.locator(".stat", has_text="Ids found")).to_contain_text("plus 1 repeated")
    invalid = page.locator("table.data tbody tr")
    expect(invalid).to_have_count(2)
    # Each bad line is named by its line number in what was pasted (line 21 is the blank one).
    assert invalid.nth(0).locator("td").nth(0).inner_text() == "line 22"
    assert "longer than 256" in invalid.nth(0).inner_text()
    assert invalid.nth(1).locator("td").nth(0).inner_text() == "line 43"
    assert "spaces or control characters" in invalid.nth(1).inner_text()
    snapshot(page, "import-preview")
    assert LookupRequest.objects.count() == 0  # nothing is queued before the confirmation

    page.click("button[name=confirm]")
    page.wait_for_url(re.compile(r"/batches/\d+/$"))
    expect(page.locator(".message.success")).to_contain_text(re.compile(r"Queued 62 new ids of 6[23]"))
    bar = page.locator("#batch-progress progress")
    assert bar.get_attribute("max") == "62"
    assert bar.get_attribute("value") == "0"
    batch_url = page.url

    polls = _batch_requests(page, re.escape(batch_url.removeprefix(live_server.url)) + "$")
    fetch_worker()
    shown = _watch_progress(page, until=62)
    assert shown == sorted(shown), f"the bar went backwards: {shown}"
    expect(page.locator("#batch-progress")).to_contain_text("Done.")
    assert polls, "the page never asked for progress: htmx polling did not run"
    snapshot(page, "batch-done")

    assert _stat(page, "Stored") == 60
    assert _stat(page, "Not found") == 2
    problems = page.locator("#batch-progress table.data tbody tr")
    expect(problems).to_have_count(2)
    assert [problems.nth(n).locator("td").first.inner_text() for n in range(2)] == UNKNOWN_IDS
    assert all("Not found" in problems.nth(n).inner_text() for n in range(2))
    assert Generation.objects.filter(generation_id__in=ids).count() == 60

    # The finished partial carries no hx-trigger: polling stops.
    polls_when_done = len(polls)
    page.wait_for_timeout(POLL_INTERVAL_SECONDS * 1000 * 2 + 500)
    assert len(polls) == polls_when_done
    assert page.locator("#batch-progress[hx-trigger]").count() == 0


def test_an_uploaded_jsonl_file_is_previewed_with_its_bad_lines_and_queued(member_page, live_server, tmp_path):
    page = member_page
    ids = demo_ids(5, seed="upload")
    rows = [json.dumps({"id": generation_id, "model": "openai/gpt-4o"}) for generation_id in ids]
    rows.insert(2, json.dumps({"model": "no id here"}))
    rows.append("{not json")
    upload = tmp_path / "responses.jsonl"
    upload.write_text("\n".join(rows) + "\n")

    page.goto(f"{live_server.url}/import/")
    page.set_input_files("#id_file", str(upload))
    page.click("form.import-form button[type=submit]")
    page.wait_for_load_state()
    assert _stat(page, "Ids found") == 5
    assert _stat(page, "New (will be queued)") == 5
    assert _stat(page, "Invalid") == 2
    locations = page.locator("table.data tbody tr td:first-child").all_inner_texts()
    assert locations == ["line 3", "line 7"]

    page.click("button[name=confirm]")
    page.wait_for_url(re.compile(r"/batches/\d+/$"))
    expect(page.locator("p.eyebrow")).to_contain_text("Upload")
    assert set(LookupRequest.objects.values_list("generation_id", flat=True)) == set(ids)


def test_a_paste_over_djangos_limit_on_form_fields_is_previewed_and_queued(staff_page, live_server, settings):
    page = staff_page  # 13,000 ids: more than a member's daily limit
    text = "\n".join(f"gen-{n:05d}-" + "x" * 200 for n in range(13_000))
    assert len(text) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # 2.5 MB: the browser's own encoding is read as a file
    page.goto(f"{live_server.url}/import/")
    # As pasted: fill() would type it, for minutes.
    page.locator("#id_text").evaluate("(textarea, text) => { textarea.value = text; }", text)
    page.click("form.import-form button[type=submit]")
    page.wait_for_load_state()
    assert _stat(page, "New (will be queued)") == 13_000
    page.click("button[name=confirm]")
    page.wait_for_url(re.compile(r"/batches/\d+/$"))
    assert LookupRequest.objects.count() == 13_000

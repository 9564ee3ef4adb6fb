"""The worker, the lookup page and refresh against a misbehaving FastRouter (the simulator).

Each fault is played by the real simulator over HTTP; docs/design.md ("Faults") maps every fault to what
users see and what is stored, naming the tests below.
"""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.urls import reverse

from fastrouter_simulator.server import RESET_STATUS, demo_ids, simulator_id
from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest
from generations.ingest.worker import FetchWorker, RateLimiter
from generations.models import Generation, GenerationBody
from tests.factories import TEST_API_KEY

State = LookupRequest.State
ROOT = Path(__file__).resolve().parents[1]

# name -> simulator settings; every fault at a rate the worker must ride out.
WORKER_FAULTS = {
    "429-storm-seconds": {"rpm_limit": 8, "rpm_window_seconds": 1, "retry_after_format": "seconds"},
    "429-storm-http-date": {"rpm_limit": 8, "rpm_window_seconds": 1, "retry_after_format": "http-date"},
    "5xx-burst": {"error_rate": 0.5},
    "timeout": {"slow_rate": 0.3, "slow_seconds": 1.0},
    "connection-reset": {"reset_rate": 0.3},
    "truncated-body": {"malformed_rate": 0.4, "malformed_kinds": ("truncated",)},
    "non-json-body": {"malformed_rate": 0.4, "malformed_kinds": ("html", "array")},
    "wrong-types": {"malformed_rate": 0.5, "malformed_kinds": ("wrong_types",)},
    "404-then-found": {"not_found_for_seconds": 0.5},
}


@pytest.fixture
def simulator(use_simulator, settings):
    """Start a simulator (``simulator(**config)``) and point the app's settings at it."""

    def start(**config: object):
        server = use_simulator(seed=5, **config)
        settings.FASTROUTER_TIMEOUT = 0.4
        settings.FETCH_RETRY_BASE_SECONDS = 0.01
        settings.FETCH_MAX_ATTEMPTS = 30
        settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS = 5
        return server

    return start


def _drain(ids: list[str]) -> None:
    queue.generation_enqueue(ids=ids, source=LookupBatch.Source.CLI)
    # One thread on SQLite: its in-memory test database answers "table is locked" to concurrent writers.
    threads = 3 if connection.vendor == "postgresql" else 1
    FetchWorker(concurrency=threads, max_rpm=600_000, once=True, idle_seconds=0.05).run()


def _assert_every_id_stored_or_explained(ids: list[str]) -> dict[str, str]:
    rows = {r.generation_id: r for r in LookupRequest.objects.filter(generation_id__in=ids)}
    assert set(rows) == set(ids)
    for row in rows.values():
        assert row.state in (State.STORED, State.NOT_FOUND, State.FAILED)
        if row.state != State.STORED:
            assert row.last_error, row.generation_id
    stored = [i for i, r in rows.items() if r.state == State.STORED]
    # No duplicate rows, and a row for every id marked stored.
    assert Generation.objects.filter(generation_id__in=ids).count() == len(stored)
    assert GenerationBody.objects.filter(generation__generation_id__in=ids).count() == len(stored)
    return {i: r.state for i, r in rows.items()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", list(WORKER_FAULTS))
def test_worker_stores_every_id_once_under_each_fault(simulator, fault):
    server = simulator(**WORKER_FAULTS[fault])
    ids = demo_ids(40, seed=fault)
    _drain(ids)
    states = _assert_every_id_stored_or_explained(ids)
    assert set(states.values()) == {State.STORED}
    counts = server.status_counts()
    faulted = {
        "429-storm-seconds": 429,
        "429-storm-http-date": 429,
        "5xx-burst": 500,
        "connection-reset": RESET_STATUS,
        "404-then-found": 404,
    }
    if fault in faulted:
        # The fault really happened, and no id was fetched again once it had an answer.
        assert counts.get(faulted[fault], 0) + counts.get(502, 0) + counts.get(503, 0) > 0
        assert counts[200] == len(ids)
    elif fault == "timeout":
        assert server.status_counts()[200] > len(ids)  # slow answers arrived after the client gave up


@pytest.mark.django_db(transaction=True)
def test_wrong_types_are_stored_as_the_same_values_as_a_clean_answer(simulator):
    clean_ids, odd_ids = demo_ids(5, seed="clean"), demo_ids(5, seed="clean")
    server = simulator()
    _drain(clean_ids)
    expected = {g.generation_id: model_to_dict(g, exclude=["id", "fetched_at"]) for g in Generation.objects.all()}
    Generation.objects.all().delete()
    LookupRequest.objects.all().delete()
    server.config.malformed_rate, server.config.malformed_kinds = 1.0, ("wrong_types",)
    _drain(odd_ids)
    assert {g.generation_id: model_to_dict(g, exclude=["id", "fetched_at"]) for g in Generation.objects.all()} == (
        expected
    )


@pytest.mark.django_db(transaction=True)
def test_worker_explains_ids_it_cannot_fetch(simulator, settings):
    simulator(error_rate=1.0)
    settings.FETCH_MAX_ATTEMPTS = 3
    settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS = 0
    ids = demo_ids(5, seed="doomed")
    unknown = ["gen-never-issued-1", "gen-never-issued-2"]
    _drain(ids + unknown)
    states = _assert_every_id_stored_or_explained(ids + unknown)
    # 5xx until the attempts run out: failed, with the reason; the unknown ids too (the error
    # fault comes before the lookup), so all seven are explained and none stored.
    assert set(states.values()) == {State.FAILED}
    assert all(
        r.last_error.startswith("Gave up after 3 attempts")
        for r in LookupRequest.objects.filter(generation_id__in=ids + unknown)
    )


@pytest.mark.django_db(transaction=True)
def test_worker_marks_never_issued_ids_not_found(simulator, settings):
    simulator()
    settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS = 0
    _drain(["gen-never-issued-3"])
    row = LookupRequest.objects.get()
    assert (row.state, row.last_error) == (
        State.NOT_FOUND,
        "FastRouter has no generation with this id, or it has expired.",
    )


# --------------------------------------------------------------------------- lookup page and refresh

# name -> (simulator settings that make every answer fail, what the page says)
PAGE_FAULTS = {
    "429-seconds": ({"rpm_limit": 1, "rpm_window_seconds": 300, "retry_after_format": "seconds"}, "rate limiting"),
    "429-http-date": ({"rpm_limit": 1, "rpm_window_seconds": 300, "retry_after_format": "http-date"}, "rate limiting"),
    "5xx": ({"error_rate": 1.0}, "FastRouter"),
    "timeout": ({"slow_rate": 1.0, "slow_seconds": 1.0}, "did not answer in time"),
    "connection-reset": ({"reset_rate": 1.0}, "could not be reached"),
    "truncated-body": ({"malformed_rate": 1.0, "malformed_kinds": ("truncated",)}, "not valid JSON"),
    "html-body": ({"malformed_rate": 1.0, "malformed_kinds": ("html",)}, "not valid JSON"),
    "json-array-body": ({"malformed_rate": 1.0, "malformed_kinds": ("array",)}, "not an object"),
    "not-found": ({"not_found_for_seconds": 300}, "no generation with this id"),
}


def _start_faulty(simulator, config: dict, settings) -> object:
    # The page's client retries (backoff and Retry-After) within its deadline; keep that short.
    settings.FASTROUTER_TIMEOUT = 0.3
    server = simulator(**config)
    if "rpm_limit" in config:
        server.admit()  # use up the only slot: every request now gets a 429 with a long Retry-After
    return server


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", list(PAGE_FAULTS))
def test_lookup_page_explains_each_fault_and_stores_nothing(simulator, settings, user_client, fault):
    config, message = PAGE_FAULTS[fault]
    _start_faulty(simulator, config, settings)
    response = user_client.post(reverse("lookup"), {"generation_id": simulator_id(1, seed=fault)})
    assert response.status_code == 502
    assert message in response.content.decode()
    assert not Generation.objects.exists()
    assert not GenerationBody.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_lookup_page_finds_an_id_once_fastrouter_has_it(simulator, user_client):
    server = simulator(not_found_for_seconds=0.5)
    generation_id = simulator_id(2, seed="late")
    assert user_client.post(reverse("lookup"), {"generation_id": generation_id}).status_code == 502
    time.sleep(0.6)
    response = user_client.post(reverse("lookup"), {"generation_id": generation_id})
    assert response.status_code == 302
    assert Generation.objects.filter(generation_id=generation_id).count() == 1
    # Asking again reads the stored row: no second call to FastRouter, no second row.
    user_client.post(reverse("lookup"), {"generation_id": generation_id})
    assert server.status_counts() == {404: 1, 200: 1}
    assert Generation.objects.filter(generation_id=generation_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_lookup_page_answers_a_429_at_once_and_the_worker_waits_too(simulator, user_client, settings):
    server = simulator(rpm_limit=1, rpm_window_seconds=300, retry_after_format="seconds")
    server.admit()  # the only slot is used: every request now gets a 429 with Retry-After: 300
    response = user_client.post(reverse("lookup"), {"generation_id": simulator_id(3, seed="storm")})
    assert response.status_code == 502
    assert re.search(r"rate limiting us; try again in (299|300) s", response.content.decode())
    assert server.status_counts() == {429: 1}  # told, not retried: the web worker is free at once
    assert RateLimiter(settings.FASTROUTER_MAX_RPM).is_paused()
    assert not Generation.objects.exists()


def _snapshot(generation_id: str) -> tuple[dict, dict]:
    generation = Generation.objects.get(generation_id=generation_id)
    body = GenerationBody.objects.get(generation=generation)
    return model_to_dict(generation), model_to_dict(body)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", [*PAGE_FAULTS, "wrong-types-unparseable"])
def test_failed_refresh_leaves_the_stored_record_unchanged(simulator, settings, user_client, fault):
    generation_id = simulator_id(4, seed=fault)
    server = simulator()
    assert user_client.post(reverse("lookup"), {"generation_id": generation_id}).status_code == 302
    before = _snapshot(generation_id)
    server.shutdown()
    if fault == "wrong-types-unparseable":
        config, message = {"malformed_rate": 1.0, "malformed_kinds": ("truncated",)}, "not valid JSON"
    else:
        config, message = PAGE_FAULTS[fault]
    _start_faulty(simulator, config, settings)
    response = user_client.post(reverse("generation-detail", args=[generation_id]), follow=True)
    page = response.content.decode()
    assert "Refresh failed, the stored record is unchanged" in page
    assert message in page
    assert _snapshot(generation_id) == before
    assert Generation.objects.filter(generation_id=generation_id).count() == 1


# --------------------------------------------------------------------------- a killed worker


def _subprocess_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "FASTROUTER_BASE_URL": base_url,
        "FASTROUTER_API_KEY": TEST_API_KEY,
        "FASTROUTER_TIMEOUT": "2",
        "FETCH_CLAIM_SECONDS": "3",
        "FETCH_RETRY_BASE_SECONDS": "0.1",
        "FASTROUTER_NOT_FOUND_GRACE_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    if connection.vendor == "postgresql":
        # The test database pytest-django made (a transactional test, so the rows are visible).
        s = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    else:
        env.pop("DATABASE_URL", None)
    return env


def _manage(env: dict[str, str], *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120, **kwargs
    )


def _query(tmp_path: Path, sql: str) -> list[tuple]:
    """Read the database the subprocesses write (SQLite: the file in DATA_DIR)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    with sqlite3.connect(tmp_path / "fastrouter_dash.sqlite3") as db:
        return db.execute(sql).fetchall()


def _stored_count(tmp_path: Path) -> int:
    return _query(tmp_path, "SELECT COUNT(*) FROM generations_generation")[0][0]


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_loses_nothing_and_refetches_nothing_stored(tmp_path, start_simulator):
    # 60 ids at 240 requests/minute: the kill lands after a few are stored, mid-batch.
    server = start_simulator(seed=9)
    env = _subprocess_env(tmp_path, server.url.removesuffix("/api/v1/generation"))
    ids = demo_ids(60, seed="sigkill")
    if connection.vendor != "postgresql":
        _manage(env, "migrate", "-v0")
    _manage(env, "import_generations", "-", input="\n".join(ids).encode())
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "fetch_worker", "--concurrency", "2", "--max-rpm", "240"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _stored_count(tmp_path) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    stored_before = {row[0] for row in _query(tmp_path, "SELECT generation_id FROM generations_generation")}
    claimed = _query(tmp_path, "SELECT COUNT(*) FROM generations_lookuprequest WHERE state = 'fetching'")[0][0]
    assert 10 <= len(stored_before) < len(ids)
    answered_before = server.status_counts()[200]

    # The restarted worker takes over the dead one's claims once they expire (3 s).
    _manage(env, "fetch_worker", "--once", "--concurrency", "2", "--max-rpm", "6000")
    counts = server.status_counts()
    states = dict(_query(tmp_path, "SELECT generation_id, state FROM generations_lookuprequest"))
    assert set(states) == set(ids)
    assert set(states.values()) == {State.STORED}
    rows = _query(tmp_path, "SELECT generation_id, COUNT(*) FROM generations_generation GROUP BY generation_id")
    assert {gid for gid, _ in rows} == set(ids)
    assert {n for _, n in rows} == {1}
    # Only the ids not stored before the kill were fetched after it: at most the in-flight
    # claims of the dead worker were answered twice (killed between the answer and the commit).
    fetched_after = counts[200] - answered_before
    assert len(ids) - len(stored_before) <= fetched_after <= len(ids) - len(stored_before)
    assert answered_before - len(stored_before) <= claimed


# --------------------------------------------------------------------------- a responsive web under load


@pytest.mark.django_db(transaction=True)
def test_lookup_page_answers_while_the_worker_is_saturated(tmp_path, capsys, http_mock, start_simulator):
    # A slow FastRouter (every answer takes 1 s) and a worker with 6 threads draining 300 ids.
    server = start_simulator(slow_rate=1.0, slow_seconds=1.0)
    env = _subprocess_env(tmp_path, server.url.removesuffix("/api/v1/generation"))
    env["FETCH_CLAIM_SECONDS"] = "60"
    processes: list[subprocess.Popen] = []
    try:
        if connection.vendor != "postgresql":
            _manage(env, "migrate", "-v0")
        _manage(env, "import_generations", "-", input="\n".join(demo_ids(300, seed="busy")).encode())
        _manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('load', '', 'pw')",
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "fetch_worker", "--concurrency", "6", "--max-rpm", "6000"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        port = _free_port()
        processes.append(
            subprocess.Popen(  # noqa: S603 (our own manage.py)
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
                cwd=ROOT,
                env={**env, "DEBUG": "true"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        base = f"http://127.0.0.1:{port}"
        http_mock.add_passthru(base)
        session = _logged_in_session(base, "load", "pw")
        # Wait until the worker is busy (rows stored), then time the page a few times.
        deadline = time.monotonic() + 30
        while _stored_count(tmp_path) < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _stored_count(tmp_path) >= 6
        latencies = []
        for _ in range(10):
            started = time.monotonic()
            response = session.get(f"{base}/", timeout=15)
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200
            assert 'name="generation_id"' in response.text
        assert server.status_counts().get(200, 0) < 300  # still saturated: the queue is not drained yet
        with capsys.disabled():
            print(f"\nlookup page while the worker is saturated: {[round(x * 1000) for x in latencies]} ms")
    finally:
        for process in processes:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _logged_in_session(base: str, username: str, password: str):
    import requests

    session = requests.Session()
    deadline = time.monotonic() + 30
    while True:
        try:
            session.get(f"{base}/accounts/login/", timeout=5)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=30,
    )
    assert "sessionid" in session.cookies, response.status_code
    return session

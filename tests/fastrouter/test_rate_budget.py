"""The shared FastRouter rate budget, in the database and in Redis (the real one at 127.0.0.1:6379)."""

import json
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.db import connection

from generations.fastrouter.rate_budget import (
    DatabaseBudgetStore,
    RateBudget,
    RateBudgetBusy,
    RateBudgetUnavailable,
    RedisBudgetStore,
    budget_store,
)
from tests.ingest.test_worker import ONE_PER_SECOND, FixedClock
from tests.test_faults import ROOT, _manage, _subprocess_env

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL} ({error}); .ci/run starts one")
    return client


@pytest.fixture
def budget_name():
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture(params=["database", "redis"])
def store(request, budget_name):
    if request.param == "database":
        request.getfixturevalue("db")
        yield DatabaseBudgetStore()
        return
    client = _redis_or_skip()
    yield RedisBudgetStore(REDIS_URL)
    client.delete(RedisBudgetStore.key(budget_name))


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def budget(store, budget_name, clock):
    return RateBudget(ONE_PER_SECOND, store=store, name=budget_name, clock=clock)


def test_slots_are_evenly_spaced(budget):
    assert [budget.take() for _ in range(3)] == [0, 1, 2]


def test_a_slot_too_far_away_is_refused_saying_when_to_try_again_and_nothing_is_taken(budget):
    for _ in range(3):
        budget.take()
    with pytest.raises(RateBudgetBusy) as refused:
        budget.take(max_wait=2.5)
    assert refused.value.retry_after == pytest.approx(3)
    assert refused.value.user_message == "The FastRouter rate budget is in use; try again in 3 s."
    assert budget.take(max_wait=3) == pytest.approx(3)


def test_unused_slots_are_caught_up_one_second_at_most(budget, clock):
    budget.take()
    clock.now += 10
    assert [budget.take() for _ in range(3)] == [0, 0, 1]


def test_a_pause_holds_every_slot_and_only_ever_grows(budget, clock):
    budget.pause(25)
    budget.pause(5)
    assert budget.paused_until() == pytest.approx(1025)
    with pytest.raises(RateBudgetBusy, match="try again in 25 s"):
        budget.take(max_wait=2)
    clock.now += 25
    assert budget.take(max_wait=2) == 0


def test_two_budgets_in_one_store_share_it(store, budget_name, clock):
    # Two instances stand for two processes; a real second process is below.
    web = RateBudget(ONE_PER_SECOND, store=store, name=budget_name, clock=clock)
    worker = RateBudget(ONE_PER_SECOND, store=store, name=budget_name, clock=clock)
    assert worker.take() == 0
    assert web.take() == 1
    worker.pause(30)
    with pytest.raises(RateBudgetBusy, match="try again in 30 s"):
        web.take(max_wait=2)


def test_budgets_with_different_names_are_separate(store, budget_name, clock):
    RateBudget(ONE_PER_SECOND, store=store, name=budget_name, clock=clock).take()
    assert RateBudget(ONE_PER_SECOND, store=store, name=f"{budget_name}-other", clock=clock).take() == 0
    if isinstance(store, RedisBudgetStore):
        redis.Redis.from_url(REDIS_URL).delete(RedisBudgetStore.key(f"{budget_name}-other"))


def test_the_budget_lives_in_redis_when_cache_url_names_one_else_in_the_database(settings):
    assert isinstance(budget_store(), DatabaseBudgetStore)
    settings.CACHE_URL = REDIS_URL
    assert isinstance(budget_store(), RedisBudgetStore)


def test_unreachable_redis_is_a_clear_error_not_a_send():
    store = RedisBudgetStore("redis://127.0.0.1:1/0")
    with pytest.raises(RateBudgetUnavailable, match="could not be reached"):
        RateBudget(ONE_PER_SECOND, store=store).take()
    with pytest.raises(RateBudgetUnavailable):
        RateBudget(ONE_PER_SECOND, store=store).pause(5)


# From the same moment, each process takes its slots as fast as it can and prints when each one is.
# Their clocks stand still, so every slot is in the future and "now + wait" is the slot itself.
_TAKE_SLOTS = """
import json, time
from generations.fastrouter.rate_budget import RateBudget
budget = RateBudget({per_minute}, name={name!r}, clock=lambda: 1000.0)
time.sleep(max(0.0, {start_at} - time.time()))
print(json.dumps([1000.0 + budget.take() for _ in range({slots})]))
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_processes_started_together_never_get_slots_closer_than_the_interval(tmp_path, backend, budget_name):
    env = _subprocess_env(tmp_path, "http://127.0.0.1:9")
    if backend == "redis":
        client = _redis_or_skip()
        env["CACHE_URL"] = REDIS_URL
    elif connection.vendor != "postgresql":
        _manage(env, "migrate", "-v0")
    code = _TAKE_SLOTS.format(
        per_minute=int(ONE_PER_SECOND * 1000), name=budget_name, slots=300, start_at=time.time() + 6
    )
    processes = [
        subprocess.Popen(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "shell", "-v0", "-c", code],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        outputs = [process.communicate(timeout=120)[0] for process in processes]
    finally:
        if backend == "redis":
            client.delete(RedisBudgetStore.key(budget_name))
    assert [process.returncode for process in processes] == [0, 0]
    first, second = (json.loads(output) for output in outputs)
    # A thousand a second: the slots 1 ms apart from 1000.0 on, each taken by exactly one process.
    assert sorted(first + second) == pytest.approx([1000 + n / 1000 for n in range(600)], abs=1e-5)

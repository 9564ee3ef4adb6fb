"""READ_API_RATE_LIMIT: per read token, per minute, counted in Django's cache (Redis in production)."""

import ipaddress
import uuid

import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from monitoring import rate_limit
from monitoring.rate_limit import WINDOW_SECONDS, read_rate_limit_take
from monitoring.tokens import read_token_create
from tests.factories import make_generation

REDIS_URL = "redis://127.0.0.1:6379/0"
START = 1_764_000_000.0  # a window's start: 29,400,000 whole minutes


@pytest.fixture(params=["memory", "redis"])
def cache_backend(request, monkeypatch):
    """The limiter over the per-process memory cache and over Redis (CACHE_URL). Redis is swapped
    in for the limiter alone: a Django-wide Redis cache would be flushed by the suite's cache.clear()."""
    if request.param == "memory":
        yield None
        return
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL} ({error}); .ci/run starts one")
    prefix = f"test-{uuid.uuid4().hex}"
    monkeypatch.setattr(rate_limit, "cache", RedisCache(REDIS_URL, {"KEY_PREFIX": prefix}))
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _take(token_id: int, at: float) -> int | None:
    return read_rate_limit_take(token_id=token_id, clock=lambda: at)


def test_the_limit_is_reached_after_that_many_requests_in_a_minute(settings, cache_backend):
    settings.READ_API_RATE_LIMIT = 3
    assert [_take(1, START + n) for n in range(3)] == [None, None, None]
    assert _take(1, START + 15.2) == 45  # whole seconds to the next minute, rounded up
    assert _take(1, START + 59.9) == 1
    assert _take(1, START + WINDOW_SECONDS) is None  # a new minute


def test_each_token_has_its_own_count(settings, cache_backend):
    settings.READ_API_RATE_LIMIT = 1
    assert _take(1, START) is None
    assert _take(1, START) is not None
    assert _take(2, START) is None


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)  # the memory cache is per process
def test_processes_sharing_redis_share_the_count(settings, cache_backend, monkeypatch):
    settings.READ_API_RATE_LIMIT = 2
    assert _take(7, START) is None
    # Another process: its own connection to the same Redis.
    monkeypatch.setattr(rate_limit, "cache", RedisCache(REDIS_URL, {"KEY_PREFIX": cache_backend}))
    assert _take(7, START + 1) is None
    assert _take(7, START + 2) == 58


def test_zero_means_no_limit(settings, cache_backend):
    settings.READ_API_RATE_LIMIT = 0
    assert all(_take(1, START) is None for _ in range(100))


@pytest.fixture
def bearer(db):
    def make(name: str) -> dict:
        _, raw = read_token_create(name=name)
        return {"Authorization": f"Bearer {raw}"}

    return make


@pytest.mark.parametrize("path", ["/api/v1/summary", "/api/v1/generations/gen-1", "/metrics"])
def test_over_the_limit_is_429_with_retry_after_and_other_tokens_go_on(client, settings, bearer, path):
    settings.READ_API_RATE_LIMIT = 2
    make_generation("gen-1")
    notebook, grafana = bearer("notebook"), bearer("grafana")
    assert [client.get(path, headers=notebook).status_code for _ in range(2)] == [200, 200]
    refused = client.get(path, headers=notebook)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= WINDOW_SECONDS
    assert refused.json() == {
        "errors": [
            "This read token made more than 2 requests in a minute (READ_API_RATE_LIMIT); "
            f"try again in {refused['Retry-After']} s."
        ]
    }
    assert client.get(path, headers=grafana).status_code == 200


def test_refused_tokens_are_not_counted(client, settings, bearer):
    settings.READ_API_RATE_LIMIT = 1
    for _ in range(3):
        assert client.get("/api/v1/summary", headers={"Authorization": "Bearer frdr_wrong"}).status_code == 401
    assert client.get("/api/v1/summary", headers=bearer("notebook")).status_code == 200


def test_an_allowed_address_scrapes_metrics_without_a_limit(client, settings, bearer):
    settings.READ_API_RATE_LIMIT = 1
    settings.METRICS_ALLOWED_ADDRESSES = [ipaddress.ip_network("127.0.0.0/8")]
    assert [client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code for _ in range(3)] == [200, 200, 200]

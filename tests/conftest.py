import threading

import pytest
import responses
from django.core.cache import cache

from fastrouter_simulator.server import SimulatorConfig, make_server
from generations.fastrouter.client import FastRouterClient
from generations.fastrouter.factory import fastrouter_clients_reset
from generations.roles import role_grant
from tests.factories import TEST_API_KEY


@pytest.fixture(autouse=True)
def http_mock():
    # Any HTTP call a test did not register fails with ConnectionError.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture(autouse=True)
def fastrouter_settings(settings):
    settings.FASTROUTER_API_KEY = TEST_API_KEY
    settings.FASTROUTER_BASE_URL = "https://fastrouter.test"
    # Plain static storage: tests need no collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Fast hashing: test logins need no brute-force resistance.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


@pytest.fixture(autouse=True)
def no_retry_waits(monkeypatch):
    """Clients built during a test retry without really sleeping."""
    original_init = FastRouterClient.__init__

    def init_without_sleeping(self, **options):
        options.setdefault("sleep", lambda seconds: None)
        original_init(self, **options)

    monkeypatch.setattr(FastRouterClient, "__init__", init_without_sleeping)
    fastrouter_clients_reset()
    yield
    fastrouter_clients_reset()


@pytest.fixture
def start_simulator():
    """Start FastRouter simulators on free ports (``start_simulator(**config)``; the test key unless
    `api_key` is given), each serving in a thread until the test ends."""
    servers = []

    def start(**config: object):
        server = make_server(SimulatorConfig(**{"api_key": TEST_API_KEY, **config}))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    # Kept-alive connections outlive shutdown(): drop the pooled clients first so a later test
    # whose simulator gets the same port cannot reach an old server's handler thread.
    fastrouter_clients_reset()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def use_simulator(start_simulator, http_mock, settings):
    """`start_simulator`, with the app's FastRouter client pointed at the simulator it starts."""

    def start(**config: object):
        server = start_simulator(**config)
        base_url = server.url.removesuffix("/api/v1/generation")
        http_mock.add_passthru(base_url)
        settings.FASTROUTER_BASE_URL = base_url
        return server

    return start


@pytest.fixture
def user(django_user_model):
    """A member, the usual team login: reads everything and fetches within the daily limit."""
    member = django_user_model.objects.create_user(username="member", password="member-pass-123")
    role_grant(user=member, role="member")
    return member


@pytest.fixture
def viewer_user(django_user_model):
    """A login with no role: reads what is stored, fetches nothing."""
    return django_user_model.objects.create_user(username="viewer", password="viewer-pass-123")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser(username="boss", password="boss-pass-123")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(client, viewer_user):
    client.force_login(viewer_user)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture(autouse=True)
def empty_cache():
    """Test databases reuse ids, so a cache entry keyed by an id must not outlive its test."""
    cache.clear()
    yield
    cache.clear()

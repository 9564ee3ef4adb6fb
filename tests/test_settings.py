import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _start(code: str = "import django; django.setup()", **env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter, as start-up would, then run `code`."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FASTROUTER_", "DATABASE_URL", "DEBUG", "SECRET", "DEMO_TOOLS"))
    }
    clean.update(
        {"DJANGO_SETTINGS_MODULE": "fastrouter_dash.settings", "DATA_DIR": "/tmp/fastrouter-dash-settings-test"}
    )
    clean.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)  # noqa: S603 (our own code)


def test_starts_with_only_a_secret_key():
    assert _start(SECRET_KEY="s3cret-for-test").returncode == 0


def test_debug_off_without_secret_key_refuses_to_start():
    result = _start()
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_on_has_a_development_secret_key():
    assert _start(DEBUG="true").returncode == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DEMO_TOOLS", "maybe"),
        ("FASTROUTER_TIMEOUT", "soon"),
        ("FASTROUTER_TIMEOUT", "-1"),
        ("FASTROUTER_BASE_URL", "api.fastrouter.ai"),
        ("TIME_ZONE", "Mars/Olympus"),
        ("DATABASE_URL", "nonsense://x"),
        ("CACHE_URL", "memcached://127.0.0.1:11211"),
        ("FASTROUTER_INTERACTIVE_DEADLINE", "0"),
        ("WEB_QUERY_TIMEOUT_SECONDS", "-1"),
        ("METRICS_ALLOWED_ADDRESSES", "10.0.0.0/8, intranet"),
        ("METRICS_MAX_KEYS", "-5"),
        ("READ_API_RATE_LIMIT", "lots"),
        ("READ_API_RATE_LIMIT", "-1"),
        ("OTLP_TAG_ATTRIBUTES", "service.name,user id"),
        ("OTLP_MAX_BODY_BYTES", "10"),
        ("BUDGET_ANOMALY_FACTOR", "three"),
        ("BUDGET_ANOMALY_FACTOR", "0"),
        ("BUDGET_ANOMALY_MIN_USD", "-5"),
        ("BUDGET_ANOMALY_MIN_USD", "Infinity"),
        ("BUDGET_REPORT_ZONE", "Mars/Olympus"),
        ("BUDGET_DIGEST_TOP", "0"),
    ],
)
def test_malformed_values_stop_start_up_naming_the_variable(name, value):
    result = _start(SECRET_KEY="s3cret-for-test", **{name: value})
    assert result.returncode != 0
    assert name in result.stderr.splitlines()[-1]
    assert "Traceback" in result.stderr  # an ImproperlyConfigured, not a silent default


def test_a_zero_web_query_timeout_turns_the_limit_off():
    result = _start(
        "import django; django.setup(); from django.conf import settings; print(settings.WEB_QUERY_TIMEOUT_SECONDS)",
        SECRET_KEY="s3cret-for-test",
        WEB_QUERY_TIMEOUT_SECONDS="0",
    )
    assert result.stdout.strip() == "0.0", result.stderr


def test_anomaly_settings_are_exact_decimals():
    result = _start(
        "import django; django.setup(); from django.conf import settings; "
        "print(repr(settings.BUDGET_ANOMALY_FACTOR), repr(settings.BUDGET_ANOMALY_MIN_USD))",
        SECRET_KEY="s3cret-for-test",
        BUDGET_ANOMALY_FACTOR="2.5",
        BUDGET_ANOMALY_MIN_USD="0.10",
    )
    assert result.stdout.strip() == "Decimal('2.5') Decimal('0.10')", result.stderr


def test_metrics_allowed_addresses_are_networks():
    result = _start(
        "import django; django.setup(); from django.conf import settings; print(settings.METRICS_ALLOWED_ADDRESSES)",
        SECRET_KEY="s3cret-for-test",
        METRICS_ALLOWED_ADDRESSES=" 10.0.0.0/8, ::1 ,,192.168.1.7",
    )
    assert result.stdout.strip() == (
        "[IPv4Network('10.0.0.0/8'), IPv6Network('::1/128'), IPv4Network('192.168.1.7/32')]"
    ), result.stderr


def test_base_url_is_a_setting_for_either_documented_host():
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.FASTROUTER_BASE_URL)"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("FASTROUTER_")},
            "DJANGO_SETTINGS_MODULE": "fastrouter_dash.settings",
            "SECRET_KEY": "x",
            "FASTROUTER_BASE_URL": "https://go.fastrouter.ai/",
        },
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "https://go.fastrouter.ai"


def test_a_bad_cache_url_is_refused_without_echoing_its_password():
    result = _start(SECRET_KEY="s3cret-for-test", CACHE_URL="http://:hunter2@cache.example:6379/0")
    assert "CACHE_URL must be a redis://" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_redis_cache_url_makes_redis_django_s_cache():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.cache import caches; print(type(caches['default']))",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "fastrouter_dash.settings",
            "SECRET_KEY": "x",
            "CACHE_URL": "redis://127.0.0.1:6379/0",
        },
        capture_output=True,
        text=True,
    )
    assert "RedisCache" in result.stdout


_SIMULATOR_INSTALLED = (
    "import django; django.setup(); from django.apps import apps; print(apps.is_installed('fastrouter_simulator'))"
)


@pytest.mark.parametrize(
    ("env", "installed"),
    [
        ({"SECRET_KEY": "s3cret-for-test"}, "False"),
        ({"SECRET_KEY": "s3cret-for-test", "DEMO_TOOLS": "false", "DEBUG": "true"}, "False"),
        ({"DEBUG": "true"}, "True"),
        ({"SECRET_KEY": "s3cret-for-test", "DEMO_TOOLS": "true"}, "True"),
    ],
    ids=["production", "debug-without-demo-tools", "debug", "demo-tools-on"],
)
def test_the_simulator_app_is_installed_only_with_demo_tools(env, installed):
    result = _start(_SIMULATOR_INSTALLED, **env)
    assert result.stdout.strip() == installed, result.stderr


def test_postgresql_connections_keep_their_url_options_and_turn_jit_off():
    from fastrouter_dash.settings import envdatabase

    os.environ["TEST_JIT_DATABASE_URL"] = "postgres://u@db.example.com:5432/dash?options=-c%20search_path%3Ddash"
    try:
        config = envdatabase("TEST_JIT_DATABASE_URL", "")
    finally:
        del os.environ["TEST_JIT_DATABASE_URL"]
    assert config["OPTIONS"]["options"] == "-c search_path=dash -c jit=off"


@pytest.mark.django_db
def test_the_database_connection_runs_without_jit_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("JIT is a PostgreSQL setting; this run uses " + connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"

"""Security: headers and CSP, CSRF, login rate limit, admin access, the FastRouter key never shown."""

import logging
import os
import re
import secrets
import subprocess
import sys

import pytest
import requests
import responses
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from fastrouter_dash.settings import chartjs_script_source
from generations.ingest.models import LookupRequest
from generations.ingest.tokens import ingest_token_create
from monitoring import urls as monitoring_urls
from monitoring.tokens import read_token_create
from tests.factories import FASTROUTER_URL, TEST_API_KEY, full_payload, make_generation
from tests.pages import stored_generation_urls

pytestmark = pytest.mark.django_db


def test_every_page_sends_the_strict_content_security_policy(client):
    response = client.get(reverse("login"))
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy == {
        "default-src": "'self'",
        "script-src": "'self' https://cdn.jsdelivr.net/npm/chart.js@4.5.1/dist/chart.umd.min.js",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
        "base-uri": "'self'",
    }


def test_script_src_allows_exactly_the_chartjs_file_and_a_local_copy_needs_nothing_more():
    assert chartjs_script_source("https://cdn.example.org/npm/chart.js@4.5.1/chart.umd.min.js") == [
        "https://cdn.example.org/npm/chart.js@4.5.1/chart.umd.min.js"
    ]
    # A query is not part of a CSP source; "," and ";" would end it.
    assert chartjs_script_source("https://cdn.example.org/a,b;c.js?v=1") == ["https://cdn.example.org/a%2Cb%3Bc.js"]
    assert chartjs_script_source("//cdn.example.org/chart.js") == ["cdn.example.org/chart.js"]
    assert chartjs_script_source("/static/vendor/chart.js/chart.umd.min.js") == []


def test_other_security_headers(client):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def _deploy_check(**env: str) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_HTTPS", "DJANGO_SETTINGS_MODULE")},
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "dash.example.com",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_deploy_check_is_clean_with_production_settings():
    result = _deploy_check()
    assert result.returncode == 0, result.stderr


def test_deploy_check_flags_plain_http_in_production():
    result = _deploy_check(SECURE_HTTPS="false")
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr


@pytest.mark.parametrize(("url_name", "args"), [("lookup", []), ("generation-detail", ["gen-csrf"]), ("logout", [])])
def test_every_form_post_needs_the_csrf_token(user, url_name, args):
    make_generation("gen-csrf")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse(url_name, args=args), {"generation_id": "gen-csrf"})
    assert response.status_code == 403


def test_htmx_requests_carry_the_csrf_token_in_a_header(user_client):
    page = user_client.get(reverse("lookup")).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


def test_repeated_failed_logins_are_locked_out_with_the_site_page(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        failed = client.post(reverse("login"), {"username": "member", "password": "wrong"})
        assert failed.status_code == 200
    last_failure = client.post(reverse("login"), {"username": "member", "password": "wrong"})
    assert last_failure.status_code == 429
    locked = client.post(reverse("login"), {"username": "member", "password": "member-pass-123"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_correct_password_logs_in_through_the_axes_backend(client, user):
    response = client.post(reverse("login"), {"username": "member", "password": "member-pass-123"})
    assert response.status_code == 302
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/generations/generation/", "/admin/generations/keylabel/", "/admin/axes/accessattempt/"],
)
def test_non_staff_users_cannot_reach_the_admin(user_client, url):
    response = user_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- The FastRouter key never appears -------------------------------------------------------


def _plain_paths(patterns: list, prefix: str = "") -> list[str]:
    """Every URL of the project that takes no argument."""
    paths = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if "<" in route or "(" in route or "\\" in route:
            continue
        route = route.lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            paths += _plain_paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            paths.append("/" + prefix + route)
    return paths


def test_the_fastrouter_key_appears_on_no_page(staff_client):
    generation = make_generation("gen-walk", api_key_hash="sha256:walk")
    paths = [
        *_plain_paths(get_resolver().url_patterns),
        reverse("generation-detail", args=["gen-walk"]),
        reverse("generation-payload", args=["gen-walk"]),
        reverse("admin:generations_generation_change", args=[generation.pk]),
        "/no-such-page/",
    ]
    assert len(paths) > 20
    for path in paths:
        response = staff_client.get(path)
        assert response.status_code < 500, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert TEST_API_KEY.encode() not in body, path
        assert all(TEST_API_KEY not in value for value in response.headers.values()), path


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 404, "json": {"error": {"message": "not found"}}},
        {"status": 401, "json": {"error": {"message": f"Invalid API key {TEST_API_KEY}"}}},
        {"status": 429, "json": {"error": {"message": "slow down"}}, "headers": {"Retry-After": "9999"}},
        {"status": 400, "json": {"error": {"message": "bad id"}}},
        {"status": 200, "body": f"<html>proxy error for Bearer {TEST_API_KEY}</html>"},
        {"status": 200, "json": ["not", "an", "object"]},
        {"body": requests.ConnectionError(f"refused for {TEST_API_KEY}")},
    ],
    ids=["404", "401-echoing-key", "429", "400", "html-echoing-key", "not-an-object", "connection-error"],
)
def test_the_fastrouter_key_appears_in_no_log_record_or_page_on_failure(user_client, http_mock, caplog, answer):
    http_mock.add(responses.POST, FASTROUTER_URL, **answer)
    with caplog.at_level(logging.DEBUG):
        response = user_client.post(reverse("lookup"), {"generation_id": "gen-failing"})
    assert response.status_code == 502
    assert TEST_API_KEY.encode() not in response.content
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + (caplog.text or "")
        assert TEST_API_KEY not in text


def test_the_fastrouter_key_appears_in_no_log_record_on_success(user_client, http_mock, caplog):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-fine"))
    with caplog.at_level(logging.DEBUG):
        user_client.post(reverse("lookup"), {"generation_id": "gen-fine"})
    assert TEST_API_KEY not in caplog.text


# --- Caching, proxies ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [reverse("lookup"), *stored_generation_urls("gen-cache")])
def test_no_cache_may_keep_what_a_signed_in_user_sees(user_client, url):
    make_generation("gen-cache")
    response = user_client.get(url)
    assert response.status_code == 200
    assert "no-store" in response.get("Cache-Control", "")


def test_behind_a_proxy_a_lockout_locks_out_only_that_client(settings, user):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    attacker, colleague = Client(REMOTE_ADDR=proxy), Client(REMOTE_ADDR=proxy)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attacker.post(
            reverse("login"), {"username": "member", "password": "wrong"}, headers={"X-Forwarded-For": "203.0.113.9"}
        )
    correct = {"username": "member", "password": "member-pass-123"}
    locked = attacker.post(reverse("login"), correct, headers={"X-Forwarded-For": "203.0.113.9"})
    assert locked.status_code == 429
    # The client's own address is the one the proxy appended, whatever it wrote to the left.
    response = colleague.post(reverse("login"), correct, headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
    assert response.status_code == 302


# --- Token scopes: the read API and the ingest API ------------------------------------------------


def _read_api_paths() -> list[str]:
    """Every /api/v1 URL (arguments filled in); a new endpoint is covered without listing it here."""
    paths = []
    for pattern in monitoring_urls.urlpatterns:
        route = str(pattern.pattern)
        if route.startswith("api/v1/"):
            paths.append(
                "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: {"dimension": "model"}.get(match[1], "gen-1"), route)
            )
    return paths


def test_the_read_api_paths_include_every_endpoint():
    assert set(_read_api_paths()) >= {
        "/api/v1/openapi.json",
        "/api/v1/summary",
        "/api/v1/breakdown/model",
        "/api/v1/series",
        "/api/v1/generations",
        "/api/v1/generations/gen-1",
    }


@pytest.mark.parametrize("path", [p for p in _read_api_paths() if p != "/api/v1/openapi.json"])
def test_only_a_read_token_reads_the_api(user_client, path):
    make_generation("gen-1")
    _, ingest = ingest_token_create(name="billing")
    _, read = read_token_create(name="notebook")
    anonymous = Client()
    assert anonymous.get(path).status_code == 401
    assert user_client.get(path).status_code == 401  # a login session is not a token
    assert anonymous.get(path, headers={"Authorization": f"Bearer {ingest}"}).status_code == 403
    assert anonymous.get(path, headers={"Authorization": f"Bearer {read}"}).status_code == 200
    for method in (anonymous.post, anonymous.put, anonymous.delete):
        assert method(path, headers={"Authorization": f"Bearer {read}"}).status_code == 405


def test_the_openapi_document_is_public_and_names_no_secret(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert TEST_API_KEY not in response.content.decode()
    assert "frdr_" in response.content.decode()  # it says what a read token looks like, not one


@pytest.mark.parametrize("path", ["/api/ingest", "/api/ingest/otlp/v1/traces"])
def test_a_read_token_cannot_ingest(client, path):
    _, read = read_token_create(name="notebook")
    response = client.post(
        path, data='["gen-1"]', content_type="application/json", headers={"Authorization": f"Bearer {read}"}
    )
    assert response.status_code == 401
    assert not LookupRequest.objects.exists()

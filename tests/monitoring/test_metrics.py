import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from budgets.models import Budget
from generations.analytics.histograms import BIN_RATIO, bin_index
from generations.ingest.models import LookupRequest, WorkerStatus
from generations.models import Generation, KeyLabel
from generations.money import from_pico
from monitoring.tokens import read_token_create
from tests.factories import make_generation, make_generations

pytestmark = pytest.mark.django_db
START = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)
METRIC = re.compile(r"\bfastrouter_[a-z0-9_]+")


@pytest.fixture
def scrape(client):
    _, raw = read_token_create(name="prometheus")

    def get() -> dict:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return {family.name: family for family in text_string_to_metric_families(response.content.decode())}

    return get


def _samples(family, name: str | None = None) -> list:
    return [sample for sample in family.samples if name is None or sample.name == name]


def _sum_by(family, sample_name: str, **labels: str) -> float:
    return sum(
        sample.value
        for sample in _samples(family, sample_name)
        if all(sample.labels[name] == value for name, value in labels.items())
    )


def test_counters_equal_the_databases_exact_sums(scrape):
    KeyLabel.objects.create(api_key_hash="sha256:team-key", name="Support bot", team="support")
    make_generation("g1", cost_pico=1_234_567_890, input_tokens=11, output_tokens=7)
    make_generation("g2", cost_pico=98_765_432_100, model="anthropic/claude", provider="anthropic", is_byok=True)
    make_generation("g3", api_key_hash="sha256:team-key", occurred_at=START + timedelta(days=40), input_tokens=3)
    make_generation("g4", cost_pico=None, occurred_at=START - timedelta(days=400, minutes=7))
    families = scrape()
    cost = families["fastrouter_cost_usd"]
    exact = from_pico(Generation.objects.aggregate(total=Sum("cost_pico"))["total"])
    # Each exposed value's text is its series' exact sum, so they add up to the database's total.
    assert sum(Decimal(repr(sample.value)) for sample in _samples(cost, "fastrouter_cost_usd_total")) == exact
    for sample in _samples(cost, "fastrouter_cost_usd_total"):
        rows = Generation.objects.filter(model=sample.labels["model"], is_byok=sample.labels["byok"] == "true")
        rows = rows.filter(api_key_hash=sample.labels["key"])
        assert Decimal(repr(sample.value)) == from_pico(rows.aggregate(total=Sum("cost_pico"))["total"] or 0)
    assert _sum_by(families["fastrouter_requests"], "fastrouter_requests_total") == 4
    assert _sum_by(families["fastrouter_unpriced_requests"], "fastrouter_unpriced_requests_total") == 1
    assert _sum_by(families["fastrouter_input_tokens"], "fastrouter_input_tokens_total") == 11 + 100 + 3 + 100
    assert _sum_by(families["fastrouter_output_tokens"], "fastrouter_output_tokens_total") == 7 + 50 * 3
    support = _samples(families["fastrouter_requests"], "fastrouter_requests_total")
    assert {(s.labels["key_name"], s.labels["team"]) for s in support} >= {("Support bot", "support")}
    byok = _sum_by(families["fastrouter_requests"], "fastrouter_requests_total", byok="true", provider="anthropic")
    assert byok == 1


def test_label_sets_stay_within_the_key_cap_with_ten_thousand_keys(scrape, settings):
    settings.METRICS_MAX_KEYS = 25
    make_generations(
        {f"gen-{n}": {"api_key_hash": f"sha256:{n:08x}", "cost_pico": n * 1_000_000} for n in range(10_000)}
    )
    families = scrape()
    samples = _samples(families["fastrouter_cost_usd"], "fastrouter_cost_usd_total")
    keys = {sample.labels["key"] for sample in samples}
    assert len(keys) == 25 + 1
    assert "other" in keys
    # The biggest spenders keep their own label; nothing is lost under "other".
    assert f"sha256:{9_999:08x}" in keys
    assert _sum_by(families["fastrouter_requests"], "fastrouter_requests_total") == 10_000
    exact = from_pico(sum(n * 1_000_000 for n in range(10_000)))
    assert sum(Decimal(repr(sample.value)) for sample in samples) == exact


def test_latency_histogram_buckets_are_the_cumulative_log_bins(scrape):
    for n, latency in enumerate([100.0, 100.0, 950.0, 20_000.0]):
        make_generation(f"g{n}", latency_ms=latency)
    make_generation("other-model", model="x/y", provider="x", latency_ms=5.0)
    family = scrape()["fastrouter_latency_seconds"]
    buckets = [
        (float(s.labels["le"]), s.value)
        for s in _samples(family, "fastrouter_latency_seconds_bucket")
        if s.labels["model"] == "openai/gpt-4o-mini"
    ]
    assert buckets == sorted(buckets)
    assert buckets[-1] == (float("inf"), 4)
    edge_of_100ms = BIN_RATIO ** (bin_index(100.0) + 1) / 1000
    assert (pytest.approx(edge_of_100ms), 2) in [(le, count) for le, count in buckets]
    # The bins hold counts, not values: no made-up _sum (the +Inf bucket is the count).
    assert not _samples(family, "fastrouter_latency_seconds_sum")
    # One set of edges for every series, so they can be summed across models.
    les = {
        model: [s.labels["le"] for s in _samples(family) if s.labels["model"] == model]
        for model in ("x/y", "openai/gpt-4o-mini")
    }
    assert les["x/y"] == les["openai/gpt-4o-mini"]
    assert [s.value for s in _samples(family) if s.labels["model"] == "x/y"][-1] == 1


def test_queue_and_worker_gauges(scrape):
    now = timezone.now()
    for n, state in enumerate(["queued", "queued", "fetching", "failed", "not_found"]):
        LookupRequest.objects.create(
            generation_id=f"id-{n}", state=state, first_seen_at=now - timedelta(minutes=n + 1), next_attempt_at=now
        )
    WorkerStatus.objects.create(pk=1, auth_failed_at=now, auth_message="401", heartbeat_at=now)
    families = scrape()
    ids = {s.labels["state"]: s.value for s in _samples(families["fastrouter_queue_ids"])}
    assert ids == {"queued": 2, "fetching": 1, "stored": 0, "not_found": 1, "failed": 1}
    age = _samples(families["fastrouter_queue_oldest_queued_age_seconds"])[0].value
    assert 120 <= age < 180
    paused = {s.labels["reason"]: s.value for s in _samples(families["fastrouter_worker_paused"])}
    assert paused == {"auth_failed": 1, "rate_limited": 0, "no_worker_seen": 0}


def test_budget_gauges_come_from_the_budget_pages_figures(scrape):
    Budget.objects.create(name="All spend", amount_pico=10 * 10**12, period="month", zone="UTC")
    make_generation("g1", occurred_at=timezone.now() - timedelta(minutes=5), cost_pico=2 * 10**12)
    families = scrape()
    assert _samples(families["fastrouter_budget_amount_usd"])[0].value == 10
    assert _samples(families["fastrouter_budget_spent_usd"])[0].value == 2
    assert _samples(families["fastrouter_budget_forecast_usd"])[0].labels == {"budget": "All spend"}


def test_an_empty_database_still_scrapes(scrape):
    families = scrape()
    assert _samples(families["fastrouter_cost_usd"]) == []
    assert _samples(families["fastrouter_queue_oldest_queued_age_seconds"])[0].value == 0


@pytest.mark.parametrize(
    ("allowed", "remote", "forwarded", "proxies", "status"),
    [
        ("10.0.0.0/8", "10.1.2.3", "", 0, 200),
        ("10.0.0.0/8, ::1", "192.168.1.1", "", 0, 401),
        ("10.0.0.0/8", "127.0.0.1", "10.9.9.9", 1, 200),  # the proxy's X-Forwarded-For names the client
        ("10.0.0.0/8", "127.0.0.1", "10.9.9.9", 0, 401),  # no trusted proxy: a header anyone can write
        ("", "10.1.2.3", "", 0, 401),
    ],
)
def test_allowed_addresses_scrape_without_a_token(client, settings, allowed, remote, forwarded, proxies, status):
    settings.METRICS_ALLOWED_ADDRESSES = [ipaddress.ip_network(part.strip()) for part in allowed.split(",") if part]
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    assert client.get("/metrics", REMOTE_ADDR=remote, headers=headers).status_code == status


GRAFANA = settings.BASE_DIR / "docs" / "grafana" / "fastrouter-dash.json"


def test_every_metric_the_grafana_dashboard_names_is_exported(scrape):
    Budget.objects.create(name="All spend", amount_pico=10 * 10**12, period="month", zone="UTC")
    make_generation("g1")
    exported = {sample.name for family in scrape().values() for sample in family.samples}
    panels = json.loads(GRAFANA.read_text())["panels"]
    named = {name for panel in panels for target in panel["targets"] for name in METRIC.findall(target["expr"])}
    assert {"fastrouter_cost_usd_total", "fastrouter_latency_seconds_bucket", "fastrouter_queue_ids"} <= named
    assert named - exported == set()

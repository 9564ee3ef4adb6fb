import json
import math
import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from generations.analytics.histograms import percentile
from generations.analytics.measures import MEASURE_NAMES
from generations.analytics.models import HourlyRollup
from generations.analytics.rollups import (
    REQUESTS,
    Touch,
    bucket_edges,
    pieces_by_source,
    rollup_bin_counts,
    rollup_series_measures,
    rollup_span_measures,
    rollup_totals,
    rollups_check,
    rollups_cover,
    rollups_rebuild,
    rollups_recompute,
    share_pieces,
    touches_of,
)
from generations.fastrouter.details import GenerationDetails
from generations.models import Generation
from generations.services import generation_store, generation_store_many
from tests.factories import full_payload

MODELS = [("openai/gpt-4o-mini", "openai"), ("anthropic/claude-sonnet-4", "anthropic"), ("google/gemini", "google")]
KEYS = ["sha256:k1", "sha256:k2", "sha256:k3"]
ENDPOINTS = ["/v1/chat/completions", "/v1/embeddings"]
BASE = datetime(2025, 10, 20, tzinfo=UTC)


def random_details(rng: random.Random, generation_id: str) -> GenerationDetails:
    model, provider = rng.choice(MODELS)
    moment = BASE + timedelta(seconds=rng.randrange(0, 24 * 86400))
    cost = None if rng.random() < 0.1 else round(rng.uniform(0.00001, 0.05), 6)
    payload = full_payload(
        generation_id,
        model=model,
        provider_name=provider,
        api_key=rng.choice(KEYS),
        endpoint=rng.choice(ENDPOINTS),
        is_byok=rng.choice([True, False, None]),
        credits_used=cost,
        usage={"prompt_tokens": rng.randrange(1, 5000), "completion_tokens": rng.randrange(1, 2000), "cost": cost},
        query_time=moment.isoformat().replace("+00:00", "Z"),
        timing={"duration_ms": int(rng.lognormvariate(7, 1)) + 1},
    )
    return GenerationDetails.from_payload(payload)


@pytest.fixture
def random_history(db):
    """Random generations, then refreshes that move some to another model or time, then deletions."""
    rng = random.Random(7)
    generation_store_many(items=[(f"gen-{n}", random_details(rng, f"gen-{n}")) for n in range(300)])
    for n in rng.sample(range(300), 20):
        generation_store(generation_id=f"gen-{n}", details=random_details(rng, f"gen-{n}"))
    generation_store_many(items=[(f"gen-{n}", random_details(rng, f"gen-{n}")) for n in rng.sample(range(300), 40)])
    doomed = Generation.objects.filter(generation_id__in=[f"gen-{n}" for n in rng.sample(range(300), 30)])
    touched = touches_of(doomed)
    doomed.delete()
    rollups_recompute(touched)
    return rng


def test_rollups_match_raw_rows_after_refreshes_and_deletions(random_history):
    assert Generation.objects.count() == 270
    assert rollups_check() == []


def test_check_reports_a_tampered_bucket(random_history):
    row = HourlyRollup.objects.first()
    row.cost_pico += 1
    row.save()
    problems = rollups_check()
    assert len(problems) == 1
    assert problems[0].startswith("hour ")


def test_rebuild_restores_tampered_rollups(random_history):
    HourlyRollup.objects.filter(pk=HourlyRollup.objects.first().pk).delete()
    rollups_rebuild()
    assert rollups_check() == []


@pytest.mark.parametrize(
    "group_by",
    [(), ("model",), ("provider",), ("api_key_hash",), ("is_byok",), ("model", "endpoint")],
)
@pytest.mark.parametrize("filters", [{}, {"model": "google/gemini"}, {"api_key_hash": ["sha256:k1", "sha256:k2"]}])
def test_totals_from_rollups_equal_totals_from_raw_rows(random_history, group_by, filters):
    # Two whole UTC weeks inside, days, hours, half hours and minutes at both ends.
    start = BASE + timedelta(days=1, hours=5, minutes=17)
    end = BASE + timedelta(days=22, hours=2, minutes=43)
    from_rollups = rollup_totals(start, end, filters, group_by)
    assert from_rollups == rollup_totals(start, end, filters, group_by, raw=True)
    assert sum(row["requests"] for row in from_rollups) == (
        Generation.objects.filter(occurred_at__gte=start, occurred_at__lt=end, **_orm(filters)).count()
    )


def _orm(filters):
    return {f"{name}__in": value if isinstance(value, list) else [value] for name, value in filters.items()}


def test_totals_sum_costs_exactly_and_count_unknown_costs(random_history):
    rows = Generation.objects.all()
    expected_cost = sum(row.cost_pico for row in rows if row.cost_pico is not None)
    expected_unknown = sum(1 for row in rows if row.cost_pico is None)
    (total,) = rollup_totals(BASE - timedelta(days=1), BASE + timedelta(days=30))
    assert total["cost_pico"] == expected_cost
    assert total["requests"] - total["priced_requests"] == expected_unknown
    assert expected_unknown > 0


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "Asia/Kolkata", "America/Los_Angeles"])
@pytest.mark.parametrize("bucket", ["hour", "day", "week"])
def test_series_from_rollups_equal_series_from_raw_rows(random_history, zone, bucket):
    start, end = BASE + timedelta(hours=3, minutes=30), BASE + timedelta(days=23, minutes=45)
    edges, series = rollup_series_measures(start, end, ZoneInfo(zone), bucket, {}, ("model",))
    assert (edges, series) == rollup_series_measures(start, end, ZoneInfo(zone), bucket, {}, ("model",), raw=True)
    assert sum(sums[REQUESTS] for sums in series.values()) == (
        Generation.objects.filter(occurred_at__gte=start, occurred_at__lt=end).count()
    )


SOME_MEASURES = ("priced_requests", "cost_pico")


def series_of(start, end, **options):
    return rollup_series_measures(start, end, ZoneInfo("Asia/Kathmandu"), "hour", {}, ("model",), **options)[1]


def totals_of(start, end, **options):
    rows = rollup_totals(start, end, {}, ("api_key_hash",), **options)
    return {row["api_key_hash"]: tuple(row[name] for name in MEASURE_NAMES) for row in rows}


def spans_of(start, end, **options):
    middle = start + timedelta(days=5, minutes=7)
    return rollup_span_measures([start, middle, end], {}, ("model", "is_byok"), **options)


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("read_by", [series_of, totals_of, spans_of])
def test_a_read_of_some_measures_sums_those_and_reads_the_others_as_zero(random_history, read_by, raw):
    start, end = BASE + timedelta(hours=3, minutes=30), BASE + timedelta(days=23, minutes=45)
    every = read_by(start, end, raw=raw)
    some = read_by(start, end, raw=raw, read=SOME_MEASURES)
    assert some.keys() == every.keys()
    kept = [MEASURE_NAMES.index(name) for name in ("requests", *SOME_MEASURES)]  # requests always
    for group, sums in some.items():
        assert [sums[at] for at in kept] == [every[group][at] for at in kept]
        assert [value for at, value in enumerate(sums) if at not in kept] == [0] * (len(MEASURE_NAMES) - 3)


def test_a_range_is_read_from_the_coarsest_grain_that_fits_each_part():
    start, end = datetime(2025, 10, 19, 22, 40, tzinfo=UTC), datetime(2025, 11, 4, 1, 45, tzinfo=UTC)
    by_source = pieces_by_source([start, end], ["day", "hour", "quarter"])
    pieces = {source: [(p.start, p.end) for p in part] for source, part in by_source.items()}
    assert pieces == {
        "raw": [(start, datetime(2025, 10, 19, 22, 45, tzinfo=UTC))],
        "quarter": [
            (datetime(2025, 10, 19, 22, 45, tzinfo=UTC), datetime(2025, 10, 19, 23, tzinfo=UTC)),
            (datetime(2025, 11, 4, 1, tzinfo=UTC), end),
        ],
        "hour": [
            (datetime(2025, 10, 19, 23, tzinfo=UTC), datetime(2025, 10, 20, tzinfo=UTC)),
            (datetime(2025, 11, 4, tzinfo=UTC), datetime(2025, 11, 4, 1, tzinfo=UTC)),
        ],
        "day": [(datetime(2025, 10, 20, tzinfo=UTC), datetime(2025, 11, 4, tzinfo=UTC))],
    }


@pytest.mark.parametrize("grains", [["day", "hour", "quarter"], ["week", "day", "hour"]])
@pytest.mark.parametrize("bucket", ["hour", "day", "week", "month"])
@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"])
def test_every_bucket_gets_the_pieces_it_would_get_alone(zone, bucket, grains):
    # Buckets of one shape share a split (moved), across DST changes, months of one length starting
    # on other weekdays, and a range's raw edges.
    tz = ZoneInfo(zone)
    end = datetime(2025, 11, 9, 1, 50, tzinfo=UTC)
    start = end - timedelta(days={"hour": 50, "day": 50, "week": 120, "month": 320}[bucket], minutes=70)
    edges = [start, *bucket_edges(start, end, tz, bucket)[1:-1], end]
    together = pieces_by_source(edges, grains, subtract=True)
    alone = defaultdict(list)
    for index in range(len(edges) - 1):
        for source, pieces in pieces_by_source(edges[index : index + 2], grains, subtract=True).items():
            alone[source] += [replace(piece, bucket=index) for piece in pieces]
    assert together == alone


@pytest.mark.parametrize("bucket", ["hour", "day"])
@pytest.mark.parametrize(
    "zone", ["Asia/Kolkata", "Asia/Tokyo", "America/St_Johns", "Europe/Berlin", "Asia/Kathmandu", "Pacific/Chatham"]
)
def test_local_hours_and_days_in_every_zone_need_no_raw_rows(zone, bucket):
    tz = ZoneInfo(zone)
    edges = bucket_edges(datetime(2025, 10, 1, tzinfo=tz), datetime(2025, 11, 30, tzinfo=tz), tz, bucket)
    assert set(pieces_by_source(edges, ["day", "hour", "quarter"])) <= {"day", "hour", "quarter"}


def test_day_buckets_follow_local_midnights_across_a_dst_change():
    zone = ZoneInfo("Europe/Berlin")
    edges = bucket_edges(datetime(2025, 10, 25, tzinfo=zone), datetime(2025, 10, 28, tzinfo=zone), zone, "day")
    assert [edge.astimezone(zone).hour for edge in edges] == [0, 0, 0, 0]
    assert edges[2] - edges[1] == timedelta(hours=25)


@pytest.mark.parametrize("filters", [{}, {"api_key_hash": "sha256:k1"}, {"endpoint": "/v1/embeddings"}])
@pytest.mark.parametrize("kind", ["latency", "throughput"])
def test_percentiles_from_rollups_are_within_five_percent_of_exact_values(random_history, kind, filters):
    start, end = BASE + timedelta(hours=7, minutes=10), BASE + timedelta(days=22, hours=1)
    counts = rollup_bin_counts(start, end, filters, ("model",), kind)
    assert counts == rollup_bin_counts(start, end, filters, ("model",), kind, raw=True)
    column = "latency_ms" if kind == "latency" else "output_tokens_per_second"
    for (model,), bins in counts.items():
        values = sorted(
            Generation.objects.filter(model=model, occurred_at__gte=start, occurred_at__lt=end, **filters)
            .exclude(**{column: None})
            .values_list(column, flat=True)
        )
        for fraction in (0.5, 0.95):
            exact = values[max(1, math.ceil(fraction * len(values))) - 1]
            assert abs(percentile(bins, fraction) - exact) <= 0.05 * exact


def test_cover_is_false_for_filters_rollups_do_not_hold():
    assert rollups_cover({"model": "x", "api_key_hash": ["a"], "is_byok": None})
    assert not rollups_cover({"generation_id_prefix": "abc"})


def test_sums_are_plain_integers_on_every_database(random_history):
    (total,) = rollup_totals(BASE - timedelta(days=1), BASE + timedelta(days=30))
    assert all(type(value) is int for value in total.values())
    for bins in rollup_bin_counts(BASE - timedelta(days=1), BASE + timedelta(days=30)).values():
        assert all(type(count) is int for count in bins.values())


@pytest.mark.parametrize("flags", [True, [False], [True, None], [None], []])
def test_a_byok_filter_matches_unknown_flags_only_when_it_lists_none(random_history, flags):
    start, end = BASE, BASE + timedelta(days=24)
    listed = flags if isinstance(flags, list) else [flags]
    known = [flag for flag in listed if flag is not None]
    matching = Q(is_byok__in=known)
    if None in listed:
        matching |= Q(is_byok__isnull=True)
    expected = Generation.objects.filter(matching, occurred_at__gte=start, occurred_at__lt=end).count()

    rows = rollup_totals(start, end, {"is_byok": flags})

    assert sum(row["requests"] for row in rows) == expected
    assert rows == rollup_totals(start, end, {"is_byok": flags}, raw=True)


def test_an_empty_key_list_matches_nothing(random_history):
    start, end = BASE, BASE + timedelta(days=24)

    assert rollup_totals(start, end, {"api_key_hash": []}) == []
    assert rollup_bin_counts(start, end, {"api_key_hash": []}, ("model",)) == {}


def test_a_fall_back_day_has_two_buckets_for_its_repeated_hour(db):
    zone = ZoneInfo("Europe/Berlin")
    # 2026-10-25: 02:00–03:00 happens twice in Berlin (CEST, then CET).
    first, second = datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    stamps = [first, second, second]
    payloads = [
        full_payload(f"fold-{n}", query_time=at.isoformat().replace("+00:00", "Z")) for n, at in enumerate(stamps)
    ]
    generation_store_many(items=[(p["id"], GenerationDetails.from_payload(p)) for p in payloads])
    start = datetime(2026, 10, 25, tzinfo=zone)
    edges, series = rollup_series_measures(start, datetime(2026, 10, 26, tzinfo=zone), zone, "hour")
    by_start = {edges[bucket]: sums[REQUESTS] for (bucket,), sums in series.items()}
    assert by_start == {first.replace(minute=0): 1, second.replace(minute=0): 2}
    assert len(bucket_edges(start, datetime(2026, 10, 26, tzinfo=zone), zone, "hour")) == 26


def test_storing_one_generation_rewrites_only_its_own_buckets_in_a_few_statements(random_history):
    sent = []

    def capture(execute, sql, params, many, context):
        sent.append(params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        rollups_recompute([Touch(BASE + timedelta(hours=5, minutes=7), "google/gemini", "sha256:k1")])
    # 8 tables (6 and the 2 tag tables): a DELETE and an INSERT … SELECT each; 3 histogram grains:
    # a DELETE and the bins counted (one SELECT per kind from raw rows, or one of the hours' histograms) …
    by_pieces = [p for p in sent if isinstance(p, dict) and ("pieces" in p or "pieces_starts" in p)]
    assert len(by_pieces) == 24
    # … each for one bucket: the hour, day or week of the generation, of its model or its key.
    assert all(len(p.get("pieces_starts") or json.loads(p["pieces"])) == 1 for p in by_pieces)
    # … then an INSERT of each grain's packed histograms; the transaction; on PostgreSQL a lock.
    assert len(sent) <= 24 + 3 + 2 + 1


def test_storing_a_generation_costs_the_same_statements_however_many_are_stored(
    random_history, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as first:
        generation_store(generation_id="gen-new", details=random_details(random_history, "gen-new"))
    generation_store_many(items=[(f"more-{n}", random_details(random_history, f"more-{n}")) for n in range(300)])
    with django_assert_max_num_queries(len(first.captured_queries)):
        generation_store(generation_id="gen-new-2", details=random_details(random_history, "gen-new-2"))
    assert rollups_check() == []


def test_a_local_day_is_a_utc_day_less_and_plus_an_hour_when_that_reads_fewer_rows():
    zone = ZoneInfo("Europe/Berlin")  # winter: the local day starts at 23:00 UTC the day before
    edges = bucket_edges(datetime(2025, 11, 12, tzinfo=zone), datetime(2025, 11, 13, tzinfo=zone), zone, "day")
    by_source = pieces_by_source(edges, ["day", "hour", "quarter"], subtract=True)
    pieces = {source: [(p.start.hour, p.end.hour, p.sign) for p in part] for source, part in by_source.items()}
    assert pieces == {"hour": [(23, 0, 1), (23, 0, -1)], "day": [(0, 0, 1)]}


def test_an_overhang_two_local_days_share_is_read_once():
    zone = ZoneInfo("Europe/Berlin")  # winter: each local day starts at 23:00 UTC the day before
    edges = bucket_edges(datetime(2025, 11, 12, tzinfo=zone), datetime(2025, 11, 15, tzinfo=zone), zone, "day")
    by_source, shares = share_pieces(pieces_by_source(edges, ["day", "hour", "quarter"], subtract=True), 3)
    hours = sorted((p.start.day, p.start.hour, p.bucket, p.sign) for p in by_source["hour"])
    # 23:00 on the 11th (added to the first day), 23:00 on the 12th and 13th (subtracted from one
    # day, added to the next: read once each), 23:00 on the 14th (subtracted from the last day).
    assert hours == [(11, 23, 0, 1), (12, 23, 3, 1), (13, 23, 4, 1), (14, 23, 2, -1)]
    assert shares == {3: [(0, -1), (1, 1)], 4: [(1, -1), (2, 1)]}


def test_series_with_subtracted_overhangs_equal_series_from_raw_rows(random_history):
    # Local days and weeks of zones a few hours off UTC: UTC days plus and minus their edge hours.
    for zone in ("Europe/Berlin", "America/New_York", "Asia/Kathmandu"):
        start = datetime(2025, 10, 21, tzinfo=ZoneInfo(zone))
        for bucket in ("day", "week", "month"):
            args = (start, start + timedelta(days=18), ZoneInfo(zone), bucket, {}, ("model", "is_byok"))
            assert rollup_series_measures(*args) == rollup_series_measures(*args, raw=True), (zone, bucket)

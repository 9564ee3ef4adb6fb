"""Tags as filters and the cost-by-tag rollups: exact against raw rows after every kind of write."""

import random
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Exists, F, OuterRef, Sum

from generations.analytics.models import DailyTagRollup, HourlyTagRollup
from generations.analytics.rollups import rollup_tag_totals, rollup_totals, rollups_check, rollups_rebuild
from generations.models import Generation, GenerationTag
from generations.services import generation_purge, generation_store, generation_store_many, generation_tags_add
from tests.analytics.test_rollups import BASE, random_details

FEATURES = ["search", "chat", "summarise"]
# Two whole UTC days inside, hours and minutes at both ends.
START, END = BASE + timedelta(days=3, hours=5, minutes=17), BASE + timedelta(days=19, hours=2, minutes=43)


@pytest.fixture
def tagged_history(db):
    """Generations, two in three tagged (feature, and user for some), then refreshes that move some
    in time, a retag, and a purge of the oldest."""
    rng = random.Random(15)
    generation_store_many(items=[(f"gen-{n}", random_details(rng, f"gen-{n}")) for n in range(240)])
    tags = {}
    for n in range(240):
        if n % 3:
            tags[f"gen-{n}"] = {"feature": rng.choice(FEATURES), **({"user": f"u{n % 4}"} if n % 2 else {})}
    generation_tags_add(tags=tags)
    for n in rng.sample(range(240), 20):
        generation_store(generation_id=f"gen-{n}", details=random_details(rng, f"gen-{n}"))
    generation_store_many(items=[(f"gen-{n}", random_details(rng, f"gen-{n}")) for n in rng.sample(range(240), 30)])
    generation_tags_add(tags={"gen-1": {"feature": "chat"}, "gen-2": {"feature": "search", "user": "u9"}})
    generation_purge(older_than=BASE + timedelta(days=2))
    return rng


def _tagged(key: str, value: str | None):
    tag = GenerationTag.objects.filter(generation=OuterRef("pk"), key=key)
    return ~Exists(tag) if value is None else Exists(tag.filter(value=value))


def _raw_in_range():
    return Generation.objects.filter(occurred_at__gte=START, occurred_at__lt=END)


def test_tag_rollups_match_raw_rows_after_tagging_refreshes_and_purges(tagged_history):
    assert Generation.objects.count() < 240  # the purge removed some
    assert HourlyTagRollup.objects.exists() and DailyTagRollup.objects.exists()
    assert rollups_check() == []
    # Each tag keeps its generation's time, also after a refresh moved the generation.
    assert not GenerationTag.objects.exclude(occurred_at=F("generation__occurred_at")).exists()


def test_check_reports_a_tampered_tag_bucket_and_rebuild_restores_it(tagged_history):
    GenerationTag.objects.filter(pk=GenerationTag.objects.first().pk).update(occurred_at=BASE - timedelta(days=400))
    row = DailyTagRollup.objects.first()
    row.cost_pico += 1
    row.save()
    HourlyTagRollup.objects.filter(pk=HourlyTagRollup.objects.first().pk).delete()
    problems = rollups_check()
    assert {problem.split(" ")[0] for problem in problems} == {"tags:", "tagday", "taghour"}
    with pytest.raises(CommandError):
        call_command("check_rollups")
    rollups_rebuild()
    assert rollups_check() == []
    call_command("check_rollups")


@pytest.mark.parametrize(
    "filters",
    [{}, {"model": "google/gemini"}, {"api_key_hash": ["sha256:k1", "sha256:k3"]}, {"tags": (("user", "u1"),)}],
)
def test_tag_totals_from_rollups_equal_tag_totals_from_raw_rows_and_the_tags_themselves(tagged_history, filters):
    sums = rollup_tag_totals(START, END, "feature", filters)
    assert sums == rollup_tag_totals(START, END, "feature", filters, raw=True)
    rows = _raw_in_range().filter(tags__key="feature")
    if "model" in filters:
        rows = rows.filter(model=filters["model"])
    if "api_key_hash" in filters:
        rows = rows.filter(api_key_hash__in=filters["api_key_hash"])
    if "tags" in filters:
        rows = rows.filter(_tagged("user", "u1"))
    expected = {
        value: [requests, cost or 0]
        for value, requests, cost in rows.values_list("tags__value").annotate(Count("id"), Sum("cost_pico"))
    }
    assert {value: [measures[0], measures[2]] for value, measures in sums.items()} == expected
    assert set(expected) <= set(FEATURES) and expected


@pytest.mark.parametrize(
    "tags",
    [
        (("feature", "search"),),
        (("feature", "chat"), ("user", "u1")),
        (("feature", None),),
        (("feature", "search"), ("user", None)),
        (("feature", "no-such-value"),),
    ],
)
def test_a_tag_filter_counts_exactly_the_tagged_generations(tagged_history, tags):
    rows = _raw_in_range()
    for key, value in tags:
        rows = rows.filter(_tagged(key, value))
    expected = rows.aggregate(requests=Count("id"), cost=Sum("cost_pico"))

    found = rollup_totals(START, END, {"tags": tags})

    assert sum(row["requests"] for row in found) == expected["requests"]
    assert sum(row["cost_pico"] for row in found) == (expected["cost"] or 0)
    by_key = rollup_totals(START, END, {"tags": tags}, ("api_key_hash",))
    assert sum(row["requests"] for row in by_key) == expected["requests"]


def test_retagging_a_generation_moves_it_to_its_new_value(tagged_history):
    generation = Generation.objects.filter(tags__key="feature", tags__value="search").first()
    before = rollup_tag_totals(generation.occurred_at, generation.occurred_at + timedelta(hours=1), "feature")

    generation_tags_add(tags={generation.generation_id: {"feature": "brand-new"}})

    after = rollup_tag_totals(generation.occurred_at, generation.occurred_at + timedelta(hours=1), "feature")
    assert after["brand-new"][0] == 1
    assert after.get("search", [0])[0] == before["search"][0] - 1
    assert rollups_check() == []

"""Migrations stay runnable on old databases: they never import live code, and 0010 (which rebuilt
every rollup from the stored generations) leaves what `rebuild_rollups` builds today."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from generations.analytics.histograms import bin_index
from generations.analytics.rollups import ROLLUP_TABLES, rollups_rebuild
from generations.models import GenerationTag
from tests.imports import GENERATIONS, PROJECT, imported_modules

BEFORE_PACKED_HISTOGRAMS = [("generations", "0009_covering_key_bin_index")]


def test_no_migration_imports_live_code():
    migrations = sorted((GENERATIONS / "migrations").glob("0*.py"))
    importers = [
        str(path.relative_to(PROJECT))
        for path in migrations
        if any(name.split(".")[0] == "generations" for name in imported_modules(path))
    ]
    assert len(migrations) > 10  # the glob found them
    assert importers == []


def _old_generations(apps) -> None:
    """Generations over two UTC weeks (a week edge, half-hour edges), two keys, unknown costs and bins."""
    generation = apps.get_model("generations", "Generation")
    chance = random.Random(7)
    start = datetime(2025, 3, 8, 22, 0, tzinfo=UTC)  # a Saturday: the next week starts 26 hours later
    rows = []
    for n in range(300):
        latency = None if n % 11 == 0 else chance.uniform(50, 90_000)
        throughput = None if n % 7 == 0 else chance.uniform(1, 400)
        rows.append(
            generation(
                generation_id=f"old-{n}",
                model=chance.choice(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4"]),
                provider=chance.choice(["openai", "azure"]),
                api_key_hash=chance.choice(["sha256:aaaa", "sha256:bbbb"]),
                endpoint="/v1/chat/completions",
                is_byok=chance.choice([True, False, None]),
                cost_pico=None if n % 5 == 0 else chance.randrange(10**9),
                credits_used_pico=None if n % 6 == 0 else chance.randrange(10**9),
                input_tokens=chance.randrange(5000),
                output_tokens=None if n % 9 == 0 else chance.randrange(2000),
                latency_ms=latency,
                output_tokens_per_second=throughput,
                latency_bin=bin_index(latency),
                throughput_bin=bin_index(throughput),
                occurred_at=start + timedelta(minutes=chance.randrange(8 * 24 * 60)),
                fetched_at=timezone.now(),
            )
        )
    generation.objects.bulk_create(rows)
    # A stale rollup row (from a rebuild before a purge, say): the migration's refill replaces it.
    apps.get_model("generations", "DailyKeyRollup").objects.create(
        bucket_start=datetime(2020, 1, 1, tzinfo=UTC),
        model="gone",
        provider="gone",
        endpoint="",
        api_key_hash="gone",
        requests=1,
        cost_pico=0,
        cost_unknown=0,
        credits_used_pico=0,
        credits_unknown=0,
        input_tokens=0,
        output_tokens=0,
    )


def _rollup_rows() -> dict[str, list[tuple]]:
    rows = {}
    for table in ROLLUP_TABLES:
        names = [field.attname for field in table._meta.fields if not field.primary_key]
        rows[table.__name__] = sorted(
            (
                tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)
                for row in table.objects.values_list(*names)
            ),
            key=repr,
        )
    return rows


def _migrated_and_rebuilt(before: list[tuple[str, str]], store) -> tuple[dict, dict]:
    """The rollup rows after migrating from `before` (where `store(apps)` wrote the data) to the
    latest migration, and after a `rebuild_rollups` of the same data."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("generations")
    executor.migrate(before)
    executor.loader.build_graph()
    store(executor.loader.project_state(before).apps)
    executor.migrate(latest)
    migrated = _rollup_rows()
    rollups_rebuild()
    return migrated, _rollup_rows()


@pytest.mark.django_db(transaction=True)
def test_migrating_an_old_database_leaves_the_rollups_rebuild_rollups_makes():
    migrated, rebuilt = _migrated_and_rebuilt(BEFORE_PACKED_HISTOGRAMS, _old_generations)

    # Every table and grain has rows to compare but the tag ones (tags came later: the test below).
    assert all(rows for name, rows in rebuilt.items() if name not in TAG_TABLES)
    assert {name: len(rows) for name, rows in migrated.items()} == {name: len(rows) for name, rows in rebuilt.items()}
    assert migrated == rebuilt


TAG_TABLES = {"HourlyTagRollup", "DailyTagRollup"}
BEFORE_TAG_ROLLUPS = [("generations", "0021_checked_measures")]


def _tagged_generations(apps) -> None:
    """60 generations, 40 of them tagged (one or two names), before tags kept their time."""
    moment = datetime(2025, 3, 8, 22, 40, tzinfo=UTC)
    generation = apps.get_model("generations", "Generation")
    stored = generation.objects.bulk_create(
        generation(
            generation_id=f"tagged-{n}",
            cost_pico=None if n % 4 == 0 else n * 10**6,
            input_tokens=n,
            is_byok=n % 3 == 0,
            occurred_at=moment + timedelta(minutes=47 * n),
            fetched_at=timezone.now(),
        )
        for n in range(60)
    )
    tag = apps.get_model("generations", "GenerationTag")
    tag.objects.bulk_create(
        tag(generation_id=row.pk, key=key, value=f"{key}-{n % 3}")
        for n, row in enumerate(stored)
        for key in ("feature", "user")[: n % 3]
    )


@pytest.mark.django_db(transaction=True)
def test_migrating_a_database_with_tags_leaves_the_tag_rollups_rebuild_rollups_makes():
    migrated, rebuilt = _migrated_and_rebuilt(BEFORE_TAG_ROLLUPS, _tagged_generations)

    # The generations were written without their other rollups: the tag ones alone are compared.
    assert all(rebuilt[name] for name in TAG_TABLES)
    assert {name: migrated[name] for name in TAG_TABLES} == {name: rebuilt[name] for name in TAG_TABLES}
    times = set(GenerationTag.objects.values_list("occurred_at", "generation__occurred_at"))
    assert len(times) == 40 and all(copied == own for copied, own in times)

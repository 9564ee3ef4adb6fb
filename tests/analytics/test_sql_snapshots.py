"""The exact SQL text of representative rollup reads and writes, kept in one Markdown document per
database (tests/analytics/snapshots/<vendor>.md, a `sql` block under each case's name), so a change
to a statement shows in review as a diff of plain SQL.

After a deliberate change, rewrite the snapshots and read their diff:

    UPDATE_SQL_SNAPSHOTS=1 pytest tests/analytics/test_sql_snapshots.py
    UPDATE_SQL_SNAPSHOTS=1 DATABASE_URL=postgres://… pytest tests/analytics/test_sql_snapshots.py
"""

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from generations.analytics.charts import TIME_CHART_MEASURES
from generations.analytics.rollups import (
    Touch,
    rollup_bin_counts_by_kind,
    rollup_series_measures,
    rollup_tag_totals,
    rollup_totals,
    rollups_check,
    rollups_recompute,
)
from generations.analytics.statements import totals_of_ids
from generations.models import Generation
from tests.factories import make_generation

SNAPSHOTS = Path(__file__).parent / "snapshots"
# Minutes past the hour at both ends: every grain of the keyless tables and raw rows are read.
START = datetime(2025, 10, 19, 22, 40, tzinfo=UTC)
END = datetime(2025, 10, 24, 1, 50, tzinfo=UTC)


def statements_of(action) -> str:
    """Every statement `action` sends, without transaction control, each ended by a blank line."""
    sent = []

    def capture(execute, sql, params, many, context):
        if not sql.lstrip().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            sent.append(sql.strip() + "\n")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        action()
    return "\n".join(sent)


# One case per distinct statement text, not per caller: the text varies with the kinds of
# condition and the tables a read unions, not with the buckets, their signs or the values, which
# are parameters. So a series (rollup_series_measures: the same statement as the totals, one bucket
# index a piece) and histograms without a key filter (a key's less one line) have no case of their own;
# which grains each zone's buckets read is tested in test_rollups.py.
CASES = {
    "totals_by_provider_of_a_model": lambda: rollup_totals(
        START, END, {"model": "openai/gpt-4o", "is_byok": [True, None]}, ("provider",)
    ),
    "totals_per_key_of_an_id_prefix": lambda: rollup_totals(START, END, {}, ("api_key_hash",), id_prefix="gen_1"),
    "bins_by_model_of_a_key": lambda: rollup_bin_counts_by_kind(START, END, {"api_key_hash": ["k1", "k2"]}, ("model",)),
    "recompute_one_generation": lambda: rollups_recompute([Touch(START, "openai/gpt-4o", "sha256:k1")]),
    "check": lambda: rollups_check(start=START, end=START + timedelta(days=1)),
    "totals_by_model_of_chosen_generations": lambda: totals_of_ids(
        Generation.objects.filter(provider="openai").values("id"), ["model"]
    ).rows(),
    "totals_by_key_of_two_tags_and_an_untagged_name": lambda: rollup_totals(
        START, END, {"tags": (("feature", "search"), ("team", None), ("user", "42"))}, ("api_key_hash",)
    ),
    # The dashboard's time charts read a few measures; raw rows at either end.
    "series_of_the_time_charts_by_model": lambda: rollup_series_measures(
        START, END, ZoneInfo("Asia/Kolkata"), "hour", {}, ("model",), read=TIME_CHART_MEASURES
    ),
    "tag_totals_from_rollups": lambda: rollup_tag_totals(START, END, "feature"),
    "tag_totals_of_a_model": lambda: rollup_tag_totals(START, END, "feature", {"model": "openai/gpt-4o"}),
}


SNAPSHOT_HEADING = (
    "# The SQL of representative rollup statements ({vendor})\n\n"
    "Written by tests/analytics/test_sql_snapshots.py with UPDATE_SQL_SNAPSHOTS=1: review the diff.\n"
)
SNAPSHOT_CASE = re.compile(r"^## (?P<case>\w+)\n\n```sql\n(?P<sql>.*?)```$", re.MULTILINE | re.DOTALL)


def read_snapshots(path: Path) -> dict[str, str]:
    return {found["case"]: found["sql"] for found in SNAPSHOT_CASE.finditer(path.read_text())} if path.exists() else {}


def write_snapshots(path: Path, snapshots: dict[str, str]) -> None:
    sections = [f"## {case}\n\n```sql\n{snapshots[case]}```\n" for case in sorted(snapshots)]
    path.write_text("\n".join([SNAPSHOT_HEADING.format(vendor=connection.vendor), *sections]))


@pytest.mark.parametrize("case", CASES)
def test_statements_match_their_snapshot(db, case):
    make_generation("gen-1", occurred_at=START + timedelta(hours=1))
    sql = statements_of(CASES[case])
    path = SNAPSHOTS / f"{connection.vendor}.md"
    snapshots = read_snapshots(path)
    if os.environ.get("UPDATE_SQL_SNAPSHOTS"):
        write_snapshots(path, {**snapshots, case: sql})
        snapshots[case] = sql
    assert case in snapshots, f"no snapshot {case} in {path}: run with UPDATE_SQL_SNAPSHOTS=1 and review it"
    assert sql == snapshots[case], f"{case}: the SQL differs from {path} (UPDATE_SQL_SNAPSHOTS=1 rewrites it)"


def test_the_statement_text_does_not_grow_with_the_number_of_buckets(db):
    def series(days: int) -> str:
        return statements_of(
            lambda: rollup_series_measures(START, START + timedelta(days=days), ZoneInfo("Asia/Kathmandu"), "hour")
        )

    assert series(1) == series(60)

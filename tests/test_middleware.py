import pytest
from django.db import connection

from generations.analytics import dashboard as analytics

# Committed transactions: on PostgreSQL a cancelled statement aborts the test case's wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)

# Runs far longer than the limit on either database.
SLOW_SQL = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(5)",
}


def run_slow_query(*args, **kwargs):
    with connection.cursor() as cursor:
        cursor.execute(SLOW_SQL[connection.vendor])


@pytest.fixture
def slow_dashboard(monkeypatch, settings):
    settings.WEB_QUERY_TIMEOUT_SECONDS = 0.2
    monkeypatch.setattr(analytics, "dashboard", run_slow_query)
    monkeypatch.setattr(analytics, "dashboard_chart", run_slow_query)


def test_a_statement_over_the_time_limit_is_stopped_with_a_clear_page(user_client, slow_dashboard):
    response = user_client.get("/dashboard/")
    assert response.status_code == 503
    assert "took longer than 0.2 s" in response.content.decode()


def test_a_chart_csv_over_the_time_limit_answers_plain_text(user_client, slow_dashboard):
    response = user_client.get("/dashboard/table/cost-by-model.csv")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")


def test_the_limit_is_lifted_after_the_request(user_client, slow_dashboard, settings):
    user_client.get("/dashboard/")
    settings.WEB_QUERY_TIMEOUT_SECONDS = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"

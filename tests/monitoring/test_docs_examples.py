"""The README's and docs/monitoring.md's prometheus.yml and curl examples work as written."""

import re

import pytest
from django.conf import settings
from django.urls import resolve

from monitoring.tokens import read_token_create
from tests.factories import make_generation

pytestmark = pytest.mark.django_db
README = settings.BASE_DIR / "README.md"
MONITORING = settings.BASE_DIR / "docs" / "monitoring.md"
CURL = re.compile(
    r'^curl (?:-H "\$H" )?(?:-H "Authorization: Bearer \$TOKEN" )?"?https://dash\.example\.com(/[^"\s]*)"?'
)
SCRAPE_JOB = re.compile(r"```yaml\n# prometheus.yml\n.*?```", re.DOTALL)


def _curled_paths(document) -> list[str]:
    lines = document.read_text(encoding="utf-8").splitlines()
    return [match.group(1) for line in lines if (match := CURL.match(line)) and "<" not in match.group(1)]


@pytest.mark.parametrize("document", [README, MONITORING], ids=["README", "monitoring.md"])
def test_every_curl_example_answers_200(client, document):
    make_generation("chatcmpl-fr-7d41c0a2e9b84f61")
    _, raw = read_token_create(name="docs")
    paths = _curled_paths(document)
    assert len(paths) >= 7
    for path in paths:
        assert client.get(path, headers={"Authorization": f"Bearer {raw}"}).status_code == 200, path


def test_the_readme_curls_every_api_endpoint_and_metrics(client):
    documented = client.get("/api/v1/openapi.json").json()["paths"]
    curled = {resolve(path.split("?")[0]).url_name for path in _curled_paths(README)}
    assert curled == {"metrics", *(resolve(path.replace("{", "").replace("}", "")).url_name for path in documented)}


def test_the_readme_and_the_monitoring_doc_show_the_same_scrape_job():
    readme, monitoring = (SCRAPE_JOB.search(doc.read_text(encoding="utf-8")) for doc in (README, MONITORING))
    assert readme and monitoring
    assert readme.group() == monitoring.group()
    assert "metrics_path: /metrics\n" in readme.group()
    assert resolve("/metrics").url_name == "metrics"

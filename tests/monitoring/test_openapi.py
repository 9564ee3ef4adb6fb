"""/api/v1/openapi.json: a valid OpenAPI 3.1 document that real responses of every endpoint match.

Requests and responses are checked by openapi-core (paths, parameters, security, status codes,
headers, bodies with the 3.1 JSON Schema dialect and its formats), not by hand.
"""

from datetime import UTC, datetime

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from generations.analytics.filters import DashboardFilterForm, GenerationListFilterForm
from generations.ingest.tokens import ingest_token_create
from monitoring.api import BREAKDOWN_COLUMNS
from monitoring.openapi import field_schema, openapi_document
from monitoring.tokens import read_token_create
from tests.factories import make_generations

pytestmark = [
    pytest.mark.django_db,
    # The parameters say allowEmptyValue: the pages' forms send blank fields, and blank is the default.
    pytest.mark.filterwarnings("ignore:Use of allowEmptyValue property is deprecated:DeprecationWarning"),
]
CUSTOM = {"range": "custom", "start": "2025-11-01", "end": "2025-11-30"}
FILTER_COMBINATIONS = [
    {},
    {"range": "24h", "byok": "yes", "bucket": "hour"},
    {**CUSTOM, "tz": "Asia/Kolkata", "split": "provider"},
    {**CUSTOM, "team": "support", "model": "anthropic/claude", "bucket": ""},
]
FILTERED = ["/api/v1/summary", "/api/v1/series", *(f"/api/v1/breakdown/{name}" for name in BREAKDOWN_COLUMNS)]
BAD_FILTERS = {"range": "custom", "start": "2025-11-30", "end": "2025-11-01", "tz": "Mars/Olympus"}


@pytest.fixture
def spec(client) -> OpenAPI:
    return OpenAPI.from_dict(client.get("/api/v1/openapi.json").json())


@pytest.fixture
def tokens() -> dict[str, dict]:
    _, read = read_token_create(name="notebook")
    _, ingest = ingest_token_create(name="billing")
    return {
        "read": {"Authorization": f"Bearer {read}"},
        "ingest": {"Authorization": f"Bearer {ingest}"},
        "none": {},
        "unknown": {"Authorization": "Bearer frdr_not-a-token"},
    }


@pytest.fixture
def call(client, spec, tokens):
    """GET, check the response (and, for a 2xx, the request) against the document, return it."""

    def get(path: str, params: dict | None = None, *, auth: str = "read", status: int = 200):
        response = client.get(path, params or {}, headers=tokens[auth])
        assert response.status_code == status, response.content
        if status < 300:
            spec.validate_request(DjangoOpenAPIRequest(response.wsgi_request))
        spec.validate_response(DjangoOpenAPIRequest(response.wsgi_request), DjangoOpenAPIResponse(response))
        return response

    return get


def test_the_document_is_valid_openapi_3_1(client, call):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1.")
    validate(document)  # raises on an invalid document
    call("/api/v1/openapi.json", auth="none")


def test_a_broken_document_is_refused_by_the_validator():
    broken = {**openapi_document(dimensions=tuple(BREAKDOWN_COLUMNS)), "paths": {"summary": {}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_the_filtered_operations_take_exactly_the_forms_parameters(client):
    document = client.get("/api/v1/openapi.json").json()
    components = document["components"]["parameters"]

    def query_names(path: str) -> set[str]:
        refs = [p["$ref"] for p in document["paths"][path]["get"]["parameters"] if "$ref" in p]
        return {components[ref.rsplit("/", 1)[1]]["name"] for ref in refs}

    for path in ("/api/v1/summary", "/api/v1/series", "/api/v1/breakdown/{dimension}"):
        assert query_names(path) == set(DashboardFilterForm.base_fields)
    assert query_names("/api/v1/generations") == set(GenerationListFilterForm.base_fields)
    for name, field in GenerationListFilterForm.base_fields.items():
        assert components[name]["schema"] == field_schema(field)
    dimension = document["paths"]["/api/v1/breakdown/{dimension}"]["get"]["parameters"][0]
    assert dimension["schema"]["enum"] == list(BREAKDOWN_COLUMNS)


@pytest.mark.parametrize("params", FILTER_COMBINATIONS, ids=lambda params: "&".join(map("=".join, params.items())))
def test_every_filtered_endpoint_answers_as_documented(call, stored, params):
    for path in FILTERED:
        call(path, params)
    call("/api/v1/generations", {**params, "sort": "cost", "per_page": "25"})


def test_the_list_pages_and_a_generation_answer_as_documented(call, stored):
    make_generations({f"bulk-{n}": {"occurred_at": datetime(2025, 11, 21, tzinfo=UTC)} for n in range(30)})
    first = call("/api/v1/generations", {**CUSTOM, "per_page": "25"}).json()
    last = call("/api/v1/generations", {**CUSTOM, "per_page": "25", "after": first["next_after"]}).json()
    assert first["totals"] and last["totals"] is None and last["next_after"] == ""
    assert call("/api/v1/generations/gen-2").json()["cost_usd"] == "0.003000000021"
    assert call("/api/v1/generations/gen-unknowns").json()["byok"] is None


@pytest.mark.parametrize("path", [*FILTERED, "/api/v1/generations"])
def test_bad_filters_answer_the_documented_400(call, path):
    assert call(path, BAD_FILTERS, status=400).json()["errors"]


@pytest.mark.parametrize(
    ("path", "status"), [("/api/v1/generations/nope", 404), ("/api/v1/breakdown/colour", 404)], ids=["id", "dimension"]
)
def test_unknowns_answer_the_documented_404(call, path, status):
    call(path, status=status)


@pytest.mark.parametrize("path", [*FILTERED, "/api/v1/generations", "/api/v1/generations/gen-1"])
@pytest.mark.parametrize(("auth", "status"), [("none", 401), ("unknown", 401), ("ingest", 403)])
def test_refused_tokens_answer_as_documented(call, path, auth, status):
    call(path, auth=auth, status=status)


@pytest.mark.parametrize("path", [*FILTERED, "/api/v1/generations", "/api/v1/generations/gen-1"])
def test_the_rate_limit_answers_the_documented_429(call, settings, path):
    settings.READ_API_RATE_LIMIT = 1
    call("/api/v1/generations/gen-1", status=404)
    call(path, status=429)


def test_every_documented_answer_is_exercised_above(client):
    """Each operation's statuses are the ones the tests above reach: a new one needs its test."""
    document = client.get("/api/v1/openapi.json").json()
    documented = {(path, status) for path, item in document["paths"].items() for status in item["get"]["responses"]}
    filtered_errors = {"400", "401", "403", "429"}
    assert documented == {
        ("/api/v1/openapi.json", "200"),
        *(("/api/v1/summary", s) for s in {"200", *filtered_errors}),
        *(("/api/v1/series", s) for s in {"200", *filtered_errors}),
        *(("/api/v1/generations", s) for s in {"200", *filtered_errors}),
        *(("/api/v1/breakdown/{dimension}", s) for s in {"200", "404", *filtered_errors}),
        *(("/api/v1/generations/{generation_id}", s) for s in {"200", "404", "401", "403", "429"}),
    }

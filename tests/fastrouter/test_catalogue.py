"""The model catalogue (`GET /api/v1/models`): parsing every odd price, and the client's retries."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import responses

from generations.fastrouter.catalogue import Catalogue, Price
from generations.fastrouter.client import FastRouterClient
from generations.fastrouter.errors import MalformedResponse, NotConfigured, RateLimited, UpstreamError

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
BASE_URL = "https://fastrouter.test"
MODELS_URL = BASE_URL + "/api/v1/models"


def client(**overrides) -> FastRouterClient:
    options = {"base_url": BASE_URL, "api_key": "", "sleep": lambda seconds: None}
    return FastRouterClient(**(options | overrides))


def one_entry(pricing) -> str:
    return json.dumps({"data": [{"id": "m/one", "pricing": pricing}]})


# --------------------------------------------------------------------------- prices


@pytest.mark.parametrize(
    ("sent", "amount"),
    [
        ("0.000002", Decimal("0.000002")),
        ("1e-6", Decimal("0.000001")),
        ("2.5E-7", Decimal("0.00000025")),
        (" 0.039 ", Decimal("0.039")),
        ("0", Decimal(0)),
        (0, Decimal(0)),
        ("999.999999999999", Decimal("999.999999999999")),
    ],
)
def test_price_strings_parse_as_exact_decimals(sent, amount):
    price = Price.parse(sent)
    assert price.amount == amount and not price.variable and not price.problem


def test_a_json_number_price_keeps_every_digit():
    catalogue = Catalogue.from_text('{"data": [{"id": "m/one", "pricing": {"prompt": 0.000000123457}}]}')
    assert catalogue.entries[0].pricing.prompt.amount == Decimal("0.000000123457")


@pytest.mark.parametrize("sent", ["-1", -1, "-1.0", "-1e0"])
def test_minus_one_means_a_variable_price(sent):
    assert Price.parse(sent) == Price(amount=None, variable=True)


@pytest.mark.parametrize("sent", [None, "", "   "])
def test_empty_or_null_price_is_absent(sent):
    assert Price.parse(sent) == Price()


@pytest.mark.parametrize(
    ("sent", "problem"),
    [
        ("-0.5", "negative"),
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("-inf", "not a finite number"),
        ("1e999999999", "implausibly large"),
        ("1000", "implausibly large"),
        ("1e-15", "finer than a pico-dollar"),
        ("free", "not a number"),
        (True, "a boolean, not a price"),
        ({"per": "token"}, "not a price"),
        ([1], "an array, not a price"),
    ],
)
def test_unusable_prices_say_why_and_have_no_amount(sent, problem):
    price = Price.parse(sent)
    assert price.amount is None and not price.variable
    assert problem in price.problem


def test_missing_pricing_leaves_every_price_absent():
    entry = Catalogue.from_text('{"data": [{"id": "m/one"}]}').entries[0]
    assert [entry.pricing.prompt, entry.pricing.completion, entry.pricing.image, entry.pricing.request] == [Price()] * 4


def test_pricing_that_is_not_an_object_is_missing_pricing():
    entry = Catalogue.from_text(one_entry("0.1")).entries[0]
    assert entry.pricing.prompt == Price() and entry.pricing.problems == []


def test_an_unusable_price_is_named_in_the_entrys_problems():
    entry = Catalogue.from_text(one_entry({"prompt": "0.1", "completion": "-2"})).entries[0]
    assert entry.pricing.prompt.amount == Decimal("0.1")
    assert entry.pricing.problems == ["pricing.completion: '-2' is negative"]


# --------------------------------------------------------------------------- entries and the list


def test_the_documented_sample_parses_whole():
    catalogue = Catalogue.from_text((SAMPLES / "models-list.json").read_text())
    assert catalogue.rejected == ()
    by_id = {entry.id: entry for entry in catalogue.entries}
    assert len(by_id) == 7
    sonar = by_id["perplexity/sonar"]
    assert sonar.pricing.request.amount == Decimal("0.005")
    assert sonar.context_length == 127072 and sonar.max_completion_tokens == 8000
    assert sonar.created == datetime(2025, 2, 1, tzinfo=UTC)
    assert sonar.owned_by == "perplexity" and sonar.name == "Sonar"
    assert by_id["google/gemini-2.5-flash-image"].pricing.image.amount == Decimal("0.039")
    assert by_id["meta-llama/llama-3.3-70b-instruct"].max_completion_tokens is None


def test_unknown_fields_are_kept_in_raw():
    entry = Catalogue.from_text('{"data": [{"id": "m/one", "architecture": {"modality": "text"}}]}').entries[0]
    assert entry.raw["architecture"] == {"modality": "text"}


def test_odd_field_types_become_unknown_without_losing_the_entry():
    body = {"data": [{"id": "m/one", "name": 5, "created": "yesterday", "context_length": "-3", "pricing": {}}]}
    entry = Catalogue.from_text(json.dumps(body)).entries[0]
    assert (entry.name, entry.created, entry.context_length) == ("", None, None)


def test_bad_entries_are_counted_and_skipped_and_the_rest_kept():
    body = {"data": [{"id": "m/good"}, "text", {"name": "no id"}, {"id": "x" * 201}, {"id": "m/good"}, {"id": "m/two"}]}
    catalogue = Catalogue.from_text(json.dumps(body))
    assert [entry.id for entry in catalogue.entries] == ["m/good", "m/two"]
    assert [(bad.position, bad.reason) for bad in catalogue.rejected] == [
        (1, "a string, not a model object"),
        (2, "no model id"),
        (3, f"the model id {'x' * 40!r}… is too long or unprintable"),
        (4, "a second entry for 'm/good'"),
    ]


def test_a_bare_list_is_accepted():
    assert Catalogue.from_text('[{"id": "m/one"}]').entries[0].id == "m/one"


@pytest.mark.parametrize("body", ["<html>", '{"data": {"id": "m"}}', '{"object": "list"}', '"models"'])
def test_a_body_without_a_list_of_models_is_malformed(body):
    with pytest.raises(MalformedResponse):
        Catalogue.from_text(body)


# --------------------------------------------------------------------------- the client


def test_list_models_sends_no_key_and_parses_the_answer(http_mock):
    http_mock.add(responses.GET, MODELS_URL, body=(SAMPLES / "models-list.json").read_text())
    catalogue = client(api_key="fr-test-secret-9f3").list_models()
    assert len(catalogue.entries) == 7
    assert "Authorization" not in http_mock.calls[0].request.headers


def test_list_models_needs_no_key(http_mock):
    http_mock.add(responses.GET, MODELS_URL, body='{"data": []}')
    assert client(api_key="").list_models().entries == ()


def test_list_models_retries_server_errors_then_succeeds(http_mock):
    http_mock.add(responses.GET, MODELS_URL, status=503)
    http_mock.add(responses.GET, MODELS_URL, status=502, body="<html>Bad Gateway</html>")
    http_mock.add(responses.GET, MODELS_URL, body='{"data": [{"id": "m/one"}]}')
    assert client().list_models().entries[0].id == "m/one"
    assert len(http_mock.calls) == 3


def test_list_models_gives_up_after_its_attempts(http_mock):
    http_mock.add(responses.GET, MODELS_URL, status=500)
    with pytest.raises(UpstreamError):
        client(max_attempts=3).list_models()
    assert len(http_mock.calls) == 3


def test_list_models_honours_retry_after(http_mock):
    waits = []
    http_mock.add(responses.GET, MODELS_URL, status=429, headers={"Retry-After": "2"})
    http_mock.add(responses.GET, MODELS_URL, body='{"data": []}')
    client(sleep=waits.append).list_models()
    assert waits == [2.0]


def test_list_models_does_not_retry_a_404(http_mock):
    http_mock.add(responses.GET, MODELS_URL, status=404)
    with pytest.raises(UpstreamError) as excinfo:
        client().list_models()
    assert excinfo.value.status == 404 and len(http_mock.calls) == 1


def test_list_models_rate_limit_beyond_the_cap_is_raised(http_mock):
    http_mock.add(responses.GET, MODELS_URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited):
        client().list_models()


def test_list_models_without_an_address_is_not_configured():
    with pytest.raises(NotConfigured):
        client(base_url="").list_models()

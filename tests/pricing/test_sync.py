"""sync_models: the catalogue's prices as a history, and nothing stored lost on a bad answer."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from django.core.management import CommandError, call_command

from generations.fastrouter.catalogue import Catalogue
from pricing import services
from pricing.models import CatalogueModel, CatalogueSync, ModelPrice
from pricing.services import pricing_record, pricing_sync

pytestmark = pytest.mark.django_db

SAMPLE = (Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "models-list.json").read_text()
MODELS_URL = "https://fastrouter.test/api/v1/models"
DAY_ONE = datetime(2025, 3, 1, tzinfo=UTC)


def catalogue(*entries) -> Catalogue:
    return Catalogue.from_payload({"data": list(entries)})


def model(model_id="m/one", prompt="0.000001", completion="0.000002", **pricing) -> dict:
    return {"id": model_id, "pricing": {"prompt": prompt, "completion": completion, **pricing}}


def test_sync_stores_every_model_and_its_prices(http_mock):
    http_mock.add(responses.GET, MODELS_URL, body=SAMPLE)
    report = pricing_sync(now=DAY_ONE)
    assert (report.seen, report.added, report.prices_changed, report.skipped) == (7, 7, 0, [])
    sonar = ModelPrice.objects.get(model__model_id="perplexity/sonar")
    assert (sonar.prompt, sonar.completion, sonar.request, sonar.image) == (
        Decimal("0.000001"),
        Decimal("0.000001"),
        Decimal("0.005"),
        None,
    )
    assert sonar.first_seen_at == DAY_ONE
    stored = CatalogueModel.objects.get(model_id="perplexity/sonar")
    assert stored.context_length == 127072 and stored.raw["object"] == "model"


def test_a_new_price_row_only_when_a_price_changes():
    pricing_record(catalogue=catalogue(model()), seen_at=DAY_ONE)
    pricing_record(catalogue=catalogue(model()), seen_at=DAY_ONE + timedelta(days=1))
    report = pricing_record(catalogue=catalogue(model(completion="1.5e-6")), seen_at=DAY_ONE + timedelta(days=2))
    assert report.prices_changed == 1
    history = [(row.first_seen_at, row.completion) for row in ModelPrice.objects.order_by("first_seen_at")]
    assert history == [(DAY_ONE, Decimal("0.000002")), (DAY_ONE + timedelta(days=2), Decimal("0.0000015"))]
    assert CatalogueModel.objects.get().last_seen_at == DAY_ONE + timedelta(days=2)
    assert CatalogueSync.objects.count() == 3


def test_variable_and_absent_prices_are_stored_as_such():
    pricing_record(catalogue=catalogue(model(prompt="-1", completion="")), seen_at=DAY_ONE)
    row = ModelPrice.objects.get()
    assert row.prompt_variable and row.prompt_pico is None
    assert not row.completion_variable and row.completion_pico is None
    assert not row.checkable


def test_one_malformed_entry_is_skipped_and_counted_and_the_rest_kept():
    pricing_record(catalogue=catalogue(model("m/bad"), model("m/good")), seen_at=DAY_ONE)
    report = pricing_record(
        catalogue=catalogue(model("m/bad", prompt="NaN"), "junk", model("m/good", prompt="0.000003")),
        seen_at=DAY_ONE + timedelta(days=1),
    )
    assert report.seen == 1 and report.prices_changed == 1
    assert report.skipped == [
        "entry 2: a string, not a model object",
        "m/bad: pricing.prompt: 'NaN' is not a finite number",
    ]
    # The bad entry's stored prices stay as they were.
    assert ModelPrice.objects.filter(model__model_id="m/bad").get().prompt == Decimal("0.000001")
    assert ModelPrice.objects.filter(model__model_id="m/good").count() == 2


def test_an_entry_the_database_refuses_is_skipped_in_its_own_savepoint(monkeypatch):
    record = services._record_entry

    def refuse_one(entry, seen_at):
        if entry.id == "m/refused":
            for _ in range(2):  # the second breaks the unique model id: an IntegrityError
                CatalogueModel.objects.create(model_id=entry.id, first_seen_at=seen_at, last_seen_at=seen_at)
        return record(entry, seen_at)

    monkeypatch.setattr(services, "_record_entry", refuse_one)
    report = pricing_record(catalogue=catalogue(model("m/refused"), model("m/kept")), seen_at=DAY_ONE)
    assert report.skipped == ["m/refused: could not be stored (IntegrityError)"]
    assert list(CatalogueModel.objects.values_list("model_id", flat=True)) == ["m/kept"]


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, "<html>maintenance</html>"), (200, '{"data": "none"}'), (500, "{}"), (404, "")],
)
def test_a_failed_or_malformed_answer_changes_nothing_stored(http_mock, status, body):
    pricing_record(catalogue=catalogue(model()), seen_at=DAY_ONE)
    http_mock.add(responses.GET, MODELS_URL, status=status, body=body)
    with pytest.raises(CommandError, match="Nothing stored was changed"):
        call_command("sync_models")
    assert ModelPrice.objects.get().completion == Decimal("0.000002")
    assert CatalogueSync.objects.count() == 1


def test_sync_models_command_reports_what_it_did(http_mock, capsys):
    body = json.loads(SAMPLE)
    body["data"].append({"id": "m/odd", "pricing": {"prompt": "-0.5"}})
    http_mock.add(responses.GET, MODELS_URL, json=body)
    call_command("sync_models")
    out = capsys.readouterr().out
    assert "Catalogue synced: 7 models (7 new), 0 price changes, 1 entries skipped." in out
    assert "skipped m/odd: pricing.prompt: '-0.5' is negative" in out


def test_sync_models_every_must_be_positive():
    with pytest.raises(CommandError, match="positive"):
        call_command("sync_models", "--every", "0")

"""Keeping the catalogue: `pricing_sync` fetches it through the FastRouter client, `pricing_record`
stores one answer (the demo replays the simulator's past catalogue through it too)."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone

from generations.fastrouter.catalogue import PRICE_FIELDS, Catalogue, CatalogueEntry
from generations.fastrouter.client import FastRouterClient
from generations.fastrouter.factory import catalogue_client
from generations.money import to_pico
from pricing.models import CatalogueModel, CatalogueSync, ModelPrice

logger = logging.getLogger("pricing")


@dataclass
class SyncReport:
    seen: int = 0
    added: int = 0
    prices_changed: int = 0
    # One line per entry left out, and why: its stored model and prices stay as they were.
    skipped: list[str] = field(default_factory=list)


def pricing_sync(*, client: FastRouterClient | None = None, now: datetime | None = None) -> SyncReport:
    """Fetch the catalogue and record it. A `FastRouterError` (after the client's retries) changes
    nothing stored."""
    catalogue = (client or catalogue_client()).list_models()
    return pricing_record(catalogue=catalogue, seen_at=now or timezone.now())


def pricing_record(*, catalogue: Catalogue, seen_at: datetime) -> SyncReport:
    """Store one catalogue answer seen at `seen_at`, in one transaction; each entry in a savepoint of
    its own, so one that cannot be stored is skipped and counted, never the others."""
    report = SyncReport(skipped=[f"entry {bad.position + 1}: {bad.reason}" for bad in catalogue.rejected])
    with transaction.atomic():
        for entry in catalogue.entries:
            problems = entry.pricing.problems
            if problems:
                # A price we cannot use is not a price change: the history keeps the last good one.
                report.skipped.append(f"{entry.id}: {'; '.join(problems)}")
                continue
            try:
                with transaction.atomic():
                    added, changed = _record_entry(entry, seen_at)
            except DatabaseError as error:
                logger.warning("Catalogue entry %r not stored: %s", entry.id, error)
                report.skipped.append(f"{entry.id}: could not be stored ({type(error).__name__})")
                continue
            report.seen += 1
            report.added += added
            report.prices_changed += changed
        CatalogueSync.objects.create(
            synced_at=seen_at,
            models_seen=report.seen,
            models_added=report.added,
            prices_changed=report.prices_changed,
            entries_skipped=len(report.skipped),
        )
    return report


def _price_values(entry: CatalogueEntry) -> dict:
    values = {}
    for name in PRICE_FIELDS:
        price = getattr(entry.pricing, name)
        values[f"{name}_pico"] = to_pico(price.amount)
        values[f"{name}_variable"] = price.variable
    return values


def _record_entry(entry: CatalogueEntry, seen_at: datetime) -> tuple[bool, bool]:
    """(the model is new, a price row was added)."""
    details = {
        "name": entry.name,
        "owned_by": entry.owned_by,
        "context_length": entry.context_length,
        "max_completion_tokens": entry.max_completion_tokens,
        "created": entry.created,
        "raw": entry.raw,
        "last_seen_at": seen_at,
    }
    model, added = CatalogueModel.objects.select_for_update().update_or_create(
        model_id=entry.id, defaults=details, create_defaults={**details, "first_seen_at": seen_at}
    )
    prices = ModelPrice(model=model, first_seen_at=seen_at, **_price_values(entry))
    latest = model.prices.order_by("-first_seen_at").first()
    if latest is not None and latest.values() == prices.values():
        return added, False
    prices.save()
    return added, latest is not None

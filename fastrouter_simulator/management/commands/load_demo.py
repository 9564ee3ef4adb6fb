import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fastrouter_simulator.server import HISTORY_DAYS, catalogue_payload, demo_ids, price_change_at
from generations import services
from generations.fastrouter.catalogue import Catalogue
from generations.fastrouter.errors import FastRouterError, GenerationNotFound, UpstreamUnavailable
from generations.ingest import queue
from generations.ingest.models import LookupBatch
from pricing.models import CatalogueSync
from pricing.services import pricing_record


class Command(BaseCommand):
    help = "Queue the simulator's demo generations; the fetch worker then fetches them like any other ids."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, default=500)
        parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the simulator to start")

    def handle(self, *args, count: int, wait: float, **options) -> None:
        ids = demo_ids(count)
        self._wait_for_upstream(ids[0], wait)
        self._seed_price_history()
        batch = queue.generation_enqueue(ids=ids, source=LookupBatch.Source.DEMO, label="Demo data")
        if not batch.new_count:
            self.stdout.write(f"All {count} demo generations are already stored or queued.")
            return
        self.stdout.write(
            f"Queued {batch.new_count} demo generations as batch {batch.pk}; "
            f"the fetch worker loads them (progress at /batches/{batch.pk}/)."
        )

    def _seed_price_history(self) -> None:
        """Record the simulator's catalogue as it stood at the start of the demo history and at its
        price change, each seen when it took effect. `sync_models` sees only today's catalogue, and
        records a price from when it first sees it: a fresh demo would have one price period, and
        the cost check would re-price the calls before the change at the new price."""
        if CatalogueSync.objects.exists():
            return  # a catalogue is already kept: never rewrite its history
        now = timezone.now()
        for moment in (now - timedelta(days=HISTORY_DAYS), price_change_at(now)):
            catalogue = Catalogue.from_payload(catalogue_payload(now=now, as_of=moment))
            pricing_record(catalogue=catalogue, seen_at=moment)
        self.stdout.write("Recorded the simulator's price history (one price change) in the catalogue.")

    def _wait_for_upstream(self, generation_id: str, wait: float) -> None:
        """Only checks that the simulator answers; storing is the worker's job."""
        deadline = time.monotonic() + wait
        while True:
            try:
                services.generation_probe(generation_id=generation_id)
                return
            except (UpstreamUnavailable, GenerationNotFound):
                if time.monotonic() > deadline:
                    raise CommandError("The FastRouter simulator did not answer; is it running?") from None
                time.sleep(0.5)
            except FastRouterError as error:
                raise CommandError(error.user_message) from None

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from generations import services
from generations.client import FastRouterError, UpstreamUnavailable
from generations.models import Generation
from generations.simulator import demo_ids


class Command(BaseCommand):
    help = "Fetch the simulator's demo generations through the real FastRouter client and store them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, default=500)
        parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the simulator to start")

    def handle(self, *args, count: int, wait: float, **options) -> None:
        ids = demo_ids(count)
        stored = set(Generation.objects.filter(generation_id__in=ids).values_list("generation_id", flat=True))
        missing = [generation_id for generation_id in ids if generation_id not in stored]
        if not missing:
            self.stdout.write(f"All {count} demo generations are already stored.")
            return
        # The first fetch also waits for the simulator to come up.
        self._wait_for_upstream(missing[0], wait)
        failures = 0
        for generation_id in tqdm(missing[1:], desc="Loading demo generations", unit="id"):
            try:
                services.generation_fetch(generation_id=generation_id)
            except FastRouterError as error:
                failures += 1
                self.stderr.write(f"{generation_id}: {error.user_message}")
        self.stdout.write(f"Stored {len(missing) - failures} demo generations ({failures} failed).")

    def _wait_for_upstream(self, generation_id: str, wait: float) -> None:
        deadline = time.monotonic() + wait
        while True:
            try:
                services.generation_fetch(generation_id=generation_id)
                return
            except UpstreamUnavailable:
                if time.monotonic() > deadline:
                    raise CommandError("The FastRouter simulator did not answer; is it running?") from None
                time.sleep(0.5)

import time

from django.core.management.base import BaseCommand

from generations.analytics.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute every rollup from raw generations (set-based, one transaction per UTC week of data)."

    def add_arguments(self, parser):
        parser.add_argument("--weeks-per-batch", type=int, default=1)

    def handle(self, *args, weeks_per_batch: int, **options):
        began = time.perf_counter()
        batches = rollups_rebuild(weeks=max(1, weeks_per_batch))
        self.stdout.write(f"Rebuilt rollups in {batches} batches, {time.perf_counter() - began:.1f} s.")

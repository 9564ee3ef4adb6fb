import time
from datetime import timedelta

from django.core.management.base import BaseCommand

from generations.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute every rollup from raw generations (set-based, one transaction per week of data)."

    def add_arguments(self, parser):
        parser.add_argument("--days-per-batch", type=int, default=7)

    def handle(self, *args, days_per_batch: int, **options):
        began = time.perf_counter()
        batches = rollups_rebuild(step=timedelta(days=max(1, days_per_batch)))
        self.stdout.write(f"Rebuilt rollups in {batches} batches, {time.perf_counter() - began:.1f} s.")

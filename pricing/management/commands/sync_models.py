import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.fastrouter.errors import FastRouterError
from pricing.services import SyncReport, pricing_sync

logger = logging.getLogger("pricing")


class Command(BaseCommand):
    help = "Fetch FastRouter's model catalogue and record its prices (a new price row only when a price changes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=float,
            default=None,
            metavar="HOURS",
            help="keep running, syncing every HOURS hours (the Procfile's daily `catalogue` process)",
        )

    def handle(self, *args: Any, every: float | None, **options: Any) -> None:
        if every is None:
            try:
                self._report(pricing_sync())
            except FastRouterError as error:
                raise CommandError(f"{error.user_message} Nothing stored was changed.") from None
            return
        if every <= 0:
            raise CommandError("--every must be a positive number of hours")
        stopped = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            while not stopped.is_set():
                try:
                    self._report(pricing_sync())
                except FastRouterError as error:
                    # A daily process outlives a bad day upstream: the next round tries again.
                    self.stderr.write(f"{error.user_message} Nothing stored was changed; trying again in {every} h.")
                stopped.wait(every * 3600)
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _report(self, report: SyncReport) -> None:
        self.stdout.write(
            f"Catalogue synced: {report.seen} models ({report.added} new), {report.prices_changed} price changes, "
            f"{len(report.skipped)} entries skipped."
        )
        for line in report.skipped:
            self.stdout.write(f"  skipped {line}")
        self.stdout.flush()

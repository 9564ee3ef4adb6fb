import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.ingest.worker import FetchWorker


class Command(BaseCommand):
    help = "Fetch queued generation ids from FastRouter until stopped (SIGTERM/Ctrl-C finish or release claims)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain the queue (retries included) and exit")
        parser.add_argument("--concurrency", type=int, default=None, help="threads (default FETCH_WORKER_CONCURRENCY)")
        parser.add_argument("--max-rpm", type=int, default=None, help="default FASTROUTER_MAX_RPM")

    def handle(self, *args: Any, once: bool, concurrency: int | None, max_rpm: int | None, **options: Any) -> None:
        if concurrency is not None and concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        if max_rpm is not None and max_rpm < 1:
            raise CommandError("--max-rpm must be at least 1")
        worker = FetchWorker(concurrency=concurrency, max_rpm=max_rpm, once=once)
        previous = signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        self.stdout.write(
            f"Fetch worker {worker.name}: {worker.concurrency} threads, at most "
            f"{max_rpm or settings.FASTROUTER_MAX_RPM} requests/minute{' (until the queue is empty)' if once else ''}."
        )
        self.stdout.flush()
        try:
            stats = worker.run()
        finally:
            signal.signal(signal.SIGTERM, previous)
        self.stdout.write(
            f"Fetch worker stopped: {stats.stored} stored, {stats.not_found} not found, {stats.failed} failed, "
            f"{stats.retried} to retry, {stats.rate_limited} rate limited."
        )
        if worker.auth_error:
            raise CommandError(f"{worker.auth_error} Nothing more was fetched; the ids stay queued.")

import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from generations.ingest import queue
from generations.ingest import selectors as ingest_selectors
from generations.ingest.models import LookupBatch
from generations.ingest.parsing import ParsedIds, UnreadableImport, parse_ids


class Command(BaseCommand):
    help = "Queue the generation ids in FILE (.txt, .csv, .json, .jsonl; '-' reads stdin) for the fetch worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a file of ids, or - for standard input")
        parser.add_argument("--column", default="", help="CSV column holding the ids (name or number)")
        parser.add_argument("--key", default="", help="JSON key holding the id (default id; dotted for nested)")
        parser.add_argument("--format", default="", choices=("", "txt", "csv", "json", "jsonl"), help="override")
        parser.add_argument("--label", default="", help="a label for the batch")
        parser.add_argument("--refresh", action="store_true", help="also re-fetch ids that are already stored")
        parser.add_argument("--wait", action="store_true", help="show progress until the batch is done")

    def handle(self, *args: Any, file: str, column: str, key: str, format: str, label: str, **options: Any) -> None:
        name = f"input.{format}" if format else ""
        try:
            if file == "-":
                parsed = self._parse(sys.stdin.buffer, name=name, column=column, key=key)
            else:
                path = Path(file)
                if path.stat().st_size > settings.IMPORT_MAX_UPLOAD_BYTES:
                    raise CommandError(
                        f"{file} is larger than IMPORT_MAX_UPLOAD_BYTES ({settings.IMPORT_MAX_UPLOAD_BYTES:,} bytes)."
                    )
                with path.open("rb") as stream:
                    parsed = self._parse(stream, name=name or path.name, column=column, key=key)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        for entry in parsed.invalid[:50]:
            self.stderr.write(f"{entry.location}: {entry.reason} ({entry.value})")
        if parsed.invalid_count > 50:
            self.stderr.write(f"… and {parsed.invalid_count - 50} more invalid entries.")
        batch = queue.generation_enqueue(
            ids=parsed.ids,
            source=LookupBatch.Source.CLI,
            label=label or (Path(file).name if file != "-" else "stdin"),
            invalid=parsed.invalid_count,
            refresh=options["refresh"],
        )
        self.stdout.write(
            f"Batch {batch.pk}: {batch.found_count} ids found ({parsed.duplicates} repeats dropped), "
            f"{batch.new_count} queued, {batch.already_stored_count} already stored, "
            f"{batch.already_queued_count} already queued, {batch.invalid_count} invalid."
        )
        if options["wait"]:
            self._wait(batch)

    def _parse(self, stream: BinaryIO, *, name: str, column: str, key: str) -> ParsedIds:
        """Read in chunks, so memory stays bounded whatever the size of the input."""
        try:
            return parse_ids(stream, filename=name, column=column, key=key, max_ids=settings.IMPORT_MAX_IDS)
        except UnreadableImport as error:
            raise CommandError(error.user_message) from None

    def _wait(self, batch: LookupBatch) -> None:
        progress = ingest_selectors.batch_progress(batch=batch)
        with tqdm(total=progress.total, desc=f"Batch {batch.pk}", unit="id", file=self.stdout) as bar:
            while True:
                bar.update(progress.done - bar.n)
                bar.set_postfix(stored=progress.stored, not_found=progress.not_found, failed=progress.failed)
                if progress.finished:
                    break
                time.sleep(1)
                progress = ingest_selectors.batch_progress(batch=batch)
        self.stdout.write(
            f"Done: {progress.stored} stored, {progress.not_found} not found, {progress.failed} failed. "
            f"Reasons are on the page /batches/{batch.pk}/."
        )

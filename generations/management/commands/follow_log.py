"""`follow_log PATH [--key response.id] [--format jsonl|txt|csv] [--once]`: queue ids as a log file grows."""

import signal
import threading
from pathlib import PurePath
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from generations.ingest.follower import FORMATS, LogFollower

GUESSED_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


class Command(BaseCommand):
    help = (
        "Follow a growing log file like tail -F and queue the generation ids of its new lines (source: follower). "
        "Survives rotation; remembers where it got to in the database, so a restart neither skips nor repeats a line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the log file (it may not exist yet)")
        parser.add_argument(
            "--format",
            choices=tuple(FORMATS),
            default="",
            help="jsonl, csv (with a header row) or txt; default: from the suffix (.jsonl, .ndjson, .csv), else txt",
        )
        parser.add_argument(
            "--key",
            default="",
            help="JSON Lines: the key holding the id, dotted for nested (response.id); CSV: the column",
        )
        parser.add_argument("--once", action="store_true", help="read up to the current end, then exit (cron, tests)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the file (1)")

    def handle(self, *args: Any, path: str, format: str, key: str, once: bool, interval: float, **options: Any) -> None:
        format = format or GUESSED_FORMATS.get(PurePath(path).suffix.lower(), "txt")
        if key and format == "txt":
            raise CommandError("--key names a JSON key or a CSV column: use it with --format jsonl or csv.")
        if interval <= 0:
            raise CommandError("--interval must be greater than zero.")
        follower = LogFollower(path, format=format, key=key)
        try:
            if once:
                read = follower.poll()
                self.stdout.write(f"{path}: {read} ids read, up to byte {follower.position[1]:,}.")
                return
            self._follow(follower, interval)
        finally:
            follower.close()

    def _follow(self, follower: LogFollower, interval: float) -> None:
        stop = threading.Event()
        previous = {each: signal.signal(each, lambda *_: stop.set()) for each in (signal.SIGINT, signal.SIGTERM)}
        self.stdout.write(f"Following {follower.path} ({follower.format}); stop with Ctrl+C.")
        try:
            self._poll_until(stop, follower, interval)
        finally:
            for each, handler in previous.items():
                signal.signal(each, handler)
        self.stdout.write("Stopped.")

    def _poll_until(self, stop: threading.Event, follower: LogFollower, interval: float) -> None:
        while not stop.is_set():
            try:
                read = follower.poll()
            except (OSError, DatabaseError) as error:
                # A file or database hiccup: the position is only moved once the ids are queued, so try again.
                self.stderr.write(f"Reading {follower.path} failed, trying again: {error}")
                follower.close()
            else:
                if read:
                    self.stdout.write(f"{read} ids read from {follower.path}.")
            stop.wait(interval)

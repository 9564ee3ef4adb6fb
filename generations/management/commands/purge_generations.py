"""Retention: `purge_generations --older-than 90d [--bodies-only] [--dry-run]`."""

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from generations import services

_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def retention_period(text: str) -> timedelta:
    """`90d`, `12w`, `36h` → a timedelta; anything else is refused with an example."""
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text.lower())
    if not match or int(match[1]) == 0:
        raise CommandError(
            f"--older-than must look like 90d, 12w or 36h (a positive number of hours, days or weeks), not {text!r}"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


class Command(BaseCommand):
    help = "Delete request/response bodies, or whole generations, of calls older than a retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="Retention period: 90d, 12w or 36h.")
        parser.add_argument(
            "--bodies-only", action="store_true", help="Keep the generations (and every chart); drop only their bodies."
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows deleted per transaction.")

    def handle(self, *args: object, **options: object) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        cutoff = timezone.now() - retention_period(options["older_than"])
        result = services.generation_purge(
            older_than=cutoff,
            bodies_only=options["bodies_only"],
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
        )
        verb = "Would delete" if options["dry_run"] else "Deleted"
        what = (
            f"{result.bodies} bodies"
            if options["bodies_only"]
            else f"{result.generations} generations and {result.bodies} bodies"
        )
        self.stdout.write(f"{verb} {what} of calls before {cutoff:%Y-%m-%d %H:%M} UTC.")

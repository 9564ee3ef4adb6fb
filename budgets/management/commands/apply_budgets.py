from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.config import ConfigError, budgets_apply, parse_config


class Command(BaseCommand):
    help = (
        "Make the stored budgets and channels exactly those of a budgets.toml file (created, updated and "
        "removed by name; see docs/budgets.md). A file with a problem changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="print the changes without making them")

    def handle(self, *args, file: Path, dry_run: bool, **options) -> None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{file}: cannot read it ({error.__class__.__name__}: {error})") from None
        try:
            config = parse_config(text)
        except ConfigError as error:
            raise CommandError(f"{file}, {error}; nothing was changed") from None
        changes = budgets_apply(config=config, dry_run=dry_run)
        for change in changes:
            self.stdout.write(("would " if dry_run else "") + change)
        summary = f"{len(changes)} change{'s' if len(changes) != 1 else ''}"
        if not changes:
            summary = "nothing to change"
        self.stdout.write(f"{file}: {summary}{' (dry run: nothing was changed)' if dry_run and changes else ''}.")

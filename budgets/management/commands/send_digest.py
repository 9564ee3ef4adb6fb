from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from budgets.digest import digest_text, weekly_digest
from budgets.services import digest_enqueue, notifications_deliver


class Command(BaseCommand):
    help = (
        "Send the weekly digest of the last full week (Monday to Sunday in BUDGET_REPORT_ZONE) to every "
        "channel with digest = true, once per week and channel (evaluate_budgets does the same on its "
        "schedule), then send what is due. --dry-run prints the digest and sends nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print the digest's text; enqueue and send nothing")

    def handle(self, *args, dry_run: bool, **options) -> None:
        now = timezone.now()
        if dry_run:
            self.stdout.write(digest_text(weekly_digest(now=now))[1])
            return
        enqueued = digest_enqueue(now=now)
        report = notifications_deliver(now=timezone.now())
        self.stdout.write(
            f"{len(enqueued)} digest{'s' if len(enqueued) != 1 else ''} enqueued (a channel that had this week's "
            f"is skipped); sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
        )

import logging
import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from budgets.services import anomalies_evaluate, budgets_evaluate, digest_enqueue, notifications_deliver

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Check every budget, enqueue the alerts its figures call for (each once per budget, period and "
        "threshold), the spend anomalies of today and yesterday and, once a week, the weekly digest; "
        "then send the due ones. Runs once, or every --every seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, metavar="SECONDS", help="repeat every SECONDS (≥ 10)")
        parser.add_argument("--no-deliver", action="store_true", help="only enqueue; send nothing")

    def handle(self, *args, every: int, no_deliver: bool, **options) -> None:
        if every and every < 10:
            self.stderr.write("--every must be at least 10 seconds")
            raise SystemExit(2)
        while True:
            try:
                self.run_once(deliver=not no_deliver)
            except Exception:
                if not every:
                    raise
                # The schedule outlives one bad round (a database restart, a budget that fails to
                # evaluate): the next round tries again; honcho would stop the whole stack otherwise.
                logger.exception("Evaluating budgets failed; trying again in %s s", every)
            if not every:
                return
            close_old_connections()
            time.sleep(every)

    def run_once(self, *, deliver: bool) -> None:
        now = timezone.now()
        enqueued = budgets_evaluate(now=now) + anomalies_evaluate(now=now) + digest_enqueue(now=now)
        line = f"{len(enqueued)} notification{'s' if len(enqueued) != 1 else ''} enqueued"
        if deliver:
            report = notifications_deliver(now=timezone.now())
            line += f"; sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
        self.stdout.write(line)

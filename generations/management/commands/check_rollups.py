from django.core.management.base import BaseCommand, CommandError

from generations.analytics.rollups import rollups_check


class Command(BaseCommand):
    help = "Compare every rollup bucket with the same aggregate over raw generations."

    def handle(self, *args, **options):
        problems = rollups_check()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError("Rollups differ from raw rows; run `manage.py rebuild_rollups`.")
        self.stdout.write("Rollups match raw rows.")

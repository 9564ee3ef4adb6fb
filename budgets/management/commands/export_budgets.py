from django.core.management.base import BaseCommand

from budgets.config import budgets_export


class Command(BaseCommand):
    help = "Print the stored budgets and channels as a budgets.toml that apply_budgets reads back unchanged."

    def handle(self, *args, **options) -> None:
        self.stdout.write(budgets_export(), ending="")

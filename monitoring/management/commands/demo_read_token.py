from django.core.management.base import BaseCommand

from monitoring.tokens import read_token_renew

DEMO_TOKEN_NAME = "make run"  # noqa: S105 (a name, not a secret)


class Command(BaseCommand):
    help = (
        "Print a read token for trying the read API and /metrics, with a curl example (make run does). "
        f"The previous one, named “{DEMO_TOKEN_NAME}”, is revoked: only the newest works."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the dashboard is served.")

    def handle(self, *args, url: str, **options) -> None:
        _, raw = read_token_renew(name=DEMO_TOKEN_NAME)
        url = url.rstrip("/")
        # Printed to the terminal that ran the command, once; never logged (it is stored only hashed).
        self.stdout.write(
            f"Read token for {url}/api/v1 and {url}/metrics (shown once; the next start replaces it):\n"
            f"  {raw}\n"
            f'  curl -H "Authorization: Bearer {raw}" "{url}/api/v1/summary?range=30d"\n'
            f"  API description: {url}/api/v1/openapi.json"
        )

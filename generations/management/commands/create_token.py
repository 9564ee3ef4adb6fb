from django.core.management.base import BaseCommand, CommandError

from generations.ingest.models import IngestToken
from generations.ingest.tokens import ingest_token_create
from monitoring.tokens import read_token_create

NAME_LENGTH = IngestToken._meta.get_field("name").max_length
# scope → (how to make one, where the admin lists them)
SCOPES = {
    "ingest": (ingest_token_create, "Ingest tokens"),
    "read": (read_token_create, "Read tokens"),
}


class Command(BaseCommand):
    help = (
        "Create a token for an integration and print it on standard output, once: it is stored hashed and "
        "cannot be shown again. Revoke it in the admin (Ingest tokens). Example: "
        "TOKEN=$(python manage.py create_token billing-service)"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "name", help="Which application or integration uses it (shown in the admin and on batches)."
        )
        parser.add_argument("--scope", choices=list(SCOPES), default="ingest")

    def handle(self, *args, name: str, scope: str, **options) -> None:
        name = name.strip()
        if not name or len(name) > NAME_LENGTH:
            raise CommandError(f"The name must be 1 to {NAME_LENGTH} characters.")
        create, listed_under = SCOPES[scope]
        token, raw = create(name=name)
        # Only the token on standard output, so a script can capture it; the note goes to standard error.
        self.stdout.write(raw)
        self.stderr.write(
            f"Created the {scope} token “{name}” ({token.prefix}…). It is shown only this once; "
            f"revoke it in the admin under {listed_under}.",
            style_func=self.style.SUCCESS,
        )

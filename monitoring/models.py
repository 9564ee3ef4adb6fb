"""Read tokens: bearer tokens for GET /metrics and the read API. Only their SHA-256 is stored."""

from django.db import models

from generations.ingest.models import BearerToken


class ReadToken(BearerToken):
    """Its own table, apart from ingest tokens: a token of one scope is never found for the other."""

    class Scope(models.TextChoices):
        READ = "read", "Read (/metrics and /api/v1)"

    name = models.CharField(max_length=100, help_text="Which dashboard, scraper or script uses it.")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ, editable=False)

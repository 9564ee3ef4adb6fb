"""Read tokens: bearer tokens for GET /metrics and the read API. Only their SHA-256 is stored."""

from django.conf import settings
from django.db import models


class ReadToken(models.Model):
    """Its own table, apart from ingest tokens: a token of one scope is never found for the other."""

    class Scope(models.TextChoices):
        READ = "read", "Read (/metrics and /api/v1)"

    name = models.CharField(max_length=100, help_text="Which dashboard, scraper or script uses it.")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False, help_text="The token's first characters, to recognise it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

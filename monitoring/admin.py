from django.contrib import admin

from generations.admin import IngestTokenAdmin
from monitoring.models import ReadToken
from monitoring.tokens import read_token_create


@admin.register(ReadToken)
class ReadTokenAdmin(IngestTokenAdmin):
    """Created (shown once), listed and revoked exactly like ingest tokens."""

    token_create = staticmethod(read_token_create)
    grants_access_to = "GET /metrics and /api/v1/…"

"""The fetch queue and what feeds it: batches, pending imports, ingest tokens, the worker's status."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models


class LookupBatch(models.Model):
    """One hand-over of ids (a paste, an upload, a CLI import, an API call or the demo)."""

    class Source(models.TextChoices):
        PASTE = "paste", "Pasted"
        UPLOAD = "upload", "Uploaded file"
        CLI = "cli", "Command line"
        API = "api", "Ingest API"
        REPORTER = "reporter", "Reporter"
        OTLP = "otlp", "OpenTelemetry"
        FOLLOWER = "follower", "Log follower"
        DEMO = "demo", "Demo data"

    source = models.CharField(max_length=10, choices=Source.choices)
    label = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Which integration handed the ids over (API, reporter): coverage per token survives a renamed token.
    ingest_token = models.ForeignKey(
        "IngestToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="batches"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # What the hand-over held when it arrived (the live progress is counted from LookupRequest).
    found_count = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    already_stored_count = models.PositiveIntegerField(default=0)
    already_queued_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "lookup batches"

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.get_source_display()}, {self.found_count} ids)"


class PendingImport(models.Model):
    """Ids previewed on the Import page, kept here (not queued, never fetched) until their owner
    confirms them, which queues them as a batch, or they expire (``queue.PREVIEW_LIFETIME``)."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=10, choices=LookupBatch.Source.choices)
    label = models.CharField(max_length=200, blank=True, default="")
    ids = models.TextField(help_text="The unique valid ids, one per line.")
    invalid_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Pending import {self.pk} ({self.get_source_display()})"


class LookupRequest(models.Model):
    """One id in the fetch queue; the worker moves it from queued to stored, not found or failed."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        FETCHING = "fetching", "Fetching"
        STORED = "stored", "Stored"
        NOT_FOUND = "not_found", "Not found"
        FAILED = "failed", "Failed"

    generation_id = models.CharField("generation id", max_length=256, unique=True)
    batch = models.ForeignKey(LookupBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests")
    # The hand-over that last queued the id, kept here too because a batch may be deleted ("" = unknown).
    source = models.CharField(max_length=10, choices=LookupBatch.Source.choices, blank=True, default="")
    tags = models.JSONField(default=dict, blank=True, help_text="Copied to GenerationTag when the id is stored.")
    # What the sender said about the call (OpenTelemetry: model, token counts), never stored as the
    # generation: FastRouter's answer is the truth. Shows what an id that expired unfetched was.
    hints = models.JSONField(default=dict, blank=True, help_text="The sender's view of the call, e.g. model, tokens.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Fetches counted against FETCH_MAX_ATTEMPTS.")
    last_error = models.CharField(max_length=300, blank=True, default="", help_text="Safe to show to users.")
    first_seen_at = models.DateTimeField(help_text="The not-found grace counts from here.")
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=120, blank=True, default="")
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="lookup_due_idx"),
            models.Index(fields=["batch", "state"], name="lookup_batch_state_idx"),
            # The Coverage page reads the ids received in a range.
            models.Index(fields=["first_seen_at"], name="lookup_first_seen_idx"),
        ]

    # Why a fresh id FastRouter does not know yet is waiting (the batch page says until when).
    NOT_VISIBLE_YET = "Not visible at FastRouter yet; trying again."

    def __str__(self) -> str:
        return f"{self.generation_id} ({self.state})"

    @property
    def not_found_grace_end(self) -> datetime:
        """Until then a 404 is retried (ids may not be visible at once); after it, the id is not found."""
        return self.first_seen_at + timedelta(seconds=settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS)


class BearerToken(models.Model):
    """What every bearer-token kind stores (see generations/ingest/tokens.py); each kind is its own
    table, so a token of one scope is never found for another, and its own `name` field, whose help
    text says who uses that kind. Only the SHA-256 is stored."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False, help_text="The token's first characters, to recognise it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IngestToken(BearerToken):
    """A per-integration bearer token for POST /api/ingest."""

    name = models.CharField(max_length=100, help_text="Which application or integration uses it.")


class WorkerStatus(models.Model):
    """One shared row: lets every web server see that a fetch worker (on any machine) is paused."""

    auth_failed_at = models.DateTimeField(null=True, blank=True)
    auth_message = models.CharField(max_length=300, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        verbose_name_plural = "worker status"

    def __str__(self) -> str:
        return "Fetch worker status"


class LogFollowerOffset(models.Model):
    """Where ``follow_log`` got to in a log file: the file (by inode, which survives a rename, and the
    start of its content, since a new file may get a deleted file's inode) and the byte offset after the
    last whole line it read. Written with the ids it queued, in one transaction."""

    path = models.CharField(max_length=1000, unique=True, help_text="The followed path, made absolute.")
    inode = models.PositiveBigIntegerField()
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the file's first bytes read (up to 1 KiB).")
    offset = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.path} at byte {self.offset:,}"

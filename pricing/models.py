"""FastRouter's model catalogue as we saw it: each model, and its prices as a history.

Prices are whole pico-dollars (money.py) per token, image or request, so the cost check multiplies
integers in SQL and sums exactly in every database. A new `ModelPrice` row is written only when a
price changes; the row in force at a moment is the latest one first seen at or before it (the
first row also covers everything before it: the catalogue was not watched then).
"""

from django.db import models

from generations.money import InUsd

PRICE_FIELDS = ("prompt", "completion", "image", "request")


class CatalogueModel(models.Model):
    # The id generations name it by (`Generation.model`), so the same length.
    model_id = models.CharField("model id", max_length=200, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    owned_by = models.CharField(max_length=100, blank=True, default="")
    context_length = models.BigIntegerField(null=True)
    max_completion_tokens = models.BigIntegerField(null=True)
    created = models.DateTimeField(null=True)
    # The entry as FastRouter last sent it: fields we do not read survive here.
    raw = models.JSONField(default=dict)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["model_id"]

    def __str__(self) -> str:
        return self.model_id


class ModelPrice(models.Model):
    """One price period of a model: its prices from `first_seen_at` until the next row's."""

    model = models.ForeignKey(CatalogueModel, on_delete=models.CASCADE, related_name="prices")
    first_seen_at = models.DateTimeField()
    # None: absent from the catalogue, or variable ("-1", flagged below).
    prompt_pico = models.BigIntegerField("prompt (pico-USD per token)", null=True)
    completion_pico = models.BigIntegerField("completion (pico-USD per token)", null=True)
    image_pico = models.BigIntegerField("image (pico-USD per image)", null=True)
    request_pico = models.BigIntegerField("request (pico-USD per request)", null=True)
    prompt_variable = models.BooleanField(default=False)
    completion_variable = models.BooleanField(default=False)
    image_variable = models.BooleanField(default=False)
    request_variable = models.BooleanField(default=False)

    class Meta:
        ordering = ["model", "first_seen_at"]
        constraints = [models.UniqueConstraint(fields=["model", "first_seen_at"], name="price_model_seen_unique")]

    def __str__(self) -> str:
        return f"{self.model} from {self.first_seen_at:%Y-%m-%d %H:%M}"

    def values(self) -> tuple:
        """What a sync compares: a new row only when this differs."""
        return tuple(getattr(self, f"{name}_{part}") for name in PRICE_FIELDS for part in ("pico", "variable"))

    prompt = InUsd("prompt_pico")
    completion = InUsd("completion_pico")
    image = InUsd("image_pico")
    request = InUsd("request_pico")

    @property
    def checkable(self) -> bool:
        """Token prices both known: a generation of this period can be re-priced."""
        return self.prompt_pico is not None and self.completion_pico is not None


class CatalogueSync(models.Model):
    """One completed sync: what pages say about the catalogue's freshness."""

    synced_at = models.DateTimeField()
    models_seen = models.PositiveIntegerField(default=0)
    models_added = models.PositiveIntegerField(default=0)
    prices_changed = models.PositiveIntegerField(default=0)
    entries_skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-synced_at"]
        get_latest_by = "synced_at"

    def __str__(self) -> str:
        return f"Catalogue sync at {self.synced_at:%Y-%m-%d %H:%M}"

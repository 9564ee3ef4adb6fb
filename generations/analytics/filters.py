"""Dashboard and generation-list filters: parsed from the query string, so every view is a shareable URL.

A bad value (an unparseable date, an end before the start, an unknown zone or bucket, an
over-long string) is a form error the page shows with HTTP 400, never an exception.
"""

import base64
import binascii
import json
import math
import zoneinfo
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.utils import timezone

from generations.analytics.periods import BUCKETS
from generations.body_search import MAX_TEXT_LENGTH, BodySearch, UnsearchableText
from generations.ingest.tags import MAX_TAGS, InvalidTags, clean_tags

RANGES: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
RANGE_CHOICES = [
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("custom", "Custom dates"),
]
DEFAULT_RANGE = "7d"
BUCKET_LENGTH = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=28),
}
# More points than this is an unreadable chart and a slow page: a finer bucket than the range
# allows is replaced by the next coarser one, with a notice (as Grafana does).
MAX_BUCKETS = 2000
SPLITS = ("model", "provider")
BYOK_CHOICES = [("", "Any key type"), ("yes", "BYOK only"), ("no", "Platform key only")]
SORTS = {
    "occurred_at": "occurred_at",
    "model": "model",
    "provider": "provider",
    "cost": "cost_pico",
    "latency": "latency_ms",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
}
DEFAULT_SORT = "-occurred_at"
SORT_CHOICES = [(f"{sign}{name}", f"{sign}{name}") for name in SORTS for sign in ("", "-")]
# Sort columns that may be NULL (sorted last either way).
NULLABLE_SORTS = {"cost_pico", "latency_ms", "input_tokens", "output_tokens"}
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
DIMENSION_MAX_LENGTH = 200
# Custom dates must lie in this window (no generation is older than 1970): a range, the period
# before it (at most 2,200 × 28 days, about 169 years: the longest chartable range) and its
# buckets (up to a month past either end) then stay inside the years 1 to 9999 that Python's
# dates can hold, in every time zone.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(9998, 12, 31)


# A tag filter (`?tag=feature:search`, repeatable): generations with that tag, or, written `!feature`,
# generations without a `feature` tag (the "(untagged)" bar of the cost-by-tag chart).
TagFilter = tuple[str, str | None]  # (key, value); value None: the key absent
TAG_SEPARATORS = ("=", ":")  # "=" first: a tag name may hold ":" (ingest/tags.py), never "="
UNTAGGED_MARK = "!"
TAG_SYNTAX = "write a tag filter as name:value (or name=value), or !name for generations without that tag"


def parse_tag_filter(text: str) -> TagFilter:
    """`name:value`, `name=value` (split at the first "=" when there is one, else at the first ":")
    or `!name`; the name and value checked as the ingest API checks them. ValidationError with
    words otherwise."""
    text = text.strip()
    if text.startswith(UNTAGGED_MARK):
        key, value = text[1:].strip(), None
    else:
        separator = next((mark for mark in TAG_SEPARATORS if mark in text), None)
        if separator is None:
            raise forms.ValidationError(f"{text[:40]!r} has no value: {TAG_SYNTAX}.")
        key, _, value = (part.strip() for part in text.partition(separator))
        if not value:
            raise forms.ValidationError(f"{text[:40]!r} has no value: {TAG_SYNTAX}.")
    try:
        clean_tags({key: value or "x"})
    except InvalidTags as error:
        raise forms.ValidationError(f"{error} ({TAG_SYNTAX}).") from None
    return key, value


def tag_filter_text(tag: TagFilter) -> str:
    """The filter as `parse_tag_filter` reads it back: `name:value` when that is unambiguous."""
    key, value = tag
    if value is None:
        return f"{UNTAGGED_MARK}{key}"
    return f"{key}={value}" if ":" in key or "=" in value else f"{key}:{value}"


class TagFiltersField(forms.Field):
    """Every `tag` parameter of the query string (one per tag name, up to MAX_TAGS), sorted by name."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: object) -> tuple[TagFilter, ...]:
        given = [value] if isinstance(value, str) else value or []  # a plain dict's one value, or a list
        texts = [text for text in given if isinstance(text, str) and text.strip()]
        if len(texts) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tag filters at once.")
        tags = [parse_tag_filter(text) for text in texts]
        keys = [key for key, _ in tags]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise forms.ValidationError(f"One filter per tag name: {', '.join(repeated)} is given more than once.")
        return tuple(sorted(tags))


def default_bucket(length: timedelta) -> str:
    if length <= timedelta(days=2):
        return "hour"
    if length <= timedelta(days=62):
        return "day"
    if length <= timedelta(days=400):
        return "week"
    return "month"


@dataclass(frozen=True)
class DashboardFilters:
    """One validated selection: a half-open UTC range [start, end) plus dimension filters."""

    start: datetime
    end: datetime
    zone: str
    bucket: str
    range: str = DEFAULT_RANGE
    start_date: date | None = None
    end_date: date | None = None
    model: str = ""
    provider: str = ""
    key: str = ""
    team: str = ""
    endpoint: str = ""
    byok: bool | None = None
    split: str = "model"
    bucket_chosen: bool = False
    bucket_notice: str = ""
    tags: tuple[TagFilter, ...] = ()
    tag_key: str = ""  # the tag name the cost-by-tag chart breaks down by ("": the most common)

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.zone)

    @property
    def previous(self) -> "DashboardFilters":
        """The period of the same length right before this one."""
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start)

    def params(self, **overrides: object) -> dict[str, str | list[str]]:
        """The query-string parameters that reproduce this selection (defaults left out); a
        repeated one (`tag`) as a list."""
        values = {**self._own_params(), **overrides}
        return {
            name: [str(item) for item in value] if isinstance(value, list | tuple) else str(value)
            for name, value in values.items()
            if value not in ("", None, (), [])
        }

    def _own_params(self) -> dict[str, object]:
        return {
            "range": self.range,
            "start": self.start_date.isoformat() if self.start_date and self.range == "custom" else "",
            "end": self.end_date.isoformat() if self.end_date and self.range == "custom" else "",
            "bucket": self.bucket if self.bucket_chosen else "",
            "model": self.model,
            "provider": self.provider,
            "key": self.key,
            "team": self.team,
            "endpoint": self.endpoint,
            "byok": {True: "yes", False: "no"}.get(self.byok, ""),
            "tz": self.zone,
            "split": self.split if self.split != "model" else "",
            "tag": tuple(tag_filter_text(tag) for tag in self.tags),
            "tag_key": self.tag_key,
        }

    def querystring(self, **overrides: object) -> str:
        return urlencode(self.params(**overrides), doseq=True)

    def param_pairs(self, **overrides: object) -> list[tuple[str, str]]:
        """`params` as (name, value) pairs, a repeated parameter once per value: hidden form inputs."""
        return [
            (name, item)
            for name, value in self.params(**overrides).items()
            for item in (value if isinstance(value, list) else [value])
        ]

    def with_tag(self, tag: TagFilter) -> tuple[str, ...]:
        """The `tag` parameter of this selection with `tag` added (replacing a filter on its name)."""
        kept = [existing for existing in self.tags if existing[0] != tag[0]]
        return tuple(tag_filter_text(item) for item in sorted([*kept, tag]))


@dataclass(frozen=True)
class ListFilters(DashboardFilters):
    """The generation list's selection: the dashboard's, an id prefix, words in the bodies, a sort
    order and a page size."""

    q: str = ""
    text: str = ""  # words in the prompt or response (generations/body_search.py)
    sort: str = DEFAULT_SORT
    per_page: int = DEFAULT_PAGE_SIZE

    def _own_params(self) -> dict[str, object]:
        values = {**super()._own_params(), "q": self.q, "text": self.text}
        # Absent (not empty) at their defaults: an override of either then comes last, so the
        # list's links read as they always have.
        if self.sort != DEFAULT_SORT:
            values["sort"] = self.sort
        if self.per_page != DEFAULT_PAGE_SIZE:
            values["per_page"] = self.per_page
        return values


class DashboardFilterForm(forms.Form):
    range = forms.ChoiceField(choices=RANGE_CHOICES, required=False)
    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"}))
    bucket = forms.ChoiceField(choices=[("", "Automatic"), *[(b, b.title()) for b in BUCKETS]], required=False)
    model = forms.CharField(max_length=DIMENSION_MAX_LENGTH, required=False)
    provider = forms.CharField(max_length=DIMENSION_MAX_LENGTH, required=False)
    key = forms.CharField(max_length=DIMENSION_MAX_LENGTH, required=False)
    team = forms.CharField(max_length=100, required=False)
    endpoint = forms.CharField(max_length=DIMENSION_MAX_LENGTH, required=False)
    byok = forms.ChoiceField(label="Key type", choices=BYOK_CHOICES, required=False)
    tz = forms.CharField(label="Time zone", max_length=64, required=False)
    split = forms.ChoiceField(choices=[(s, s) for s in SPLITS], required=False)
    tag = TagFiltersField(required=False)
    tag_key = forms.CharField(max_length=DIMENSION_MAX_LENGTH, required=False, label="Cost by tag")

    def __init__(self, data: object = None, *, default_zone: str, now: datetime | None = None) -> None:
        super().__init__(data)
        self.default_zone = default_zone
        self.now = now or timezone.now()

    def clean_tz(self) -> str:
        name = self.cleaned_data["tz"].strip() or self.default_zone
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(
                f"Unknown time zone {name!r}; use an IANA name such as Europe/Berlin."
            ) from None
        return name

    def clean_tag_key(self) -> str:
        key = self.cleaned_data["tag_key"].strip()
        if key:
            try:
                clean_tags({key: "x"})
            except InvalidTags as error:
                raise forms.ValidationError(str(error)) from None
        return key

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        start_date, end_date = data.get("start"), data.get("end")
        chosen = data.get("range") or ("custom" if start_date or end_date else DEFAULT_RANGE)
        if chosen == "custom":
            if not start_date or not end_date:
                raise forms.ValidationError("Custom dates need both a start and an end date.")
            if end_date < start_date:
                raise forms.ValidationError("The end date is before the start date.")
            if start_date < EARLIEST_DATE or end_date > LATEST_DATE:
                raise forms.ValidationError(
                    f"Dates must lie between {EARLIEST_DATE:%Y-%m-%d} and {LATEST_DATE:%Y-%m-%d}."
                )
        data["range"] = chosen
        start, end = self._bounds(data)
        asked = data.get("bucket") or default_bucket(end - start)
        bucket = next(
            (b for b in BUCKETS[BUCKETS.index(asked) :] if (end - start) / BUCKET_LENGTH[b] <= MAX_BUCKETS), None
        )
        if bucket is None:
            raise forms.ValidationError(f"That range is too long to chart (more than {MAX_BUCKETS:,} months).")
        data["bucket_notice"] = (
            ""
            if bucket == asked
            else f"{asked.title()} buckets would make more than {MAX_BUCKETS:,} points; showing {bucket}s instead."
        )
        data["start_at"], data["end_at"], data["bucket_resolved"] = start, end, bucket
        return data

    def _bounds(self, data: dict) -> tuple[datetime, datetime]:
        if data["range"] != "custom":
            # Whole hours, the current one included: every hour bucket is complete and the range
            # (and the previous period) is answered from hourly rollups, never from raw rows.
            end = self.now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            return end - RANGES[data["range"]], end
        zone = zoneinfo.ZoneInfo(data["tz"])
        start = datetime.combine(data["start"], time.min, tzinfo=zone).astimezone(UTC)
        # The end date is inclusive: the range runs to the next local midnight.
        end = datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
        # In UTC, so lengths and the previous period are real elapsed time, not wall-clock time.
        return start, end

    def filters(self) -> DashboardFilters:
        return DashboardFilters(**self._selection())

    def _selection(self) -> dict[str, object]:
        """The cleaned form as `DashboardFilters` fields."""
        data = self.cleaned_data
        return {
            "start": data["start_at"],
            "end": data["end_at"],
            "zone": data["tz"],
            "bucket": data["bucket_resolved"],
            "range": data["range"],
            "start_date": data.get("start"),
            "end_date": data.get("end"),
            "model": data["model"].strip(),
            "provider": data["provider"].strip(),
            "key": data["key"].strip(),
            "team": data["team"].strip(),
            "endpoint": data["endpoint"].strip(),
            "byok": {"yes": True, "no": False}.get(data["byok"]),
            "split": data["split"] or "model",
            "bucket_chosen": bool(data["bucket"]),
            "bucket_notice": data["bucket_notice"],
            "tags": data["tag"] or (),
            "tag_key": data["tag_key"],
        }

    def error_messages(self) -> list[str]:
        messages = []
        for name, errors in self.errors.items():
            label = "" if name == "__all__" else f"{self.fields[name].label or name.title()}: "
            messages.extend(f"{label}{error}" for error in errors)
        return messages


DAMAGED_CURSOR = "That page link is damaged; start again from the first page."
BIGINT = range(-(2**63), 2**63)


def _sort_value(column: str, value: object) -> object:
    """A cursor's sort value as `column` holds it (a time as an aware datetime); ValueError when it
    cannot be one, so a link made for another sort order is a message, never a database error."""
    if value is None:
        if column in NULLABLE_SORTS:
            return None
    elif column == "occurred_at":
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)  # OverflowError near the calendar's edges
    elif column in ("model", "provider"):
        if isinstance(value, str) and "\0" not in value:
            return value
    elif column == "latency_ms":
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return value
    elif isinstance(value, int) and not isinstance(value, bool) and value in BIGINT:
        return value
    raise ValueError(f"{value!r} is not a {column} value")


@dataclass(frozen=True)
class ListCursor:
    """Where a page of the generation list ends: the sort value and id of its last row."""

    value: object
    id: int

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps([value, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, *, sort: str) -> "ListCursor":
        """The cursor in `text`, its value typed for the column `sort` orders by."""
        try:
            value, row_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if isinstance(row_id, bool) or not isinstance(row_id, int) or row_id not in BIGINT:
                raise ValueError(f"{row_id!r} is not a row id")
            return cls(value=_sort_value(SORTS[sort.lstrip("-")], value), id=row_id)
        except (ValueError, TypeError, OverflowError, binascii.Error):
            raise forms.ValidationError(DAMAGED_CURSOR) from None


class GenerationListFilterForm(DashboardFilterForm):
    q = forms.CharField(max_length=256, required=False, label="Id starts with")
    text = forms.CharField(max_length=MAX_TEXT_LENGTH, required=False, label="Text in prompt or response")
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)
    per_page = forms.TypedChoiceField(
        choices=[(size, size) for size in PAGE_SIZES],
        coerce=int,
        required=False,
        empty_value=DEFAULT_PAGE_SIZE,
        label="Rows per page",
    )
    after = forms.CharField(max_length=400, required=False)

    def clean_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        if text:
            try:
                BodySearch.parse(text)
            except UnsearchableText as error:
                raise forms.ValidationError(str(error)) from None
        return text

    def clean_after(self) -> ListCursor | None:
        text = self.cleaned_data["after"].strip()
        if not text or "sort" not in self.cleaned_data:  # a bad sort is its own error
            return None
        return ListCursor.decode(text, sort=self.cleaned_data["sort"] or DEFAULT_SORT)

    def filters(self) -> ListFilters:
        data = self.cleaned_data
        return ListFilters(
            **self._selection(),
            q=data["q"].strip(),
            text=data["text"],
            sort=data["sort"] or DEFAULT_SORT,
            per_page=data["per_page"],
        )

    @property
    def cursor(self) -> ListCursor | None:
        return self.cleaned_data.get("after")

    @property
    def page_size(self) -> int:
        return self.cleaned_data["per_page"]

import hashlib

from django import forms
from django.conf import settings
from django.core import signing
from django.template.defaultfilters import filesizeformat

from generations.client import (
    MAX_GENERATION_ID_LENGTH,
    InvalidGenerationId,
    clean_generation_id,
)
from generations.id_import import ParsedIds, UnreadableImport, parse_ids
from generations.models import LookupBatch


class LookupForm(forms.Form):
    generation_id = forms.CharField(
        label="Generation id",
        max_length=MAX_GENERATION_ID_LENGTH * 4,  # our own check below gives the clearer message
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. chatcmpl-fr-7d41c0a2e9b84f61", "autocomplete": "off", "autofocus": True}
        ),
        strip=False,
    )

    def clean_generation_id(self) -> str:
        try:
            return clean_generation_id(self.cleaned_data["generation_id"])
        except InvalidGenerationId as error:
            raise forms.ValidationError(error.user_message) from None


class ImportForm(forms.Form):
    """Paste ids or upload a file; the optional column / key say where the ids are."""

    text = forms.CharField(
        label="Paste ids",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 8, "placeholder": "One id per line, or separated by commas or spaces", "spellcheck": "false"}
        ),
    )
    file = forms.FileField(
        label="…or upload a file",
        required=False,
        help_text=".txt, .csv, .json or .jsonl (for example saved FastRouter or OpenAI responses)",
    )
    column = forms.CharField(
        label="CSV column", required=False, max_length=100, help_text="Name or number; found automatically if empty"
    )
    key = forms.CharField(
        label="JSON key", required=False, max_length=100, help_text="e.g. id or response.id; default id"
    )
    label = forms.CharField(label="Label (optional)", required=False, max_length=200)

    def clean(self) -> dict:
        data = super().clean()
        text, upload = data.get("text") or "", data.get("file")
        if upload and text.strip():
            raise forms.ValidationError("Paste ids or upload a file, not both.")
        if not upload and not text.strip():
            raise forms.ValidationError("Paste some ids or choose a file to upload.")
        if upload:
            limit = settings.IMPORT_MAX_UPLOAD_BYTES
            if upload.size > limit:
                raise forms.ValidationError(
                    f"The file is {filesizeformat(upload.size)}; files up to {filesizeformat(limit)} can be imported."
                )
            content, filename, source = upload.read(), upload.name, LookupBatch.Source.UPLOAD
        else:
            content, filename, source = text, "", LookupBatch.Source.PASTE
        try:
            data["parsed"] = parse_ids(
                content,
                filename=filename,
                column=data.get("column", ""),
                key=data.get("key", ""),
                max_ids=settings.IMPORT_MAX_IDS,
            )
        except UnreadableImport as error:
            raise forms.ValidationError(error.user_message) from None
        data["source"] = source
        data["label"] = data.get("label") or filename
        return data


class ImportConfirmForm(forms.Form):
    """The previewed ids, sent back to be queued. They are validated again; the signed summary
    (source, label, invalid count) must match the ids exactly, so nothing else can be altered."""

    ids = forms.CharField(widget=forms.HiddenInput, strip=False)
    summary = forms.CharField(widget=forms.HiddenInput)

    SALT = "generations.import-preview"

    @classmethod
    def for_preview(cls, *, ids: list[str], source: str, label: str, invalid: int) -> "ImportConfirmForm":
        text = "\n".join(ids)
        summary = signing.dumps(
            {"source": source, "label": label, "invalid": invalid, "digest": _digest(text)}, salt=cls.SALT
        )
        return cls(initial={"ids": text, "summary": summary})

    def clean(self) -> dict:
        data = super().clean()
        if "ids" not in data or "summary" not in data:
            return data
        try:
            summary = signing.loads(data["summary"], salt=self.SALT, max_age=24 * 3600)
        except signing.BadSignature:
            raise forms.ValidationError(
                "This preview has expired or was altered; please preview the ids again."
            ) from None
        # Browsers submit the newlines of a form value as CRLF.
        ids_text = data["ids"].replace("\r\n", "\n")
        if summary.get("digest") != _digest(ids_text):
            raise forms.ValidationError("The ids differ from the preview; please preview them again.")
        # One id per line, exactly as previewed (an id may hold commas, so no re-splitting).
        parsed = ParsedIds(format="text")
        for number, line in enumerate(ids_text.split("\n"), start=1):
            parsed.add(line, f"line {number}")
        if parsed.invalid or not parsed.ids or len(parsed.ids) > settings.IMPORT_MAX_IDS:
            raise forms.ValidationError("The ids differ from the preview; please preview them again.")
        data.update(ids_list=parsed.ids, source=summary["source"], label=summary["label"], invalid=summary["invalid"])
        return data


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

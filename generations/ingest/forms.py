from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from generations.analytics.filters import RANGE_CHOICES, RANGES
from generations.ingest.models import LookupBatch
from generations.ingest.parsing import UnreadableImport, parse_ids


class ImportForm(forms.Form):
    """Paste ids or upload a file; the optional column / key say where the ids are.

    The Import view receives the paste as a file (``uploads.PasteAsFileHandler``), in
    ``files["text"]``; posted as a plain field it is read from ``data["text"]`` as usual.
    """

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

    def __init__(self, data=None, files=None, **kwargs) -> None:
        pasted = files.get("text") if files else None
        if pasted is not None and pasted.size <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
            # Show a paste that fits in memory again, as Django shows any field it received.
            data = data.copy()
            data["text"] = pasted.read().decode("utf-8", "replace")
            pasted.seek(0)
        super().__init__(data, files, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        upload, pasted = data.get("file"), self.files.get("text")
        pasted_something = _has_text(pasted) if pasted is not None else bool((data.get("text") or "").strip())
        if upload and pasted_something:
            raise forms.ValidationError("Paste ids or upload a file, not both.")
        if not upload and not pasted_something:
            raise forms.ValidationError("Paste some ids or choose a file to upload.")
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload:
            if upload.size > limit:
                raise forms.ValidationError(
                    f"The file is {filesizeformat(upload.size)}; files up to {filesizeformat(limit)} can be imported."
                )
            content, filename, source = upload, upload.name, LookupBatch.Source.UPLOAD
        elif pasted is not None:
            if pasted.size > limit:
                raise forms.ValidationError(
                    f"The pasted text is {filesizeformat(pasted.size)}; up to {filesizeformat(limit)} can be imported."
                    " Split it into parts."
                )
            content, filename, source = pasted, "", LookupBatch.Source.PASTE
        else:
            content, filename, source = data["text"], "", LookupBatch.Source.PASTE
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


def _has_text(upload: UploadedFile) -> bool:
    """Whether the file holds anything but whitespace (read in chunks, then rewound)."""
    found = any(chunk.strip() for chunk in upload.chunks())
    upload.seek(0)
    return found


class ImportConfirmForm(forms.Form):
    """Confirms a previewed import by its id: the ids wait on the server (``PendingImport``)."""

    pending = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)


COVERAGE_RANGES = ("24h", "7d", "30d")


class CoverageForm(forms.Form):
    range = forms.ChoiceField(choices=[c for c in RANGE_CHOICES if c[0] in COVERAGE_RANGES], required=False)

    def clean_range(self) -> str:
        return self.cleaned_data["range"] or COVERAGE_RANGES[0]

    @property
    def length(self):
        return RANGES[self.cleaned_data["range"]]

"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

`openapi.json` beside this file holds what people write: the paths, the response schemas, the
security scheme and each query parameter's description. The query parameters' schemas (types,
choices, lengths) and which operation takes which are filled in from the filter forms the views
validate with, so the document cannot drift from what the API accepts: an operation names its form
(`x-filter-form`), and a form field without a description, or a description without a field,
stops the build (tests/monitoring/test_openapi.py builds it).
"""

import functools
import json
from pathlib import Path

from django import forms
from django.core.exceptions import ImproperlyConfigured

from generations.analytics.filters import TagFiltersField
from generations.ingest.tags import MAX_TAGS
from monitoring.figures import DashboardFilterForm, GenerationListFilterForm

SOURCE = Path(__file__).with_name("openapi.json")
FILTER_FORMS = {"dashboard": DashboardFilterForm, "list": GenerationListFilterForm}
BREAKDOWN_PATH = "/api/v1/breakdown/{dimension}"


def field_schema(field: forms.Field) -> dict:
    """The JSON Schema of one query parameter, from the form field that validates it."""
    if isinstance(field, TagFiltersField):  # repeatable: ?tag=feature:search&tag=!team
        return {"type": "array", "items": {"type": "string"}, "maxItems": MAX_TAGS}
    if isinstance(field, forms.TypedChoiceField) and field.coerce is int:
        return {"type": "integer", "enum": [int(value) for value, _ in field.choices], "default": field.empty_value}
    if isinstance(field, forms.ChoiceField):
        values = [str(value) for value, _ in field.choices]
        # An empty value is the default (the page's "Any…" or "Automatic").
        return {"type": "string", "enum": values if field.required or "" in values else ["", *values]}
    if isinstance(field, forms.DateField):
        return {"type": "string", "format": "date"}
    if isinstance(field, forms.CharField):
        return {"type": "string", "maxLength": field.max_length}
    raise ImproperlyConfigured(f"No OpenAPI schema for a {type(field).__name__}: add one to monitoring/openapi.py")


def _query_parameters(document: dict) -> None:
    described = document["components"]["parameters"]
    fields = {name: field for form in FILTER_FORMS.values() for name, field in form.base_fields.items()}
    if set(described) != set(fields):
        raise ImproperlyConfigured(
            "monitoring/openapi.json describes the parameters "
            f"{sorted(described)} but the filter forms take {sorted(fields)}"
        )
    for name, field in fields.items():
        described[name]["schema"] = field_schema(field)
        # A page's filter form sends its blank fields (?bucket=&byok=): blank is the default.
        described[name]["allowEmptyValue"] = not field.required
    for item in document["paths"].values():
        operation = item["get"]
        form = operation.pop("x-filter-form", None)
        if form is not None:
            own = operation.get("parameters", [])
            operation["parameters"] = own + [
                {"$ref": f"#/components/parameters/{name}"} for name in FILTER_FORMS[form].base_fields
            ]


@functools.cache
def openapi_document(*, dimensions: tuple[str, ...]) -> dict:
    """The document as served (built once per process; never change it): `dimensions` are the
    breakdown's, from the view's own table of them."""
    document = json.loads(SOURCE.read_text(encoding="utf-8"))
    _query_parameters(document)
    for parameter in document["paths"][BREAKDOWN_PATH]["get"]["parameters"]:
        if parameter.get("name") == "dimension":
            parameter["schema"]["enum"] = list(dimensions)
    return document

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import call_command

from generations.ingest.models import IngestToken
from generations.ingest.tokens import ingest_token_create
from monitoring.models import ReadToken
from monitoring.tokens import read_token_authenticate, read_token_create, read_token_revoke

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def test_create_token_with_read_scope_prints_a_read_token_stored_only_hashed():
    out, err = StringIO(), StringIO()
    call_command("create_token", "grafana", "--scope", "read", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    token = ReadToken.objects.get()
    assert raw.startswith("frdr_")
    assert (token.name, token.scope) == ("grafana", "read")
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in json.dumps(list(ReadToken.objects.values()), default=str)
    assert "Read tokens" in err.getvalue()
    assert raw not in err.getvalue()
    assert IngestToken.objects.count() == 0


def test_a_read_token_reads_metrics(client):
    _, raw = read_token_create(name="prometheus")
    assert client.get("/metrics", headers=_bearer(raw)).status_code == 200


@pytest.mark.parametrize("path", ["/metrics", "/api/v1/summary", "/api/v1/generations/gen-1"])
def test_an_ingest_token_cannot_read(client, path):
    _, raw = ingest_token_create(name="billing")
    response = client.get(path, headers=_bearer(raw))
    # RFC 6750's insufficient scope: the token may be valid, but not for reading.
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert "--scope read" in response.content.decode()
    assert raw not in response.content.decode()
    assert read_token_authenticate(raw=raw) is None


def test_a_read_token_cannot_ingest(client):
    _, raw = read_token_create(name="grafana")
    response = client.post("/api/ingest", data='["gen-1"]', content_type="application/json", headers=_bearer(raw))
    assert response.status_code == 401


def test_a_revoked_read_token_is_refused(client):
    token, raw = read_token_create(name="grafana")
    assert read_token_revoke(tokens=ReadToken.objects.filter(pk=token.pk)) == 1
    assert client.get("/metrics", headers=_bearer(raw)).status_code == 401
    assert read_token_authenticate(raw=raw) is None


def test_no_token_is_401_with_how_to_get_one(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "--scope read" in response.content.decode()


def test_admin_creates_a_read_token_shown_once_and_revokes_it(staff_client):
    response = staff_client.post("/admin/monitoring/readtoken/add/", {"name": "grafana"})
    token = ReadToken.objects.get()
    raw = response.context["raw_token"]
    assert raw.startswith("frdr_") and raw in response.content.decode()
    assert read_token_authenticate(raw=raw) == token
    staff_client.post("/admin/monitoring/readtoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert read_token_authenticate(raw=raw) is None

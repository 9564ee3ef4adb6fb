import logging
import re
from io import StringIO

import pytest
from django.core.management import call_command

from monitoring.models import ReadToken
from monitoring.tokens import read_token_authenticate

pytestmark = pytest.mark.django_db


def _printed() -> tuple[str, str]:
    out = StringIO()
    call_command("demo_read_token", stdout=out)
    return out.getvalue(), re.search(r"frdr_[\w-]+", out.getvalue()).group()


def test_prints_a_working_read_token_with_a_ready_curl(client, caplog):
    caplog.set_level(logging.DEBUG)
    out, raw = _printed()
    assert f'curl -H "Authorization: Bearer {raw}" "http://127.0.0.1:8000/api/v1/summary?range=30d"' in out
    assert "http://127.0.0.1:8000/api/v1/openapi.json" in out
    assert client.get("/api/v1/summary?range=30d", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    assert raw not in caplog.text


def test_each_start_replaces_the_previous_demo_token():
    _, first = _printed()
    _, second = _printed()
    assert read_token_authenticate(raw=first) is None
    assert read_token_authenticate(raw=second) is not None
    assert ReadToken.objects.filter(revoked_at__isnull=True).count() == 1

import hashlib
import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from generations.ingest.models import IngestToken
from generations.ingest.tokens import ingest_token_authenticate, ingest_token_revoke

pytestmark = pytest.mark.django_db


def _create(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_only_a_working_token_once_and_stores_only_its_hash(caplog):
    caplog.set_level(logging.DEBUG)
    out, err = _create("billing-service", "--scope", "ingest")
    raw = out.removesuffix("\n")
    assert out == raw + "\n"
    assert raw.startswith("frdi_")
    token = IngestToken.objects.get()
    assert (token.name, token.token_hash) == ("billing-service", hashlib.sha256(raw.encode()).hexdigest())
    assert ingest_token_authenticate(raw=raw) == token
    assert "billing-service" in err
    assert token.prefix in err
    assert raw not in err
    assert raw not in caplog.text


def test_the_token_is_revocable_like_the_admins():
    raw = _create("etl")[0].strip()
    ingest_token_revoke(tokens=IngestToken.objects.all())
    assert ingest_token_authenticate(raw=raw) is None


def test_each_call_makes_a_new_token():
    assert _create("etl")[0] != _create("etl")[0]
    assert IngestToken.objects.count() == 2


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_blank_or_long_name_is_refused(name):
    with pytest.raises(CommandError, match="1 to 100 characters"):
        _create(name)
    assert IngestToken.objects.count() == 0


def test_an_unknown_scope_is_refused():
    with pytest.raises(CommandError, match="invalid choice"):
        _create("etl", "--scope", "admin")

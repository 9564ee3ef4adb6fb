from io import StringIO

import pytest
from django.core.management import call_command

from generations.roles import FETCH_PERMISSION, UNLIMITED_PERMISSION

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("ensure_login", stdout=out)
    return out.getvalue()


def test_creates_a_staff_login_with_a_fresh_random_password(django_user_model):
    output = _run()
    password = output.rsplit("password: ", 1)[1].strip()
    user = django_user_model.objects.get(username="admin")
    assert user.is_staff
    # Every right, with no daily fetch limit (make run's login).
    assert user.has_perms([FETCH_PERMISSION, UNLIMITED_PERMISSION, "generations.view_ingesttoken"])
    assert user.check_password(password)
    assert len(password) >= 16


def test_two_installs_get_different_passwords(django_user_model):
    first = _run().rsplit("password: ", 1)[1].strip()
    django_user_model.objects.all().delete()
    second = _run().rsplit("password: ", 1)[1].strip()
    assert first != second


def test_an_existing_login_is_left_alone(django_user_model):
    django_user_model.objects.create_superuser(username="admin", password="chosen-by-owner-123")
    output = _run()
    assert "already exists" in output
    assert django_user_model.objects.get(username="admin").check_password("chosen-by-owner-123")

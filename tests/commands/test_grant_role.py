from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from generations.roles import FETCH_PERMISSION, UNLIMITED_PERMISSION

pytestmark = pytest.mark.django_db


def _grant(username: str, role: str) -> str:
    out = StringIO()
    call_command("grant_role", username, role, stdout=out)
    return out.getvalue()


def _reloaded(user):
    return type(user).objects.get(pk=user.pk)


def test_member_then_viewer(viewer_user):
    assert _grant("viewer", "member") == "viewer is now a member.\n"
    assert _reloaded(viewer_user).has_perm(FETCH_PERMISSION)
    _grant("viewer", "viewer")
    assert not _reloaded(viewer_user).has_perm(FETCH_PERMISSION)


def test_staff_reach_the_admin_and_have_no_limit(client, viewer_user):
    _grant("viewer", "staff")
    staff = _reloaded(viewer_user)
    assert staff.is_staff
    assert staff.has_perm(UNLIMITED_PERMISSION)
    client.force_login(staff)
    assert client.get(reverse("admin:generations_ingesttoken_changelist")).status_code == 200


def test_unknown_login_and_role_are_refused(viewer_user):
    with pytest.raises(CommandError, match="No login named 'nobody'"):
        _grant("nobody", "member")
    with pytest.raises(CommandError, match="invalid choice: 'owner'"):
        _grant("viewer", "owner")


def test_a_superuser_is_not_quietly_left_with_every_right(staff_user):
    with pytest.raises(CommandError, match="superuser"):
        _grant("boss", "viewer")

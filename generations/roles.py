"""Roles, on Django's groups and permissions: who may read, who may spend the team's FastRouter quota.

- viewer: every active login. Reads everything stored: looks up stored ids, details, payloads, the
  dashboard, the list, the CSVs and the batches (but not ingest token names).
- member (the "member" group): also looks up new ids, refreshes, imports and retries batches, up to
  MEMBER_DAILY_FETCH_LIMIT ids fetched or queued per day.
- staff (`is_staff` and the "staff" group): every permission of this app, so no daily limit, token
  names, and the admin. Superusers have every permission anyway.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.db.models import F
from django.utils import timezone

from generations.models import DailyFetchUsage

FETCH_PERMISSION = "generations.fetch_generations"
UNLIMITED_PERMISSION = "generations.fetch_unlimited"

ROLES = ("viewer", "member", "staff")
# Each role's group and its permissions (codenames of this app; None: all of them). Migration
# 0012_role_groups creates the same groups; granting a role re-creates a group deleted since.
ROLE_GROUP_PERMISSIONS: dict[str, list[str] | None] = {"member": ["fetch_generations"], "staff": None}

NOT_A_MEMBER = (
    "You may only view stored generations; ask an admin for the member role to look up new ids, refresh or import."
)


class FetchRefused(Exception):
    """A fetch the user may not make: no member role (403) or over the daily limit (429)."""

    def __init__(self, user_message: str, *, status: int) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.status = status


class RoleError(ValueError):
    pass


def can_fetch(user: AbstractUser) -> bool:
    return user.has_perm(FETCH_PERMISSION)


def fetch_allowance_spend(*, user: AbstractUser, ids: int) -> None:
    """Count ``ids`` fetched or queued by ``user`` today, or raise FetchRefused (nothing counted)."""
    if not can_fetch(user):
        raise FetchRefused(NOT_A_MEMBER, status=403)
    if ids <= 0 or user.has_perm(UNLIMITED_PERMISSION):
        return
    limit = settings.MEMBER_DAILY_FETCH_LIMIT
    day = timezone.localdate(timezone=timezone.get_default_timezone())
    usage, _ = DailyFetchUsage.objects.get_or_create(user=user, day=day)
    # One conditional UPDATE: two requests at once cannot both take the last of the allowance.
    if DailyFetchUsage.objects.filter(pk=usage.pk, ids__lte=limit - ids).update(ids=F("ids") + ids):
        return
    left = max(limit - DailyFetchUsage.objects.get(pk=usage.pk).ids, 0)
    raise FetchRefused(
        f"Daily limit reached: members may fetch or queue {limit:,} ids a day, you have {left:,} left "
        f"and this needs {ids:,}. The count starts again at midnight ({settings.TIME_ZONE}); "
        f"ask an admin if you need more.",
        status=429,
    )


def _role_group(role: str) -> Group:
    group, _ = Group.objects.get_or_create(name=role)
    permissions = Permission.objects.filter(content_type__app_label="generations")
    codenames = ROLE_GROUP_PERMISSIONS[role]
    group.permissions.add(*(permissions if codenames is None else permissions.filter(codename__in=codenames)))
    return group


def role_grant(*, user: AbstractUser, role: str) -> None:
    """Make ``user`` exactly a viewer, member or staff: the role's group only, `is_staff` for staff."""
    if role not in ROLES:
        raise RoleError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if user.is_superuser and role != "staff":
        raise RoleError(
            f"{user.get_username()} is a superuser, who has every permission whatever the role; "
            "clear “Superuser status” in the admin first."
        )
    groups = {name: _role_group(name) for name in ROLE_GROUP_PERMISSIONS}
    user.groups.remove(*groups.values())
    if role in groups:
        user.groups.add(groups[role])
    user.is_staff = role == "staff"
    user.save(update_fields=["is_staff"])

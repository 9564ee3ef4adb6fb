from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from generations.roles import ROLES, RoleError, role_grant


class Command(BaseCommand):
    help = (
        "Give a login exactly one role: viewer (reads everything stored), member (also looks up new ids, "
        "refreshes and imports, within MEMBER_DAILY_FETCH_LIMIT a day) or staff (everything, and the admin)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=ROLES)

    def handle(self, *args, username: str, role: str, **options) -> None:
        users = get_user_model()
        try:
            user = users.objects.get(**{users.USERNAME_FIELD: username})
        except users.DoesNotExist:
            raise CommandError(f"No login named {username!r}.") from None
        try:
            role_grant(user=user, role=role)
        except RoleError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"{username} is now a {role}."))

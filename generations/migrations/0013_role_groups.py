from django.contrib.auth import get_permission_codename
from django.db import migrations

# A frozen copy of generations.roles.ROLE_GROUP_PERMISSIONS (None: every permission of the app).
ROLE_GROUP_PERMISSIONS = {"member": ["fetch_generations"], "staff": None}


def create_role_groups(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Permissions are otherwise created after the last migration (post_migrate): make this app's now.
    permissions = []
    for model in apps.get_app_config("generations").get_models():
        options = model._meta
        content_type, _ = ContentType.objects.get_or_create(app_label=options.app_label, model=options.model_name)
        wanted = [
            *((get_permission_codename(action, options), f"Can {action} {options.verbose_name_raw}")
              for action in options.default_permissions),
            *options.permissions,
        ]
        for codename, name in wanted:
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )
            permissions.append(permission)
    for role, codenames in ROLE_GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(p for p in permissions if codenames is None or p.codename in codenames))


class Migration(migrations.Migration):

    dependencies = [
        ("generations", "0012_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    # Reversing keeps the groups: they may hold users by then.
    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]

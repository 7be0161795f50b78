"""A staff account's roles and permissions in one statement, for an API request.

Django reads them lazily in three (the role check, the user's own permissions, its groups'), each
request anew. Read here together when the key is checked and kept on the user object for that
request only, in the caches Django's ModelBackend and staff.roles.has_role look in: nothing
outlives the request, so a changed role or permission needs no invalidation.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from staff.roles import ROLES


def roles_and_permissions_load(user) -> None:
    """Fill `user`'s role and permission caches with one query (a superuser needs none)."""
    if user.is_superuser or not user.is_active:
        return
    quote = connection.ops.quote_name
    permission, content_type = quote(Permission._meta.db_table), quote(ContentType._meta.db_table)
    group = quote(Group._meta.db_table)
    user_groups = quote(type(user).groups.through._meta.db_table)
    user_permissions = quote(type(user).user_permissions.through._meta.db_table)
    group_permissions = quote(Group.permissions.through._meta.db_table)
    # Only quoted table names from the models' meta are spliced in; values go through parameters.
    named = (
        f"ct.app_label, p.codename FROM {permission} p JOIN {content_type} ct ON ct.id = p.content_type_id"
    )
    statement = (
        f"SELECT 'u', {named} JOIN {user_permissions} up ON up.permission_id = p.id WHERE up.user_id = %s "  # noqa: S608
        f"UNION ALL SELECT 'g', {named} JOIN {group_permissions} gp ON gp.permission_id = p.id "
        f"JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s "
        f"UNION ALL SELECT 'r', g.name, '' FROM {group} g JOIN {user_groups} ug ON ug.group_id = g.id "
        "WHERE ug.user_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [user.pk] * 3)
        rows = cursor.fetchall()
    own = {f"{app}.{code}" for kind, app, code in rows if kind == "u"}
    grouped = {f"{app}.{code}" for kind, app, code in rows if kind == "g"}
    # The attributes ModelBackend._get_permissions and get_all_permissions fill on first use.
    user._user_perm_cache, user._group_perm_cache = own, grouped
    user._perm_cache = own | grouped
    user._has_role = any(kind == "r" and name in ROLES for kind, name, _code in rows)

"""Who may do what: the staff roles and the groups that carry their permissions."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

EDIT_KNOWLEDGE = "knowledge.edit_knowledge"
EDITORS_GROUP = "Knowledge editors"
ROLE_GROUPS = {"editor": [EDITORS_GROUP], "agent": ["Agents"], "admin": []}
ROLES = set(ROLE_GROUPS)


def can_edit_knowledge(user) -> bool:
    """Return whether this user may read and change the knowledge graph."""
    return user.is_authenticated and user.is_active and user.has_perm(EDIT_KNOWLEDGE)


def editors_group() -> Group:
    """Return the knowledge editors' group, creating it with its permission if needed."""
    group, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    permission = Permission.objects.get(
        content_type__app_label="knowledge", codename="edit_knowledge"
    )
    group.permissions.add(permission)
    return group


@transaction.atomic
def add_staff_user(username: str, password: str, role: str):
    """Create or update a staff user holding a role; an admin is a superuser."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    user.is_staff = True
    user.is_superuser = role == "admin"
    user.save()
    if role == "editor":
        user.groups.add(editors_group())
    if role in ("agent", "admin"):
        from handoff.roles import make_agent

        make_agent(user)
    return user

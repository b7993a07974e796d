"""The knowledge editor's role: its permission and the group that carries it.

Staff users are made with a role in `chatbot.staff_users`, above the apps.
"""

from django.contrib.auth.models import Group, Permission

EDIT_KNOWLEDGE = "knowledge.edit_knowledge"
EDITORS_GROUP = "Knowledge editors"


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

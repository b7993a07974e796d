"""Staff users and their roles: each app owns its role's group and permission (`knowledge.roles`,
`handoff.roles`); a staff user is made here, above both, with one of the three roles."""

from django.contrib.auth import get_user_model
from django.db import transaction

from handoff.roles import make_agent
from knowledge.roles import editors_group

# An admin is a superuser and also works the agent console.
ROLES = ("editor", "agent", "admin")


@transaction.atomic
def add_staff_user(username: str, password: str, role: str):
    """Create or update a staff user holding a role; an admin is a superuser."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    user.is_staff = True
    user.is_superuser = role == "admin"
    user.save()
    if role == "editor":
        user.groups.add(editors_group())
    if role in ("agent", "admin"):
        make_agent(user)
    return user

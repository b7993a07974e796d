"""The agent role: who may use the console and its websocket."""

from django.contrib.auth.models import Group, Permission

USE_CONSOLE = "handoff.use_console"
AGENTS_GROUP = "Agents"


def can_use_console(user) -> bool:
    """Return whether this user may take conversations in the agent console."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(USE_CONSOLE))


def agents_group() -> Group:
    """Return the agents' group, creating it with its permission if needed."""
    group, _ = Group.objects.get_or_create(name=AGENTS_GROUP)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="handoff", codename="use_console")
    )
    return group


def make_agent(user, display_name: str = "", skills: list[str] = (), capacity: int = 3):
    """Give a user the agent role and a profile (the name visitors see, skills, capacity)."""
    from handoff.models import Agent, Skill

    user.groups.add(agents_group())
    agent, _ = Agent.objects.update_or_create(
        user=user,
        defaults={"display_name": display_name or user.get_username(), "capacity": capacity},
    )
    agent.skills.set([Skill.objects.get_or_create(name=name)[0] for name in skills])
    return agent

"""Choose the agent for a waiting conversation. Plain Python: agents in, one agent (or none) out."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class AgentSlot:
    """What routing needs to know about an agent."""

    id: int
    is_online: bool
    skills: frozenset[str]
    open_conversations: int
    capacity: int
    idle_since: datetime.datetime | None

    @property
    def has_room(self) -> bool:
        return self.open_conversations < self.capacity


def choose_agent(
    agents: list[AgentSlot], skill: str | None, passed_over: set[int] = frozenset()
) -> AgentSlot | None:
    """Return who gets the conversation: online, skilled, with room, least loaded, longest idle.

    Agents passed over (who declined or let the offer lapse) are asked only when nobody else can.
    """
    able = [
        agent
        for agent in agents
        if agent.is_online and agent.has_room and (skill is None or skill in agent.skills)
    ]
    fresh = [agent for agent in able if agent.id not in passed_over]
    pool = fresh or able
    if not pool:
        return None
    never = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    return min(
        pool,
        key=lambda agent: (
            agent.open_conversations / agent.capacity,
            agent.idle_since or never,
            agent.id,
        ),
    )


def skill_for_intent(intent: str | None, skills: dict[str, list[str]]) -> str | None:
    """Return the skill an intent needs (the first skill listing it), or None for anyone."""
    for name, intents in sorted(skills.items()):
        if intent and intent in intents:
            return name
    return None


def estimated_wait_seconds(position: int, agents_able: int, average_wait_seconds: float) -> int:
    """Return the wait to expect at a queue position, from recent waits and the agents able."""
    return round(average_wait_seconds * position / max(agents_able, 1))

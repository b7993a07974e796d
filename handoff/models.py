"""Agents, handoffs of conversations to them, tickets, canned replies, notes and ratings."""

from django.conf import settings
from django.db import models

from chatbot.models import Conversation


class Skill(models.Model):
    """What an agent can handle, and the intents that need it."""

    name = models.CharField(max_length=50, unique=True)
    intents = models.JSONField(
        default=list, blank=True, help_text="Intent names routed to this skill"
    )

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """A user who takes conversations in the console."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    display_name = models.CharField(max_length=60, help_text="The name visitors see")
    skills = models.ManyToManyField(Skill, blank=True, related_name="agents")
    capacity = models.PositiveSmallIntegerField(default=3, help_text="Most conversations at once")
    is_online = models.BooleanField(default=False)
    # When the agent last became free (went online, or finished a conversation): longest idle first.
    idle_since = models.DateTimeField(null=True, blank=True)
    # Names the one presence check that counts for this agent; older scheduled checks do nothing.
    presence_check = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        permissions = [("use_console", "Can take conversations in the agent console")]

    def __str__(self) -> str:
        return self.display_name

    @classmethod
    def for_user(cls, user) -> "Agent":
        """Return the user's agent profile, created on first use (an admin has none at first)."""
        agent, _ = cls.objects.get_or_create(
            user=user, defaults={"display_name": user.get_full_name() or user.get_username()}
        )
        return agent

    def summary(self) -> dict:
        """Return the agent as the console shows them."""
        return {
            "id": self.pk,
            "name": self.display_name,
            "online": self.is_online,
            "capacity": self.capacity,
            "skills": list(self.skills.values_list("name", flat=True)),
        }


class AgentConnection(models.Model):
    """One open console of an agent, alive until `live_until` unless heard from again."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="connections")
    channel_name = models.CharField(max_length=200, unique=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    # Pushed forward by each heartbeat; set to the end of the reload grace when the socket closes.
    live_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.agent} until {self.live_until:%H:%M:%S}"


class Handoff(models.Model):
    """One stretch of a conversation handed to people: from the request to hand back or close."""

    class Status(models.TextChoices):
        WAITING = "waiting"
        ASSIGNED = "assigned"
        RETURNED = "returned"
        CLOSED = "closed"
        CANCELLED = "cancelled"
        UNAVAILABLE = "unavailable"

    OPEN_STATUSES = (Status.WAITING, Status.ASSIGNED)

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="handoffs"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    reason = models.CharField(max_length=40)
    intent = models.CharField(max_length=100, blank=True)
    skill = models.ForeignKey(Skill, null=True, blank=True, on_delete=models.SET_NULL)
    requested_at = models.DateTimeField(auto_now_add=True)
    # The current offer: to whom, until when, and how many were made (stale expiries are ignored).
    offered_to = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="offers"
    )
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    offer_count = models.PositiveIntegerField(default=0)
    passed_over = models.ManyToManyField(Agent, blank=True, related_name="passed_handoffs")
    assigned_to = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_agent_reply_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["requested_at"]
        constraints = [
            # One open handoff per conversation: a second request while one is open is the same one.
            models.UniqueConstraint(
                fields=["conversation"],
                condition=models.Q(status__in=["waiting", "assigned"]),
                name="one_open_handoff_per_conversation",
            )
        ]

    def __str__(self) -> str:
        return f"handoff #{self.pk} ({self.status}, {self.reason})"


class Ticket(models.Model):
    """A message left when no agent could take the conversation."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="tickets")
    handoff = models.ForeignKey(Handoff, null=True, blank=True, on_delete=models.SET_NULL)
    text = models.TextField(max_length=2000)
    contact = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    is_resolved = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"ticket #{self.pk}"


class CannedReply(models.Model):
    """A ready-made reply agents insert in the console."""

    title = models.CharField(max_length=80)
    text = models.TextField(max_length=2000)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title


class Note(models.Model):
    """An internal note on a handoff: agents see it, the visitor never does."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(Agent, null=True, on_delete=models.SET_NULL)
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class Rating(models.Model):
    """The visitor's 1-5 satisfaction with a closed conversation."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="rating"
    )
    score = models.PositiveSmallIntegerField()
    was_human_handled = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

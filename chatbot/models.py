"""Visitors, their conversations, each conversation's append-only event log, and answer ratings."""

import uuid

from django.db import models


class Visitor(models.Model):
    """A person chatting through the widget: known by their signed token, and, once the
    company's website has signed who they are (chatbot/identity.py), by its user id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The company's own user id; one visitor per customer, whatever browser they use.
    external_id = models.CharField(max_length=128, null=True, blank=True, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    identified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"customer {self.external_id}" if self.external_id else f"visitor {self.id}"

    def identity(self) -> dict | None:
        """Who the company says this visitor is, or None for an anonymous one."""
        if not self.external_id:
            return None
        return {"user_id": self.external_id, "name": self.name, "email": self.email}


class Conversation(models.Model):
    """One visitor's conversation; its events are the source of truth."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)

    class Owner(models.TextChoices):
        BOT = "bot"
        WAITING = "waiting"
        AGENT = "agent"
        CLOSED = "closed"

    # Who answers the visitor now; every change is a "handoff" event in the log.
    owner = models.CharField(max_length=16, choices=Owner.choices, default=Owner.BOT)
    # The sequence number of the newest event; bumped in the same transaction as the insert.
    last_seq = models.PositiveIntegerField(default=0)
    # The dialogue state after the newest completed turn.
    state = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["visitor", "status"])]

    def __str__(self) -> str:
        return f"conversation {self.id}"

    def events_after(self, seq: int) -> models.QuerySet["Event"]:
        """Return the events with a sequence number above `seq`, oldest first."""
        return self.events.filter(seq__gt=seq).order_by("seq")

    def unanswered_messages(self) -> models.QuerySet["Event"]:
        """Return the visitor messages that no completed turn has answered yet."""
        return self.events.filter(
            author=Event.Author.VISITOR, kind=Event.MESSAGE, turn__isnull=True
        ).order_by("seq")


class Event(models.Model):
    """One entry in a conversation's log: a message or a system event. Never updated."""

    MESSAGE = "message"

    class Author(models.TextChoices):
        VISITOR = "visitor"
        BOT = "bot"
        AGENT = "agent"
        SYSTEM = "system"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40, default=MESSAGE)
    author = models.CharField(max_length=16, choices=Author.choices)
    # Always the masked text (chatbot.personal_data): what every reader of the log sees.
    text = models.TextField(blank=True, default="")
    client_id = models.CharField(max_length=64, null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The original of a masked message, as PERSONAL_DATA_STORAGE keeps it: in clear ("keep") or
    # Fernet-encrypted ("encrypt"); both empty otherwise. Read only through a reveal, audited.
    original_text = models.TextField(blank=True, default="", editable=False)
    original_encrypted = models.TextField(blank=True, default="", editable=False)

    class Meta:
        ordering = ["conversation", "seq"]
        permissions = [
            ("reveal_personal_data", "Can reveal the personal data masked in a message"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="event_unique_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="event_unique_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.author} {self.kind}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Events are append-only; append a new event instead.")
        super().save(*args, **kwargs)

    @property
    def has_original(self) -> bool:
        """Return whether this message's original (before masking) was kept."""
        return bool(self.original_text or self.original_encrypted)

    def as_frame(self) -> dict:
        """Return the event as the protocol's `event` frame: the masked text, never the original."""
        frame = {
            "type": "event",
            "seq": self.seq,
            "kind": self.kind,
            "author": self.author,
            "text": self.text,
            "client_id": self.client_id,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }
        if self.data:
            frame["data"] = self.data
        return frame

    def as_replayed_frame(self) -> dict:
        """Return the `event` frame, with the visitor's rating if this answer has one."""
        frame = self.as_frame()
        feedback = getattr(self, "feedback", None)
        if feedback is not None:
            frame["feedback"] = feedback.rating
        return frame

    def answering_turn(self) -> "Turn | None":
        """Return the turn that committed this bot message, or None for any other event.

        A turn commits its replies and then itself in one transaction, and turns are answered
        one at a time in message order: so it is the first turn, in message order, among those
        whose visitor message came before this event and that were not yet stored when it was.
        Not simply the turn of the latest visitor message before it: a message sent while the
        bot was still answering the previous one comes before that answer too.
        """
        if self.author != Event.Author.BOT or self.kind != Event.MESSAGE:
            return None
        return (
            Turn.objects.filter(
                conversation_id=self.conversation_id,
                visitor_event__seq__lt=self.seq,
                created_at__gte=self.created_at,
            )
            .order_by("visitor_event__seq")
            .first()
        )


class Turn(models.Model):
    """The bot's handling of one visitor message, with the dialogue state it left."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    visitor_event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="turn")
    state = models.JSONField(default=dict, blank=True)
    # What changed in the state this turn, field by field, so anyone can see why a slot changed.
    state_diff = models.JSONField(default=dict, blank=True)
    # The classifier's verdict the turn used (or its fallback status), to replay the turn.
    understanding = models.JSONField(default=dict, blank=True)
    # How the policy decided: its path, the intent served, references resolved.
    trace = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"turn for #{self.visitor_event.seq}"


class AnswerFeedback(models.Model):
    """A visitor's thumbs up or down on one bot answer; a new rating replaces the old one."""

    class Rating(models.TextChoices):
        UP = "up", "👍 helped"
        DOWN = "down", "👎 did not help"

    answer = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="feedback")
    # The turn that produced the answer, resolved when the rating is stored.
    turn = models.ForeignKey(
        Turn, on_delete=models.SET_NULL, null=True, blank=True, related_name="answer_feedback"
    )
    rating = models.CharField(max_length=8, choices=Rating.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "answer feedback"

    def __str__(self) -> str:
        return f"{self.rating} on #{self.answer.seq}"

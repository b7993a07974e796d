"""The knowledge graph's tables: nodes, typed relations, the graph's version and the change log."""

from django.conf import settings
from django.db import models


class GraphVersion(models.Model):
    """The one row whose number goes up with every change, so processes know to rebuild.

    Writers lock this row first, which also serialises edits of the graph.
    """

    number = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"knowledge graph version {self.number}"


class Node(models.Model):
    """A thing the bot knows about: a product, a process, a fee, a country, a topic..."""

    key = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=50, db_index=True)
    label = models.CharField(max_length=200)
    aliases = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    answers = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        permissions = [("edit_knowledge", "Can edit the knowledge graph")]

    def __str__(self) -> str:
        return self.key

    def snapshot(self) -> dict:
        """Return the node's content, as the change log and the exchange formats hold it."""
        return {
            "key": self.key,
            "type": self.type,
            "label": self.label,
            "aliases": list(self.aliases),
            "attributes": dict(self.attributes),
            "answers": list(self.answers),
        }


class Relation(models.Model):
    """A typed, directed relation between two nodes; at most one per source, type and target."""

    source = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="outgoing")
    type = models.CharField(max_length=50, db_index=True)
    target = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="incoming")
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "type", "target"], name="one_relation_per_source_type_target"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source.key} -{self.type}-> {self.target.key}"

    def snapshot(self) -> dict:
        """Return the relation's content, its ends named by key."""
        return {
            "source": self.source.key,
            "type": self.type,
            "target": self.target.key,
            "attributes": dict(self.attributes),
        }


class Change(models.Model):
    """One change to the graph: who made it, when, and the object before and after."""

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"

    class Subject(models.TextChoices):
        NODE = "node"
        RELATION = "relation"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    subject = models.CharField(max_length=10, choices=Subject.choices)
    target = models.CharField(max_length=300, help_text="The node's key or the relation's ends")
    # Space-separated and space-padded, so a node's history is `concerns__contains=" key "` on
    # every database (SQLite cannot search inside JSON lists).
    concerns = models.TextField(help_text="The keys of the nodes this change concerns")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    graph_version = models.BigIntegerField()
    reverts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reverted_by"
    )
    # Who made it when no signed-in editor did, e.g. "API key: CMS sync".
    via = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.subject} {self.target}"

    @staticmethod
    def concerning(*keys: str) -> str:
        """Return the `concerns` text for these node keys."""
        return " " + " ".join(dict.fromkeys(keys)) + " "

"""Intents, their training examples, and what the classifier said about each visitor message."""

from django.core.validators import RegexValidator
from django.db import models

INTENT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.?\-]{0,99}$"
MAX_EXAMPLE_CHARS = 2000


class Intent(models.Model):
    """Something a customer wants, such as `card_arrival` or `lost_or_stolen_card`."""

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[
            RegexValidator(
                INTENT_NAME_PATTERN, "Letters, digits and _ . ? -, starting with a letter."
            )
        ],
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrainingExample(models.Model):
    """One way a customer says an intent."""

    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="examples")
    text = models.TextField(max_length=MAX_EXAMPLE_CHARS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["intent", "id"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "text"], name="example_unique_per_intent")
        ]

    def __str__(self) -> str:
        return self.text[:80]


class MessageClassification(models.Model):
    """The classifier's verdict on one visitor message; written once per message."""

    event = models.OneToOneField(
        "chatbot.Event", on_delete=models.CASCADE, related_name="classification"
    )
    intent = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField()
    is_low_confidence = models.BooleanField()
    ranking = models.JSONField(default=list)
    entities = models.JSONField(default=list)
    model_version = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.intent} ({self.confidence:.2f})"


class TrainedIntentModel(Intent):
    """A trained intent model, listed in the admin; the models themselves are folders on disk."""

    class Meta:
        proxy = True
        # The admin pages ask for the permission to view intents, not one of their own.
        default_permissions = ()
        verbose_name = "intent model"


class TrainingRun(models.Model):
    """One training of the intent model asked for through the API, and how it ended."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Mode(models.TextChoices):
        FAST = "fast"
        FINETUNE = "finetune"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.FAST)
    requested_by = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The stored model it made, and whether it now serves (training promotes unless worse).
    version = models.CharField(max_length=100, blank=True)
    is_promoted = models.BooleanField(default=False)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # True while queued or running, null after: the unique index lets one run be active.
    is_active = models.BooleanField(null=True, default=True, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"training run {self.pk} ({self.status})"

"""Trainings asked for by other systems: one at a time, recorded from queued to its outcome."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from chatbot.nlu import promotion
from chatbot.nlu.importing import stored_examples
from chatbot.nlu.models import TrainingRun
from chatbot.nlu.training import TrainingSettings, train_and_store

logger = logging.getLogger(__name__)


class TrainingBusy(Exception):
    """A training is queued or running already; `run` is that one."""

    def __init__(self, run: TrainingRun) -> None:
        super().__init__(f"training run {run.pk} is {run.status}")
        self.run = run


def queue_training(mode: str, requested_by: str) -> TrainingRun:
    """Record a new training run, unless one is queued or running; the caller starts it."""
    try:
        with transaction.atomic():
            return TrainingRun.objects.create(mode=mode, requested_by=requested_by)
    except IntegrityError:  # another run is active (the unique is_active)
        raise TrainingBusy(TrainingRun.objects.get(is_active=True)) from None


def run_training(run_id: int) -> TrainingRun:
    """Train on the stored examples, store the model, promote it unless worse; record it all."""
    run = TrainingRun.objects.get(pk=run_id)
    if run.status != TrainingRun.Status.QUEUED:
        return run  # a redelivered task: the run has been taken already
    TrainingRun.objects.filter(pk=run_id).update(
        status=TrainingRun.Status.RUNNING, started_at=timezone.now()
    )
    try:
        outcome = train_and_store(
            stored_examples(), TrainingSettings(mode=run.mode), show_progress=False
        )
    except Exception as error:  # recorded on the run, which the caller reads
        logger.exception("Training run %s failed", run_id)
        TrainingRun.objects.filter(pk=run_id).update(
            status=TrainingRun.Status.FAILED,
            finished_at=timezone.now(),
            error=str(error)[:2000],
            is_active=None,
        )
    else:
        with transaction.atomic():
            TrainingRun.objects.filter(pk=run_id).update(
                status=TrainingRun.Status.SUCCEEDED,
                finished_at=timezone.now(),
                version=outcome.version,
                is_promoted=outcome.is_promoted,
                summary=outcome.metadata["validation"]["summary"],
                is_active=None,
            )
            if outcome.is_promoted:
                promotion.promoted(outcome.version, outcome.previous_version)
    return TrainingRun.objects.get(pk=run_id)

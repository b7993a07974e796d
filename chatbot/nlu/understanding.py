"""What a visitor's message means: the promoted model's intents plus the extracted entities."""

import logging

from django.db import IntegrityError

from chatbot.nlu.classifier import promoted_classifier
from chatbot.nlu.entities import extract_entities
from chatbot.nlu.models import MessageClassification
from knowledge.linking import GraphLinker
from knowledge.service import current_graph

logger = logging.getLogger(__name__)


def understand_texts(texts: list[str], threads: int = 1) -> list[dict]:
    """Return, per text, its ranked intents and entities (status `no_model` before training)."""
    classifier = promoted_classifier(threads)
    predictions = classifier.classify(texts) if classifier else [None] * len(texts)
    linkers = [GraphLinker(current_graph())]
    results = []
    for text, prediction in zip(texts, predictions, strict=True):
        entities = [entity.as_dict() for entity in extract_entities(text, linkers=linkers)]
        if prediction is None:
            results.append({"status": "no_model", "entities": entities})
        else:
            results.append({"status": "ok", **prediction.as_dict(), "entities": entities})
    return results


def record_verdicts(verdicts: list[tuple[int, dict]]) -> None:
    """Keep the first verdict on each message (event id, result); a redelivery's is ignored.

    Written after the waiting consumer has its answer, so the database is never on the way.
    """
    rows = [
        MessageClassification(
            event_id=event_id,
            intent=result["intent"],
            confidence=result["confidence"],
            is_low_confidence=result["is_low_confidence"],
            ranking=result["ranking"],
            entities=result["entities"],
            model_version=result["model_version"],
        )
        for event_id, result in verdicts
        if result["status"] == "ok"
    ]
    try:
        MessageClassification.objects.bulk_create(rows, ignore_conflicts=True)
    except IntegrityError:
        # The conversation was deleted meanwhile; its visitor already has the answer.
        logger.warning("Verdicts on %d deleted message(s) were not kept", len(rows))

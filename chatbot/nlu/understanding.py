"""What a visitor's message means: the promoted model's intents plus the extracted entities."""

from django.db import IntegrityError

from chatbot.models import Event
from chatbot.nlu.classifier import promoted_classifier
from chatbot.nlu.entities import extract_entities
from chatbot.nlu.models import MessageClassification
from knowledge.linking import GraphLinker
from knowledge.service import current_graph


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


def understand_events(event_ids: list[int], threads: int = 1) -> dict[int, dict]:
    """Classify visitor messages once each: a stored verdict is returned, never redone."""
    stored = {c.event_id: c for c in MessageClassification.objects.filter(event_id__in=event_ids)}
    missing = list(
        Event.objects.filter(pk__in=set(event_ids) - stored.keys()).values_list("pk", "text")
    )
    results = {event_id: _as_result(c) for event_id, c in stored.items()}
    fresh = understand_texts([text for _, text in missing], threads)
    for (event_id, _), result in zip(missing, fresh, strict=True):
        results[event_id] = _store(event_id, result) if result["status"] == "ok" else result
    return results


def _store(event_id: int, result: dict) -> dict:
    try:
        MessageClassification.objects.create(
            event_id=event_id,
            intent=result["intent"],
            confidence=result["confidence"],
            is_low_confidence=result["is_low_confidence"],
            ranking=result["ranking"],
            entities=result["entities"],
            model_version=result["model_version"],
        )
    except IntegrityError:
        # A redelivered task raced the first delivery; the first verdict stands.
        return _as_result(MessageClassification.objects.get(event_id=event_id))
    return result


def _as_result(classification: MessageClassification) -> dict:
    return {
        "status": "ok",
        "intent": classification.intent,
        "confidence": classification.confidence,
        "is_low_confidence": classification.is_low_confidence,
        "ranking": classification.ranking,
        "model_version": classification.model_version,
        "entities": classification.entities,
    }

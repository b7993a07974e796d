"""What a visitor's message means: the promoted model's intents plus the extracted entities.

A message can also be read in its conversation's context: the question the conversation is
about, followed by the message. "And in France?" or "how long does that take?" mean little alone
and much after "How much does it cost to withdraw cash abroad?". The dialogue tracker decides
which reading to trust (`chatbot.dialogue.tracker`).
"""

import logging
import time

from django.db import IntegrityError

from chatbot import metrics
from chatbot.dialogue import acts
from chatbot.nlu.classifier import promoted_classifier
from chatbot.nlu.entities import extract_entities
from chatbot.nlu.graph_linking import GraphLinker
from chatbot.nlu.models import MessageClassification
from knowledge.graph import KnowledgeGraph
from knowledge.service import current_graph

logger = logging.getLogger(__name__)


def understand_texts(
    texts: list[str],
    threads: int = 1,
    contexts: list[str | None] | None = None,
    graph: KnowledgeGraph | None = None,
) -> list[dict]:
    """Return, per text, its ranked intents and entities (status `no_model` before training).

    With `contexts` (one per text, or None), a text that has one and may be a follow-up (the
    model's belief in `follow_up` reaches FOLLOW_UP_BELIEF) is classified again after its
    context, and its result carries that reading as `in_context`: intent, confidence,
    is_low_confidence and ranking. A follow-up that names something ("and in France?") is not:
    it carries on with the topic under way (`chatbot.dialogue.tracker`), so it costs one pass
    like any other text. `graph` links the texts' entities; None reads the current one.
    """
    contexts = contexts or [None] * len(texts)
    classifier = promoted_classifier(threads)
    predictions = _classify(classifier, texts) if classifier else [None] * len(texts)
    linkers = [GraphLinker(graph if graph is not None else current_graph())]
    entities = [
        [entity.as_dict() for entity in extract_entities(text, linkers=linkers)] for text in texts
    ]
    follow_ups = [
        index
        for index, (prediction, context) in enumerate(zip(predictions, contexts, strict=True))
        if context and not entities[index] and prediction and _may_follow_up(prediction)
    ]
    readings = (
        classifier.classify([f"{contexts[i]} {texts[i]}" for i in follow_ups]) if follow_ups else []
    )
    in_context = dict(zip(follow_ups, readings, strict=True))
    results = []
    for index, prediction in enumerate(predictions):
        if prediction is None:
            results.append({"status": "no_model", "entities": entities[index]})
            continue
        result = {"status": "ok", **prediction.as_dict(), "entities": entities[index]}
        if index in in_context:
            reading = in_context[index].as_dict()
            result["in_context"] = {
                name: reading[name]
                for name in ("intent", "confidence", "is_low_confidence", "ranking")
            }
        results.append(result)
    return results


def _classify(classifier, texts: list[str]) -> list:
    started = time.perf_counter()
    predictions = classifier.classify(texts)
    metrics.record_classification(
        time.perf_counter() - started, [prediction.confidence for prediction in predictions]
    )
    return predictions


def _may_follow_up(prediction) -> bool:
    return any(
        intent == acts.FOLLOW_UP and belief >= acts.FOLLOW_UP_BELIEF
        for intent, belief in prediction.ranking
    )


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

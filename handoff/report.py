"""The handoff figures: rates by reason and intent, waits, satisfaction, containment."""

from collections import Counter

from django.db.models import Count

from chatbot.models import Conversation, Event
from handoff.models import Handoff, Rating

RECENT_HANDOFFS = 50


def handoff_report() -> dict:
    """Return the figures the report page charts."""
    conversations = (
        Conversation.objects.filter(events__author=Event.Author.VISITOR).distinct().count()
    )
    handoffs = list(Handoff.objects.select_related("assigned_to").order_by("-requested_at"))
    escalated = {handoff.conversation_id for handoff in handoffs}
    return {
        "conversations": conversations,
        "handoffs": len(handoffs),
        "handoff_rate_by_reason": _rates(
            Counter(h.reason for h in handoffs), conversations, "reason"
        ),
        "handoff_rate_by_intent": _rates(
            Counter(h.intent or "(none)" for h in handoffs), conversations, "intent"
        ),
        "wait_seconds": [
            round((h.accepted_at - h.requested_at).total_seconds(), 1)
            for h in handoffs
            if h.accepted_at
        ],
        "satisfaction": {
            "bot_only": _satisfaction(Rating.objects.filter(was_human_handled=False)),
            "human": _satisfaction(Rating.objects.filter(was_human_handled=True)),
        },
        "containment_rate": round(1 - len(escalated) / conversations, 4) if conversations else None,
        "dispositions": [
            {"disposition": row["disposition"], "count": row["count"]}
            for row in Handoff.objects.exclude(disposition="")
            .values("disposition")
            .annotate(count=Count("id"))
        ],
        "recent": [_measured(handoff) for handoff in handoffs[:RECENT_HANDOFFS]],
    }


def _rates(counts: Counter, conversations: int, name: str) -> list[dict]:
    return [
        {name: key, "count": count, "rate": round(count / conversations, 4) if conversations else 0}
        for key, count in counts.most_common()
    ]


def _satisfaction(ratings) -> dict:
    scores = list(ratings.values_list("score", flat=True))
    return {
        "count": len(scores),
        "mean": round(sum(scores) / len(scores), 2) if scores else None,
        "distribution": [scores.count(score) for score in range(1, 6)],
    }


def _measured(handoff: Handoff) -> dict:
    """Return one handoff's wait, time to first agent reply, handle time and disposition."""

    def seconds(start, end):
        return round((end - start).total_seconds(), 1) if start and end else None

    return {
        "handoff_id": handoff.pk,
        "reason": handoff.reason,
        "intent": handoff.intent,
        "status": handoff.status,
        "agent": handoff.assigned_to.display_name if handoff.assigned_to else None,
        "wait_seconds": seconds(handoff.requested_at, handoff.accepted_at),
        "first_reply_seconds": seconds(handoff.accepted_at, handoff.first_agent_reply_at),
        "handle_seconds": seconds(handoff.accepted_at, handoff.ended_at),
        "disposition": handoff.disposition,
    }

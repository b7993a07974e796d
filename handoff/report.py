"""The handoff figures: rates by reason and intent, waits, satisfaction, containment."""

from collections import Counter, defaultdict

from django.db.models import Count, Q

from chatbot.models import Conversation, Event
from handoff.models import Handoff, Rating

RECENT_HANDOFFS = 50


def handoff_report() -> dict:
    """Return the figures the report page charts.

    Every rate is a fraction of conversations (0 to 1): a conversation handed over three times
    counts once, so no rate can exceed 1. Handoff counts are given beside it.
    """
    handoffs = list(Handoff.objects.select_related("assigned_to").order_by("-requested_at"))
    escalated = {handoff.conversation_id for handoff in handoffs}
    # A visitor who pressed "talk to a person" before typing has a conversation too.
    conversations = (
        Conversation.objects.filter(Q(events__author=Event.Author.VISITOR) | Q(pk__in=escalated))
        .distinct()
        .count()
    )
    return {
        "conversations": conversations,
        "handoffs": len(handoffs),
        "handed_over_conversations": len(escalated),
        "handoff_rate_by_reason": _rates(handoffs, lambda h: h.reason, conversations, "reason"),
        "handoff_rate_by_intent": _rates(
            handoffs, lambda h: h.intent or "(none)", conversations, "intent"
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


def _rates(handoffs: list[Handoff], key_of, conversations: int, name: str) -> list[dict]:
    """Per key: handoffs, distinct conversations, and those conversations' share of all."""
    counts: Counter = Counter()
    handed_over: dict[str, set] = defaultdict(set)
    for handoff in handoffs:
        key = key_of(handoff)
        counts[key] += 1
        handed_over[key].add(handoff.conversation_id)
    return [
        {
            name: key,
            "count": count,
            "conversations": len(handed_over[key]),
            "rate": round(len(handed_over[key]) / conversations, 4) if conversations else 0,
        }
        for key, count in sorted(
            counts.items(), key=lambda item: (-len(handed_over[item[0]]), -item[1], item[0])
        )
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

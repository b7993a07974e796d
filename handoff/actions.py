"""Every write of the handoff: escalate, route, offer, accept, talk, transfer, hand back, close,
and agents' presence: consoles opening, heard from and closing, agents leaving.

Each changes the conversation's owner through the state machine, logs the change as an event in
the conversation, and notifies the visitor and the agents after the commit. Claims are
conditional updates, so two agents never get the same conversation.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from chatbot import actions as conversation_actions
from chatbot import metrics, personal_data, personal_data_storage
from chatbot.models import Conversation, Event
from chatbot.webhooks import payloads as webhooks
from handoff import notify, webhook_events
from handoff.configuration import longest_countdown_seconds, presence_times
from handoff.hours import is_open, parse_hours
from handoff.models import Agent, AgentConnection, Handoff, Note, Rating, Skill, Ticket
from handoff.presence import has_gone, seconds_until_check
from handoff.routing import AgentSlot, choose_agent, skill_for_intent
from handoff.state_machine import AGENT, BOT, CLOSED, WAITING, check_transition
from handoff.status import average_wait_seconds, waiting_frame

HANDOFF_EVENT = "handoff"
UNAVAILABLE_QUIET_SECONDS = 600


class HandoffError(Exception):
    """A handoff action that cannot be done; `code` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# Escalation ------------------------------------------------------------------------------------


def request_handoff(conversation_id: uuid.UUID, reason: str, intent: str | None = None) -> Handoff:
    """Escalate a conversation to people; asking again while one is open returns that one."""
    return open_handoff(conversation_id, reason, intent)[0]


def open_handoff(
    conversation_id: uuid.UUID, reason: str, intent: str | None = None
) -> tuple[Handoff, bool]:
    """Escalate a conversation to people; return the handoff and whether this request made it.

    Asking again while one is open returns that one (and False): the visitor was told already.
    """
    # An agent whose consoles all lapsed (a server process died under them) is not available.
    settle_presence()
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        already_open = conversation.handoffs.filter(status__in=Handoff.OPEN_STATUSES).first()
        if already_open is not None:
            return already_open, False
        recently_unavailable = conversation.handoffs.filter(
            status=Handoff.Status.UNAVAILABLE,
            requested_at__gte=timezone.now()
            - datetime.timedelta(seconds=UNAVAILABLE_QUIET_SECONDS),
        ).first()
        if recently_unavailable is not None and reason != "requested":
            # The visitor was just told nobody is free; the bot's own triggers do not say it again.
            return recently_unavailable, False
        skills = dict(Skill.objects.values_list("name", "intents"))
        skill_name = skill_for_intent(intent, skills)
        skill = Skill.objects.filter(name=skill_name).first() if skill_name else None
        unavailable = _why_unavailable(skill)
        if unavailable:
            handoff = Handoff.objects.create(
                conversation=conversation,
                reason=reason,
                intent=intent or "",
                skill=skill,
                status=Handoff.Status.UNAVAILABLE,
                ended_at=timezone.now(),
            )
            _log(
                conversation,
                UNAVAILABLE_TEXT[unavailable],
                status="unavailable",
                reason=reason,
                handoff=handoff,
                why=unavailable,
            )
            webhook_events.handoff_requested(handoff)
            frame = _unavailable_frame(unavailable)
            transaction.on_commit(lambda: notify.to_conversation(conversation_id, frame))
            transaction.on_commit(
                lambda: metrics.HANDOFF_REQUESTS.labels(reason, "unavailable").inc()
            )
            return handoff, True
        handoff = Handoff.objects.create(
            conversation=conversation, reason=reason, intent=intent or "", skill=skill
        )
        _move(conversation, WAITING)
        _log(
            conversation,
            "Connecting you to a member of our team…",
            status=WAITING,
            reason=reason,
            handoff=handoff,
        )
        webhook_events.handoff_requested(handoff)
        transaction.on_commit(lambda: _after_queue_change(handoff.pk, route=True))
        transaction.on_commit(lambda: metrics.HANDOFF_REQUESTS.labels(reason, "queued").inc())
        return handoff, True


UNAVAILABLE_TEXT = {
    "outside_hours": (
        "Our team is away right now. Leave a message and an agent will get back to you."
    ),
    "no_agent_online": (
        "No agent is free right now. Leave a message and an agent will get back to you."
    ),
}


def _why_unavailable(skill: Skill | None) -> str | None:
    hours = parse_hours(settings.HANDOFF_HOURS)
    if not is_open(hours, timezone.localtime()):
        return "outside_hours"
    return None if _is_anyone_online(skill.pk if skill else None) else "no_agent_online"


def _is_anyone_online(skill_id: int | None) -> bool:
    online = Agent.objects.filter(is_online=True)
    if skill_id is not None:
        online = online.filter(skills=skill_id)
    return online.exists()


def _unavailable_frame(why: str) -> dict:
    return {"type": "handoff", "status": "unavailable", "why": why, "can_leave_message": True}


def cancel_by_visitor(conversation_id: uuid.UUID) -> Handoff | None:
    """Stop waiting and go back to the bot; an agent already chatting is not cut off."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        handoff = conversation.handoffs.filter(status=Handoff.Status.WAITING).first()
        if handoff is None:
            return None
        offered_to = handoff.offered_to_id
        Handoff.objects.filter(pk=handoff.pk).update(
            status=Handoff.Status.CANCELLED, ended_at=timezone.now(), offered_to=None
        )
        _move(conversation, BOT)
        _log(
            conversation,
            "You're back with the virtual assistant.",
            status=BOT,
            handoff=handoff,
            reason="cancelled",
        )

        def tell() -> None:
            notify.to_conversation(conversation_id, {"type": "handoff", "status": BOT})
            if offered_to:
                notify.to_agent(
                    offered_to, {"type": "released", "handoff_id": handoff.pk, "why": "cancelled"}
                )
            broadcast_queue()

        transaction.on_commit(tell)
        return handoff


# Routing and offers ----------------------------------------------------------------------------


def route(handoff_id: int) -> Agent | None:
    """Offer a waiting conversation to the best agent able to take it; return who, if anyone."""
    with transaction.atomic():
        handoff = Handoff.objects.select_for_update().filter(pk=handoff_id).first()
        if handoff is None or handoff.status != Handoff.Status.WAITING or handoff.offered_to_id:
            return None
        passed_over = set(handoff.passed_over.values_list("pk", flat=True))
        choice = choose_agent(
            agent_slots(), handoff.skill.name if handoff.skill else None, passed_over
        )
        if choice is None:
            # Nobody has room now; with nobody online for it at all, the visitor is told so.
            transaction.on_commit(lambda: end_if_nobody_can_take(handoff_id))
            return None
        agent = Agent.objects.get(pk=choice.id)
        handoff.offered_to = agent
        handoff.offer_expires_at = timezone.now() + datetime.timedelta(
            seconds=settings.HANDOFF_OFFER_SECONDS
        )
        handoff.offer_count += 1
        handoff.save(update_fields=["offered_to", "offer_expires_at", "offer_count"])
        offer = {
            "type": "offer",
            "handoff_id": handoff.pk,
            "expires_in_seconds": settings.HANDOFF_OFFER_SECONDS,
            "reason": handoff.reason,
            "intent": handoff.intent,
        }
        number = handoff.offer_count

        def tell() -> None:
            from handoff.tasks import schedule_offer_expiry

            notify.to_agent(agent.pk, offer)
            schedule_offer_expiry(handoff_id, number, settings.HANDOFF_OFFER_SECONDS)

        transaction.on_commit(tell)
        return agent


def expire_offer(handoff_id: int, offer_number: int) -> bool:
    """Take back an offer nobody accepted in time and offer it to the next agent."""
    with transaction.atomic():
        handoff = Handoff.objects.select_for_update().filter(pk=handoff_id).first()
        if (
            handoff is None
            or handoff.status != Handoff.Status.WAITING
            or handoff.offer_count != offer_number
            or handoff.offered_to_id is None
        ):
            return False
        agent_id = handoff.offered_to_id
        _pass_over(handoff)

        def tell() -> None:
            notify.to_agent(
                agent_id, {"type": "released", "handoff_id": handoff_id, "why": "offer_expired"}
            )
            route(handoff_id)

        transaction.on_commit(tell)
        return True


def decline(handoff_id: int, agent: Agent) -> None:
    """Pass an offer on to the next agent."""
    with transaction.atomic():
        handoff = (
            Handoff.objects.select_for_update().filter(pk=handoff_id, offered_to=agent).first()
        )
        if handoff is None:
            raise HandoffError("not_offered", "This conversation is not offered to you.")
        _pass_over(handoff)
        transaction.on_commit(lambda: route(handoff_id))


def _pass_over(handoff: Handoff) -> None:
    handoff.passed_over.add(handoff.offered_to_id)
    handoff.offered_to = None
    handoff.offer_expires_at = None
    handoff.save(update_fields=["offered_to", "offer_expires_at"])


def accept(handoff_id: int, agent: Agent) -> Handoff:
    """Take a waiting conversation; of agents accepting at once exactly one gets it."""
    handoff = Handoff.objects.filter(pk=handoff_id).select_related("skill").first()
    if handoff is None:
        raise HandoffError("not_found", "No such conversation in the queue.")
    if handoff.status != Handoff.Status.WAITING:
        raise HandoffError("already_taken", "This conversation is no longer waiting.")
    if not may_see(agent, handoff):
        raise HandoffError("forbidden", "This conversation is not in your queues.")
    if open_conversation_count(agent) >= agent.capacity:
        raise HandoffError("at_capacity", "You already have as many conversations as you can take.")
    with transaction.atomic():
        claimed = Handoff.objects.filter(pk=handoff_id, status=Handoff.Status.WAITING).update(
            status=Handoff.Status.ASSIGNED,
            assigned_to=agent,
            accepted_at=timezone.now(),
            offered_to=None,
            offer_expires_at=None,
        )
        if claimed == 0:
            raise HandoffError("already_taken", "Another agent has taken this conversation.")
        conversation = Conversation.objects.select_for_update().get(pk=handoff.conversation_id)
        _move(conversation, AGENT)
        _log(
            conversation,
            f"{agent.display_name} has joined the conversation.",
            status=AGENT,
            handoff=handoff,
            agent_name=agent.display_name,
        )
        handoff.refresh_from_db()
        webhook_events.handoff_accepted(handoff, agent.display_name)

        def tell() -> None:
            from handoff.packet import handoff_packet

            notify.to_conversation(
                handoff.conversation_id,
                {"type": "handoff", "status": AGENT, "agent": {"name": agent.display_name}},
            )
            notify.to_agent(agent.pk, {"type": "assigned", "packet": handoff_packet(handoff)})
            notify.to_agents(
                {
                    "type": "released",
                    "handoff_id": handoff.pk,
                    "why": "taken",
                    "except_agent": agent.pk,
                }
            )
            broadcast_queue()

        transaction.on_commit(tell)
        waited = (handoff.accepted_at - handoff.requested_at).total_seconds()
        transaction.on_commit(lambda: metrics.HANDOFF_WAIT_SECONDS.observe(waited))
        return handoff


# The conversation with an agent --------------------------------------------------------------


def agent_message(handoff_id: int, agent: Agent, client_id: str, text: str) -> tuple[Event, bool]:
    """Store an agent's message (once per client id) and show it to the visitor.

    A customer's card number, IBAN or bank details an agent types are masked as a visitor's
    are; contact details are not (an agent gives out the bank's own helpline and address).
    """
    handoff = _assigned(handoff_id, agent)
    stored_id = f"agent-{agent.pk}-{client_id}"[:64]
    with transaction.atomic():
        existing = Event.objects.filter(
            conversation_id=handoff.conversation_id, client_id=stored_id
        ).first()
        if existing is not None:
            return existing, True
        try:
            with transaction.atomic():
                event = conversation_actions.append_event(
                    handoff.conversation_id,
                    kind=Event.MESSAGE,
                    author=Event.Author.AGENT,
                    text=text,
                    client_id=stored_id,
                    data={
                        "agent_name": agent.display_name,
                        "handoff_id": handoff.pk,
                        "client_id": client_id,
                    },
                    masking=personal_data.FINANCIAL_KINDS,
                )
            webhooks.messages_created(handoff.conversation_id, [event])
        except IntegrityError:
            return Event.objects.get(
                conversation_id=handoff.conversation_id, client_id=stored_id
            ), True
        Handoff.objects.filter(pk=handoff.pk, first_agent_reply_at__isnull=True).update(
            first_agent_reply_at=timezone.now()
        )
    transaction.on_commit(lambda: notify.to_conversation(handoff.conversation_id, event.as_frame()))
    return event, False


def reveal_original(handoff_id: int, agent: Agent, seq: int) -> str:
    """Return the original of a masked message in a conversation assigned to this agent.

    Only for a user whose role may reveal personal data; every reading is audited before the
    text is returned, so a reading that could not be recorded reveals nothing.
    """
    # The user read afresh: a permission taken away while the console was open counts now.
    user = get_user_model().objects.filter(pk=agent.user_id).first()
    if not personal_data_storage.may_reveal(user):
        raise HandoffError("forbidden", "Your role may not reveal personal data.")
    handoff = _assigned(handoff_id, agent)
    event = Event.objects.filter(
        conversation_id=handoff.conversation_id, seq=seq, kind=Event.MESSAGE
    ).first()
    if event is None:
        raise HandoffError("not_found", f"There is no message numbered {seq} in this chat.")
    try:
        return conversation_actions.reveal_original(
            event, user=user, details={"handoff_id": handoff.pk}
        )
    except personal_data_storage.NoOriginal:
        raise HandoffError(
            "no_original", "Nothing was masked in this message, or its original was not kept."
        ) from None
    except personal_data_storage.UnreadableOriginal:
        raise HandoffError(
            "unreadable_original", "This message's original was encrypted with a retired key."
        ) from None


def add_note(handoff_id: int, agent: Agent, text: str) -> Note:
    """Add an internal note: agents see it in the packet, the visitor never does."""
    handoff = _assigned(handoff_id, agent)
    return Note.objects.create(handoff=handoff, author=agent, text=text)


def transfer(
    handoff_id: int, agent: Agent, to_agent_id: int | None = None, skill: str | None = None
) -> Handoff:
    """Pass a conversation to another agent (who must be online with room) or a skill's queue."""
    handoff = _assigned(handoff_id, agent)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=handoff.conversation_id)
        if to_agent_id is not None:
            target = Agent.objects.filter(pk=to_agent_id, is_online=True).first()
            if (
                target is None
                or target.pk == agent.pk
                or open_conversation_count(target) >= target.capacity
            ):
                raise HandoffError("cannot_transfer", "That agent is not online or has no room.")
            Handoff.objects.filter(pk=handoff.pk).update(
                assigned_to=target, accepted_at=timezone.now()
            )
            _log(
                conversation,
                f"{target.display_name} has taken over from {agent.display_name}.",
                status=AGENT,
                handoff=handoff,
                agent_name=target.display_name,
            )
            handoff.refresh_from_db()

            def tell_agents() -> None:
                from handoff.packet import handoff_packet

                notify.to_agent(
                    agent.pk, {"type": "released", "handoff_id": handoff.pk, "why": "transferred"}
                )
                notify.to_agent(target.pk, {"type": "assigned", "packet": handoff_packet(handoff)})
                notify.to_conversation(
                    conversation.pk,
                    {"type": "handoff", "status": AGENT, "agent": {"name": target.display_name}},
                )

            transaction.on_commit(tell_agents)
            return handoff
        new_skill = Skill.objects.filter(name=skill).first()
        if new_skill is None:
            raise HandoffError("cannot_transfer", f"No skill {skill!r}.")
        Handoff.objects.filter(pk=handoff.pk).update(
            status=Handoff.Status.WAITING,
            assigned_to=None,
            skill=new_skill,
        )
        handoff.passed_over.add(agent)
        _move(conversation, WAITING)
        _log(
            conversation,
            "Connecting you to a colleague who can help with this…",
            status=WAITING,
            handoff=handoff,
            reason="transferred",
        )

        def tell_queue() -> None:
            notify.to_agent(
                agent.pk, {"type": "released", "handoff_id": handoff.pk, "why": "transferred"}
            )
            _after_queue_change(handoff.pk, route=True)

        transaction.on_commit(tell_queue)
        handoff.refresh_from_db()
        return handoff


def hand_back(handoff_id: int, agent: Agent) -> Handoff:
    """Give the conversation back to the bot, which then knows a person handled a stretch."""
    handoff = _assigned(handoff_id, agent)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=handoff.conversation_id)
        Handoff.objects.filter(pk=handoff.pk).update(
            status=Handoff.Status.RETURNED, ended_at=timezone.now()
        )
        _move(conversation, BOT)
        state = dict(conversation.state)
        state["human_stretches"] = state.get("human_stretches", 0) + 1
        # The bot starts afresh on what was unclear before: a person has dealt with it.
        state.update(low_confidence_streak=0, fallback_streak=0, frustration=0.0)
        conversation.state = state
        conversation.save(update_fields=["owner", "state", "updated_at"])
        _log(
            conversation,
            "You're back with the virtual assistant.",
            status=BOT,
            handoff=handoff,
            reason="handed_back",
        )
        webhook_events.handoff_closed(handoff, Handoff.Status.RETURNED)
        _free(agent)

        def tell() -> None:
            notify.to_conversation(conversation.pk, {"type": "handoff", "status": BOT})
            notify.to_agent(
                agent.pk, {"type": "released", "handoff_id": handoff.pk, "why": "handed_back"}
            )
            route_waiting()

        transaction.on_commit(tell)
        return handoff


def close(handoff_id: int, agent: Agent, disposition: str) -> Handoff:
    """Close the conversation with a disposition; the visitor is offered the rating."""
    return _close(_assigned(handoff_id, agent), agent, disposition)


def close_from_integration(handoff_id: int, disposition: str) -> Handoff:
    """Close an open handoff from another system (the REST API), whoever holds it."""
    handoff = Handoff.objects.filter(pk=handoff_id).select_related("assigned_to").first()
    if handoff is None:
        raise HandoffError("not_found", "No such handoff.")
    if handoff.status not in Handoff.OPEN_STATUSES:
        raise HandoffError("not_open", f"This handoff is {handoff.status}, not open.")
    return _close(handoff, handoff.assigned_to, disposition)


def _close(handoff: Handoff, agent: Agent | None, disposition: str) -> Handoff:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=handoff.conversation_id)
        Handoff.objects.filter(pk=handoff.pk).update(
            status=Handoff.Status.CLOSED, ended_at=timezone.now(), disposition=disposition
        )
        _move(conversation, CLOSED)
        conversation.status = Conversation.Status.CLOSED
        conversation.save(update_fields=["status", "updated_at"])
        _log(
            conversation,
            "This conversation has been closed. Thank you for contacting us.",
            status=CLOSED,
            handoff=handoff,
            disposition=disposition,
        )
        webhook_events.handoff_closed(handoff, Handoff.Status.CLOSED, disposition)
        if agent is not None:
            _free(agent)

        def tell() -> None:
            notify.to_conversation(
                conversation.pk, {"type": "handoff", "status": CLOSED, "can_rate": True}
            )
            if agent is not None:
                notify.to_agent(
                    agent.pk, {"type": "released", "handoff_id": handoff.pk, "why": "closed"}
                )
            else:
                broadcast_queue()  # it left the queue
            route_waiting()

        transaction.on_commit(tell)
        return handoff


# The visitor after a handoff -------------------------------------------------------------------


def leave_message(conversation_id: uuid.UUID, text: str, contact: str = "") -> Ticket:
    """Store a message for the agents when none could take the conversation."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        handoff = (
            conversation.handoffs.filter(status=Handoff.Status.UNAVAILABLE).order_by("-pk").first()
        )
        # The contact is what the visitor gave to be reached on; the message itself is masked
        # like any other (a ticket keeps no original).
        ticket = Ticket.objects.create(
            conversation=conversation,
            handoff=handoff,
            text=personal_data.mask(text)[0],
            contact=contact,
        )
        _log(
            conversation,
            "Thanks, your message has been passed to our team.",
            status="message_left",
            ticket=ticket.pk,
        )
        webhook_events.ticket_created(ticket)
        return ticket


def resolve_ticket(ticket_id: int) -> Ticket:
    """Mark a left message as dealt with; resolving it again changes nothing."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise HandoffError("not_found", "No such ticket.")
    if not ticket.is_resolved:
        Ticket.objects.filter(pk=ticket_id).update(is_resolved=True)
        ticket.is_resolved = True
    return ticket


def rate(conversation_id: uuid.UUID, score: int) -> Rating:
    """Record the visitor's satisfaction with a closed conversation, once."""
    conversation = Conversation.objects.get(pk=conversation_id)
    if conversation.owner != CLOSED:
        raise HandoffError("not_closed", "A conversation can be rated once it is closed.")
    was_human = conversation.handoffs.filter(accepted_at__isnull=False).exists()
    with transaction.atomic():
        rating, created = Rating.objects.get_or_create(
            conversation=conversation, defaults={"score": score, "was_human_handled": was_human}
        )
        if created:
            webhook_events.rating_submitted(rating)
    return rating


# Agents ----------------------------------------------------------------------------------------


def set_availability(agent: Agent, is_online: bool) -> Agent:
    """Go online (taking conversations, idle from now) or away (pending offers pass on at once)."""
    Agent.objects.filter(pk=agent.pk).update(
        is_online=is_online, idle_since=timezone.now() if is_online else agent.idle_since
    )
    agent.refresh_from_db()
    if is_online:
        _watch_presence(agent.pk, timezone.now())
        transaction.on_commit(route_waiting)
    else:
        transaction.on_commit(lambda: _after_agent_left(agent.pk, "agent_away"))
    return agent


def hello_frame(agent: Agent) -> dict:
    """Return the console's `hello`: the agent as the console shows them, and its heartbeat."""
    return {
        "type": "hello",
        "agent": agent.summary(),
        "heartbeat_seconds": presence_times().heartbeat_seconds,
    }


def agent_slots() -> list[AgentSlot]:
    """Return every agent as routing sees them: status, skills, load and capacity."""
    agents = Agent.objects.annotate(
        open_count=Count(
            "handoffs", filter=Q(handoffs__status=Handoff.Status.ASSIGNED), distinct=True
        )
    ).prefetch_related("skills")
    return [
        AgentSlot(
            agent.pk,
            agent.is_online,
            frozenset(s.name for s in agent.skills.all()),
            agent.open_count,
            agent.capacity,
            agent.idle_since,
        )
        for agent in agents
    ]


def open_conversation_count(agent: Agent) -> int:
    return Handoff.objects.filter(assigned_to=agent, status=Handoff.Status.ASSIGNED).count()


def may_see(agent: Agent, handoff: Handoff) -> bool:
    """Return whether the agent may see a handoff: theirs, offered to them, or in their skills."""
    if (
        agent.user.is_superuser
        or handoff.assigned_to_id == agent.pk
        or handoff.offered_to_id == agent.pk
    ):
        return True
    if handoff.status != Handoff.Status.WAITING:
        return False
    return handoff.skill_id is None or agent.skills.filter(pk=handoff.skill_id).exists()


def visible_queue(agent: Agent) -> list[dict]:
    """Return the waiting conversations this agent may take, oldest first."""
    now = timezone.now()
    waiting = Handoff.objects.filter(status=Handoff.Status.WAITING).select_related("skill")
    return [
        {
            "handoff_id": handoff.pk,
            "conversation_id": str(handoff.conversation_id),
            "reason": handoff.reason,
            "intent": handoff.intent,
            "skill": handoff.skill.name if handoff.skill else None,
            "waiting_seconds": round((now - handoff.requested_at).total_seconds()),
            "is_offered_to_you": handoff.offered_to_id == agent.pk,
        }
        for handoff in waiting
        if may_see(agent, handoff)
    ]


def route_waiting() -> None:
    """Offer every waiting conversation without an offer (an agent came online or got free)."""
    for handoff_id in Handoff.objects.filter(
        status=Handoff.Status.WAITING, offered_to__isnull=True
    ).values_list("pk", flat=True):
        route(handoff_id)
    broadcast_queue()


def broadcast_queue() -> None:
    """Tell every waiting visitor their position and wait, and every agent that the queue moved."""
    waiting = list(Handoff.objects.filter(status=Handoff.Status.WAITING).order_by("requested_at"))
    average = average_wait_seconds()
    for position, handoff in enumerate(waiting, start=1):
        notify.to_conversation(handoff.conversation_id, waiting_frame(handoff, position, average))
    notify.to_agents({"type": "queue_changed"})


# Presence: an agent is online only while one of their consoles is alive -----------------------


def connection_opened(
    agent: Agent, channel_name: str, now: datetime.datetime | None = None
) -> Agent:
    """Record a console that connected; return the agent as they are now (a reload keeps them)."""
    now = now or timezone.now()
    settle_presence(now)
    AgentConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={"agent": agent, "live_until": presence_times().heard(now)},
    )
    _watch_presence(agent.pk, now)
    agent.refresh_from_db()
    return agent


def connection_heard(agent: Agent, channel_name: str, now: datetime.datetime | None = None) -> None:
    """Keep a console alive for another timeout: it sent its heartbeat."""
    now = now or timezone.now()
    _, created = AgentConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={"agent": agent, "live_until": presence_times().heard(now)},
    )
    if created:
        # Its record was dropped when the agent was taken for gone: watch it again.
        _watch_presence(agent.pk, now)


def connection_closed(
    agent: Agent, channel_name: str, now: datetime.datetime | None = None
) -> None:
    """Count a closed console for the reload grace, then check whether the agent has gone."""
    now = now or timezone.now()
    AgentConnection.objects.filter(channel_name=channel_name).update(
        live_until=presence_times().closed(now)
    )
    _watch_presence(agent.pk, now)


def check_presence(agent_id: int, check: str, now: datetime.datetime | None = None) -> bool:
    """Take the agent for gone if all their consoles lapsed, else look again; return if gone.

    Only the agent's latest scheduled check counts: one from before a reconnect does nothing.
    """
    now = now or timezone.now()
    if not Agent.objects.filter(pk=agent_id, presence_check=check).exists():
        return False
    if agent_gone(agent_id, now):
        return True
    AgentConnection.objects.filter(agent_id=agent_id, live_until__lte=now).delete()
    if Agent.objects.filter(pk=agent_id, is_online=True).exists():
        # An agent who is away has nothing to lose; going online again starts the watch anew.
        _watch_presence(agent_id, now)
    return False


def settle_presence(now: datetime.datetime | None = None) -> list[int]:
    """Take for gone every online agent whose consoles have all lapsed; return their ids.

    Catches agents whose scheduled check was lost with the process that held it.
    """
    now = now or timezone.now()
    lapsed = (
        Agent.objects.filter(is_online=True, connections__isnull=False)
        .exclude(connections__live_until__gt=now)
        .values_list("pk", flat=True)
        .distinct()
    )
    return [agent_id for agent_id in list(lapsed) if agent_gone(agent_id, now)]


def agent_gone(agent_id: int, now: datetime.datetime | None = None) -> bool:
    """Send away an agent none of whose consoles is alive: their offers and chats pass on.

    Returns False, changing nothing, while one of their consoles is still alive.
    """
    now = now or timezone.now()
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(pk=agent_id).select_related("user").first()
        deadlines = list(
            AgentConnection.objects.filter(agent_id=agent_id).values_list("live_until", flat=True)
        )
        if agent is None or not has_gone(agent.is_online, deadlines, now):
            return False
        Agent.objects.filter(pk=agent_id).update(is_online=False)
        AgentConnection.objects.filter(agent_id=agent_id).delete()
        agent.is_online = False
        # A console still open somewhere (a network that came back) shows the agent away.
        hello = hello_frame(agent)
        transaction.on_commit(lambda: notify.to_agent(agent_id, hello))
    for handoff_id in Handoff.objects.filter(
        assigned_to=agent, status=Handoff.Status.ASSIGNED
    ).values_list("pk", flat=True):
        _requeue_from_absent_agent(handoff_id, agent)
    _after_agent_left(agent_id, "agent_gone")
    return True


def _watch_presence(agent_id: int, now: datetime.datetime) -> None:
    """Schedule the agent's next presence check for when their last console would lapse."""
    deadlines = AgentConnection.objects.filter(agent_id=agent_id).values_list(
        "live_until", flat=True
    )
    seconds = seconds_until_check(deadlines, now, longest_countdown_seconds())
    if seconds is None:
        return
    check = uuid.uuid4().hex
    Agent.objects.filter(pk=agent_id).update(presence_check=check)

    def schedule() -> None:
        from handoff.tasks import schedule_presence_check

        schedule_presence_check(agent_id, check, seconds)

    transaction.on_commit(schedule)


def _requeue_from_absent_agent(handoff_id: int, agent: Agent) -> bool:
    """Put a conversation of an agent who left back in the queue, the agent passed over."""
    handoff = Handoff.objects.filter(pk=handoff_id).first()
    if handoff is None:
        return False
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=handoff.conversation_id)
        moved = Handoff.objects.filter(
            pk=handoff_id, status=Handoff.Status.ASSIGNED, assigned_to=agent
        ).update(status=Handoff.Status.WAITING, assigned_to=None)
        if not moved:
            return False
        handoff.passed_over.add(agent)
        _move(conversation, WAITING)
        _log(
            conversation,
            f"{agent.display_name} had to leave. Connecting you to another member of our team…",
            status=WAITING,
            handoff=handoff,
            reason="agent_left",
        )
        released = {"type": "released", "handoff_id": handoff_id, "why": "agent_gone"}
        transaction.on_commit(lambda: notify.to_agent(agent.pk, released))
        return True


def _after_agent_left(agent_id: int, why: str) -> None:
    """Pass on at once the offers that waited on an agent who left; route what waits unoffered.

    A conversation that no online agent could take any more ends as unavailable (see `route`).
    """
    for handoff_id in Handoff.objects.filter(
        status=Handoff.Status.WAITING, offered_to=agent_id
    ).values_list("pk", flat=True):
        _withdraw_offer(handoff_id, agent_id, why)
    for handoff_id in Handoff.objects.filter(
        status=Handoff.Status.WAITING, offered_to__isnull=True
    ).values_list("pk", flat=True):
        route(handoff_id)
    broadcast_queue()


def _withdraw_offer(handoff_id: int, agent_id: int, why: str) -> None:
    with transaction.atomic():
        handoff = (
            Handoff.objects.select_for_update()
            .filter(pk=handoff_id, status=Handoff.Status.WAITING, offered_to=agent_id)
            .first()
        )
        if handoff is None:
            return
        _pass_over(handoff)
        released = {"type": "released", "handoff_id": handoff_id, "why": why}
        transaction.on_commit(lambda: notify.to_agent(agent_id, released))


def end_if_nobody_can_take(handoff_id: int) -> bool:
    """End a waiting conversation as unavailable when no online agent holds its skill.

    The visitor is told, may leave a message, and is back with the bot. Returns whether it ended.
    """
    handoff = Handoff.objects.filter(pk=handoff_id, status=Handoff.Status.WAITING).first()
    if handoff is None or _is_anyone_online(handoff.skill_id):
        return False
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=handoff.conversation_id)
        ended = Handoff.objects.filter(pk=handoff_id, status=Handoff.Status.WAITING).update(
            status=Handoff.Status.UNAVAILABLE,
            ended_at=timezone.now(),
            offered_to=None,
            offer_expires_at=None,
        )
        if not ended:
            return False
        _move(conversation, BOT)
        _log(
            conversation,
            UNAVAILABLE_TEXT["no_agent_online"],
            status="unavailable",
            reason=handoff.reason,
            handoff=handoff,
            why="no_agent_online",
        )
        frame = _unavailable_frame("no_agent_online")

        def tell() -> None:
            notify.to_conversation(conversation.pk, frame)
            if handoff.offered_to_id:
                notify.to_agent(
                    handoff.offered_to_id,
                    {"type": "released", "handoff_id": handoff_id, "why": "unavailable"},
                )
            broadcast_queue()

        transaction.on_commit(tell)
        return True


# Helpers ---------------------------------------------------------------------------------------


def _assigned(handoff_id: int, agent: Agent) -> Handoff:
    handoff = Handoff.objects.filter(
        pk=handoff_id, status=Handoff.Status.ASSIGNED, assigned_to=agent
    ).first()
    if handoff is None:
        raise HandoffError("not_yours", "This conversation is not assigned to you.")
    return handoff


def _move(conversation: Conversation, owner: str) -> None:
    check_transition(conversation.owner, owner)
    conversation.owner = owner
    conversation.save(update_fields=["owner", "updated_at"])


def _log(conversation: Conversation, text: str, **data) -> Event:
    handoff = data.pop("handoff", None)
    if handoff is not None:
        data["handoff_id"] = handoff.pk
    event = conversation_actions.append_event(
        conversation.pk, kind=HANDOFF_EVENT, author=Event.Author.SYSTEM, text=text, data=data
    )
    transaction.on_commit(lambda: notify.to_conversation(conversation.pk, event.as_frame()))
    return event


def _free(agent: Agent) -> None:
    if open_conversation_count(agent) == 0:
        Agent.objects.filter(pk=agent.pk).update(idle_since=timezone.now())


def _after_queue_change(handoff_id: int, route: bool) -> None:
    if route:
        from handoff.tasks import route_handoff

        route_handoff.delay(handoff_id)
    broadcast_queue()

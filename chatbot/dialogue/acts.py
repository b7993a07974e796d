"""Conversational acts: what a message does rather than what it asks about.

The intent model learns them like any other intent, from the project's own examples
(`chatbot/nlu/data/conversation.csv`): greetings, thanks, goodbyes, yes and no, asking for a
person, asking whether this is a bot, small talk, requests the bank does not deal in
(`out_of_scope`), `follow_up`, a question that has no topic of its own ("how long does that
take?", "and in France?") and means something only after the question before it, and
`return_to_topic`, going back to something discussed earlier.
"""

GREET = "greet"
THANK = "thank"
GOODBYE = "goodbye"
AFFIRM = "affirm"
DENY = "deny"
ASK_FOR_PERSON = "ask_for_person"
BOT_CHALLENGE = "bot_challenge"
CHITCHAT = "chitchat"
# A request the bank does not deal in ("book me a table for dinner").
OUT_OF_SCOPE = "out_of_scope"
FOLLOW_UP = "follow_up"
RETURN_TO_TOPIC = "return_to_topic"

# How much belief in "this is a follow-up" has a message read after the question before it.
FOLLOW_UP_BELIEF = 0.3

ACTS = (
    GREET,
    THANK,
    GOODBYE,
    AFFIRM,
    DENY,
    ASK_FOR_PERSON,
    BOT_CHALLENGE,
    CHITCHAT,
    OUT_OF_SCOPE,
    FOLLOW_UP,
    RETURN_TO_TOPIC,
)
# Acts the bot answers with a line of its own (the decision's name is the second item).
ANSWERED_ACTS = {
    GREET: "greeting",
    THANK: "thanks",
    GOODBYE: "goodbye",
    BOT_CHALLENGE: "bot_challenge",
    CHITCHAT: "chitchat",
}


def is_act(intent: str | None) -> bool:
    """Return whether an intent is a conversational act rather than a topic."""
    return intent in ACTS

"""The demo bank's support desk: skills mapped to intents, and a few canned replies."""

from handoff.models import CannedReply, Skill

SKILLS = {
    "cards": [
        "lost_or_stolen_card",
        "compromised_card",
        "card_not_working",
        "card_swallowed",
        "pin_blocked",
        "card_arrival",
        "activate_my_card",
    ],
    "payments": [
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "transaction_charged_twice",
        "direct_debit_payment_not_recognised",
        "request_refund",
        "Refund_not_showing_up",
    ],
    "transfers": [
        "cancel_transfer",
        "failed_transfer",
        "transfer_not_received_by_recipient",
        "declined_transfer",
    ],
    "identity": ["unable_to_verify_identity", "verify_source_of_funds", "why_verify_identity"],
}
CANNED = {
    "Greeting": (
        "Hello, thanks for waiting. I've read your conversation with our assistant; let me help."
    ),
    "Card blocked": "I've made sure your card is blocked; nobody can use it now.",
    "Checking": "Give me a moment while I check that for you.",
    "Anything else": "Is there anything else I can help you with today?",
}


def load_demo_desk() -> bool:
    """Create the demo skills and canned replies if there are none; return whether it did."""
    if Skill.objects.exists() or CannedReply.objects.exists():
        return False
    for name, intents in SKILLS.items():
        Skill.objects.create(name=name, intents=intents)
    for title, text in CANNED.items():
        CannedReply.objects.create(title=title, text=text)
    return True

"""Understanding a visitor's message: intents and entities."""

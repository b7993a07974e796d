"""Human handoff: escalation, routing, the ownership state machine and the agent console."""

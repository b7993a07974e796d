"""Dialogue management: the state, the tracker that updates it, flows, and the policy."""

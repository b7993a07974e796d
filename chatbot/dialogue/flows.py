"""Declarative multi-step tasks (flows) from `flows.yaml`: slots, a confirmation, an end."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

FLOWS_FILE = Path(__file__).with_name("flows.yaml")


@dataclass(frozen=True)
class Step:
    """Ask for one slot, or confirm the whole task."""

    ask: str
    slot: str | None = None
    retry: str | None = None

    @property
    def is_confirmation(self) -> bool:
        return self.slot is None


@dataclass(frozen=True)
class Flow:
    name: str
    title: str
    starts_on: tuple[str, ...]
    steps: tuple[Step, ...]
    done: str
    cancelled: str

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(step.slot for step in self.steps if step.slot)


class FlowDefinitionError(ValueError):
    """flows.yaml does not describe valid flows."""


def read_flows(path: Path = FLOWS_FILE) -> dict[str, Flow]:
    """Return a YAML file's flows by name; raise FlowDefinitionError saying what is wrong."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise FlowDefinitionError(f"{path.name}: expected a mapping of flow names to flows")
    return {name: _flow(name, spec, path.name) for name, spec in data.items()}


@functools.cache
def flows() -> dict[str, Flow]:
    """Return the project's flows, read once per process."""
    return read_flows()


def flow_starting_on(intent: str) -> Flow | None:
    """Return the flow an intent starts, if any."""
    return next((flow for flow in flows().values() if intent in flow.starts_on), None)


def _flow(name: str, spec: object, file_name: str) -> Flow:
    where = f"{file_name}: flow {name!r}"
    if not isinstance(spec, dict):
        raise FlowDefinitionError(f"{where} must be a mapping")
    missing = {"title", "starts_on", "steps", "done", "cancelled"} - spec.keys()
    if missing:
        raise FlowDefinitionError(f"{where} lacks {', '.join(sorted(missing))}")
    steps = tuple(
        _step(item, f"{where}, step {index + 1}") for index, item in enumerate(spec["steps"])
    )
    if not steps or not steps[-1].is_confirmation:
        raise FlowDefinitionError(f"{where} must end with a confirm step")
    return Flow(
        name, spec["title"], tuple(spec["starts_on"]), steps, spec["done"], spec["cancelled"]
    )


def _step(item: object, where: str) -> Step:
    if isinstance(item, dict) and "confirm" in item:
        return Step(ask=str(item["confirm"]))
    if isinstance(item, dict) and "slot" in item and "ask" in item:
        return Step(ask=str(item["ask"]), slot=str(item["slot"]), retry=item.get("retry"))
    raise FlowDefinitionError(f"{where} must be {{slot, ask[, retry]}} or {{confirm}}")

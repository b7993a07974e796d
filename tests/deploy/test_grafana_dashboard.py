"""The Grafana dashboard asks only for series the platform exposes, by labels they have."""

import json
import re
from pathlib import Path

import pytest
from prometheus_client import Counter, Gauge, Histogram

from chatbot import metrics
from chatbot.metrics_endpoint import StateCollector

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "chatbot-dashboard.json"
OUR_SERIES = re.compile(r"\b((?:chatbot|handoff|celery|knowledge)_[a-z_]+)\b")
GROUPED_BY = re.compile(r"\bby \(([^)]*)\)")


def exposed_series() -> dict[str, set[str]]:
    """{sample name: its label names} for every series the platform can expose."""
    series: dict[str, set[str]] = {}
    for recorded in vars(metrics).values():
        if isinstance(recorded, Counter):
            series[recorded._name + "_total"] = set(recorded._labelnames)
        elif isinstance(recorded, Histogram):
            for suffix in ("_bucket", "_count", "_sum"):
                series[recorded._name + suffix] = {*recorded._labelnames, "le"}
        elif isinstance(recorded, Gauge):
            series[recorded._name] = set(recorded._labelnames)
    for family in StateCollector().collect():
        for sample in family.samples:
            series[sample.name] = set(sample.labels)
    return series


def metric_of(sample_name: str) -> str:
    """The metric a sample belongs to: its name without a counter's or histogram's suffix."""
    return re.sub(r"_(bucket|count|sum|total)$", "", sample_name)


def queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def test_the_dashboard_is_importable_with_a_prometheus_datasource():
    dashboard = json.loads(DASHBOARD.read_text())

    assert [i["pluginId"] for i in dashboard["__inputs"]] == ["prometheus"]
    assert dashboard["uid"] and dashboard["panels"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]


@pytest.mark.django_db
def test_every_query_names_exposed_series_and_groups_by_their_labels():
    series = exposed_series()
    charted = set()

    for title, expression in queries():
        names = set(OUR_SERIES.findall(expression))
        assert names, f"{title}: no platform series in {expression}"
        unknown = names - set(series)
        assert not unknown, f"{title}: {sorted(unknown)} are not exposed"
        labels = set().union(*(series[name] for name in names))
        for group in GROUPED_BY.findall(expression):
            for label in (word.strip() for word in group.split(",")):
                assert label in labels, f"{title}: no series of {sorted(names)} has '{label}'"
        charted |= names

    # Every recorded metric is on the dashboard (its count or bucket for histograms).
    recorded = {metric_of(name) for name in series}
    shown = {metric_of(name) for name in charted}
    assert recorded <= shown, f"not charted: {sorted(recorded - shown)}"

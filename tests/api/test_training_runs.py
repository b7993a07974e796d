"""Starting a training through the API: one at a time, recorded to its end, the model served."""

import time

import pytest

from chatbot.nlu import artefacts
from chatbot.nlu.models import Intent, TrainingExample, TrainingRun
from tests.tiny_model import tiny_examples

pytestmark = pytest.mark.django_db(transaction=True)


def store_tiny_intents() -> None:
    for example in tiny_examples():
        intent, _ = Intent.objects.get_or_create(name=example.intent)
        TrainingExample.objects.get_or_create(intent=intent, text=example.text)


def finished(api, run_id: int, seconds: float = 300) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        run = api.get(f"/api/v1/training-runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        assert time.monotonic() < deadline, f"the run is still {run['status']}"
        time.sleep(0.5)


def test_a_training_run_trains_on_the_stored_examples_and_serves_the_model(api, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    store_tiny_intents()

    started = api.post("/api/v1/training-runs", {"mode": "fast"}, format="json")
    second = api.post("/api/v1/training-runs", {}, format="json")
    run = finished(api, started.json()["id"])

    assert started.status_code == 202 and started.json()["status"] == "queued"
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"
    assert run["status"] == "succeeded", run["error"]
    assert run["requested_by"] == "api:crm" and run["is_promoted"] is True
    assert run["version"] == artefacts.promoted_version()
    assert 0 < run["summary"]["top1_accuracy"] <= 1
    listed = api.get("/api/v1/training-runs").json()["results"]
    assert [r["id"] for r in listed] == [run["id"]]
    # The run is over: another may start.
    assert not TrainingRun.objects.filter(is_active=True).exists()


def test_a_training_that_cannot_run_is_recorded_as_failed_and_frees_the_slot(
    api, settings, tmp_path
):
    settings.VAR_DIR = tmp_path  # and no examples stored

    run = finished(api, api.post("/api/v1/training-runs", {}, format="json").json()["id"])

    assert run["status"] == "failed" and "two intents" in run["error"]
    assert artefacts.promoted_version() is None
    assert api.post("/api/v1/training-runs", {"mode": "turbo"}, format="json").status_code == 400

"""The admin lists the trained intent models with their honest figures, read-only."""

import html
import json
import re
from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils.timezone import localtime

from chatbot.nlu import artefacts

LIST_URL = "/admin/nlu/trainedintentmodel/"
VERSION = "20260101-120000-abcdef12"
OLD_VERSION = "20250101-090000-0123abcd"
CONFUSIONS = [
    {"true": "card_arrival", "predicted": "lost_or_stolen_card", "count": 3},
    {"true": "top_up_failed", "predicted": "<b>exchange_rate</b>", "count": 1},
]
PER_INTENT = {
    "card_arrival": {"precision": 0.75, "recall": 0.6, "f1": 0.666667, "support": 5},
    "exchange_rate": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 4},
    "lost_or_stolen_card": {"precision": 0.5, "recall": 0.25, "f1": 0.333333, "support": 4},
    "top_up_failed": {"precision": 0.8, "recall": 1.0, "f1": 0.888889, "support": 4},
}
OLD_METADATA = {
    "version": OLD_VERSION,
    "created_at": "2025-01-01T09:00:00+00:00",
    "settings": {"mode": "finetune"},
    "examples": {"training": 300, "validation": 40, "out_of_scope": 0},
    "calibration": {"temperature": 1.2, "threshold": 0.42, "rule": "lowest threshold"},
    "validation": {"examples": 40, "accuracy": 0.85, "macro_f1": 0.8123, "most_confused": []},
    "training_seconds": 312.4,
}


def make_user(username: str, is_staff: bool, may_view_intents: bool):
    user = get_user_model().objects.create_user(username, password="quiet-lantern-harbour")
    user.is_staff = is_staff
    user.save()
    if may_view_intents:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="nlu", codename="view_intent")
        )
    return user


@pytest.fixture
def nora(db):
    """Staff, allowed to view the intents."""
    return make_user("nora", is_staff=True, may_view_intents=True)


@pytest.fixture
def sam(db):
    """Staff without the permission to view the intents."""
    return make_user("sam", is_staff=True, may_view_intents=False)


@pytest.fixture
def vic(db):
    """Allowed to view the intents, but not staff."""
    return make_user("vic", is_staff=False, may_view_intents=True)


def store(version: str, metadata: dict) -> None:
    folder = artefacts.models_root() / version
    folder.mkdir()
    (folder / "metadata.json").write_text(json.dumps(metadata))


@pytest.fixture
def stored_models(settings, tmp_path, tiny_model_var_dir):
    """A copy of the tiny model's metadata with set confusions and scores, and an old model."""
    tiny_version = json.loads(
        (tiny_model_var_dir / "models" / "intents" / "promoted.json").read_text()
    )["version"]
    metadata = json.loads(
        (tiny_model_var_dir / "models" / "intents" / tiny_version / "metadata.json").read_text()
    )
    metadata["version"] = VERSION
    metadata["validation"]["most_confused"] = CONFUSIONS
    metadata["validation"]["per_intent"] = PER_INTENT
    metadata["derived_from"] = OLD_VERSION
    settings.VAR_DIR = tmp_path
    store(VERSION, metadata)
    store(OLD_VERSION, OLD_METADATA)
    return metadata


def text(cell: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()


def list_row(page: str, version: str) -> list[str]:
    """Return the text of the cells of one model's row in the list."""
    row = re.search(rf'<tr data-version="{version}">(.*?)</tr>', page, re.S).group(1)
    return [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def table_rows(page: str, table_id: str, row_class: str) -> list[list[str]]:
    """Return the text of the cells of a detail table's rows, in order."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    return [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(rf'<tr class="{row_class}">(.*?)</tr>', table, re.S)
    ]


def test_the_list_shows_the_tiny_model_with_its_figures(admin_client, tiny_model):
    version = artefacts.promoted_version()
    metadata = artefacts.read_metadata(version)
    summary, scope = metadata["validation"]["summary"], metadata["scope"]
    created = localtime(datetime.fromisoformat(metadata["created_at"]))

    page = admin_client.get(LIST_URL).content.decode()

    assert list_row(page, version) == [
        version,
        "served",
        "fast",
        created.strftime("%Y-%m-%d %H:%M"),
        f"{metadata['training_seconds']:.1f}",
        f"{summary['top1_accuracy']:.4f}",
        f"{summary['accuracy_rejections_wrong']:.4f}",
        f"{summary['coverage']:.4f}",
        f"{summary['accepted_accuracy']:.4f}",
        f"{summary['macro_f1']:.4f}",
        f"{scope['rule']}, {scope['detector']} ≥ {scope['threshold']:.4f}",
    ]


def test_the_admin_index_links_the_models_in_the_intents_section(client, nora):
    client.force_login(nora)

    page = client.get("/admin/").content.decode()

    assert f'<a href="{LIST_URL}">Intent models</a>' in page


def test_the_list_shows_newest_first_and_an_old_model_without_the_honest_figures(
    client, nora, stored_models
):
    client.force_login(nora)

    page = client.get(LIST_URL).content.decode()

    assert page.index(f'data-version="{VERSION}"') < page.index(f'data-version="{OLD_VERSION}"')
    assert list_row(page, OLD_VERSION) == [
        OLD_VERSION,
        "",
        "finetune",
        "2025-01-01 09:00",
        "312.4",
        "0.8500",
        "—",
        "—",
        "—",
        "0.8123",
        "predates the honest report; threshold 0.4200",
    ]


def test_the_detail_shows_the_confusions_and_the_intents_worst_f1_first(
    admin_client, stored_models
):
    page = admin_client.get(f"{LIST_URL}{VERSION}/").content.decode()

    assert table_rows(page, "confusions", "confusion") == [
        ["card_arrival", "lost_or_stolen_card", "3"],
        ["top_up_failed", "<b>exchange_rate</b>", "1"],
    ]
    assert "&lt;b&gt;exchange_rate&lt;/b&gt;" in page and "<b>exchange_rate</b>" not in page
    assert [row[:5] for row in table_rows(page, "intents", "intent")] == [
        ["lost_or_stolen_card", "0.5000", "0.2500", "0.3333", "4"],
        ["card_arrival", "0.7500", "0.6000", "0.6667", "5"],
        ["top_up_failed", "0.8000", "1.0000", "0.8889", "4"],
        ["exchange_rate", "1.0000", "1.0000", "1.0000", "4"],
    ]


def test_the_detail_shows_the_summary_and_every_detector(admin_client, stored_models):
    summary, scope = stored_models["validation"]["summary"], stored_models["scope"]

    page = admin_client.get(f"{LIST_URL}{VERSION}/").content.decode()

    lines = {row[0]: row[1] for row in table_rows(page, "summary", "summary")}
    assert lines["out-of-scope examples"] == str(stored_models["examples"]["out_of_scope"])
    assert lines["validation questions"] == str(summary["examples"])
    assert (
        lines["accuracy, a refusal counted wrong"] == f"{summary['accuracy_rejections_wrong']:.4f}"
    )
    assert lines["accuracy of what is answered"] == f"{summary['accepted_accuracy']:.4f}"
    assert lines["AUROC, right vs wrong guesses"] == "—"  # the tiny model makes no wrong guess
    assert len(lines) == len(stored_models["examples"]) + len(summary)
    assert f'<a href="{LIST_URL}{OLD_VERSION}/">{OLD_VERSION}</a>' in page  # derived from
    detectors = table_rows(page, "detectors", "detector")
    assert [row[0] for row in detectors] == [
        f"{name} (chosen)" if name == scope["detector"] else name for name in scope["detectors"]
    ]
    chosen = scope["detectors"][scope["detector"]]
    assert detectors[list(scope["detectors"]).index(scope["detector"])][1:] == [
        f"{chosen[key]:.4f}" if chosen[key] is not None else "—"
        for key in (
            "unknown_auroc",
            "errors_auroc",
            "threshold",
            "coverage",
            "accuracy_rejections_wrong",
            "accepted_accuracy",
            "unknown_refused",
        )
    ]
    quantization = stored_models["quantization"]
    assert (
        f"Serves the {quantization['served']} graph (validation top-1 accuracy "
        f"{quantization['validation_accuracy_int8']:.4f} in int8, "
        f"{quantization['validation_accuracy_float32']:.4f} in float)."
    ) in " ".join(page.split())


def test_an_old_model_renders_and_says_it_predates_the_honest_report(client, nora, stored_models):
    client.force_login(nora)

    response = client.get(f"{LIST_URL}{OLD_VERSION}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "This model predates the honest report" in page
    assert '<td class="figure">0.8500</td>' in page and '<td class="figure">0.8123</td>' in page


def test_a_model_whose_metadata_cannot_be_read_is_listed_as_such_and_has_no_page(
    admin_client, stored_models
):
    broken = "20260102-000000-badf00d5"
    (artefacts.models_root() / broken).mkdir()
    (artefacts.models_root() / broken / "metadata.json").write_text("{not json")

    page = admin_client.get(LIST_URL).content.decode()

    assert list_row(page, broken) == [broken, "", "Its metadata.json cannot be read."]
    assert admin_client.get(f"{LIST_URL}{broken}/").status_code == 404


@pytest.mark.parametrize(
    "version",
    [
        "20990101-000000-deadbeef",  # the pattern of a version, but no such model
        "notes",  # a folder of the models' root that is no model
        "..",
        "%2E%2E",
        "..%2F..%2Fetc",
        f"{VERSION}%2F..%2F..%2F..",
    ],
)
def test_an_unknown_or_traversing_version_is_not_found(admin_client, stored_models, version):
    store("notes", OLD_METADATA)

    response = admin_client.get(f"{LIST_URL}{version}/")

    assert response.status_code == 404


def test_staff_without_the_permission_to_view_intents_is_refused(client, sam, stored_models):
    client.force_login(sam)

    responses = [client.get(LIST_URL), client.get(f"{LIST_URL}{VERSION}/")]

    assert [response.status_code for response in responses] == [403, 403]
    assert all(VERSION not in response.content.decode() for response in responses)


@pytest.mark.parametrize("login", [True, False])
def test_a_user_who_is_not_staff_is_sent_to_the_admin_login(client, vic, stored_models, login):
    if login:
        client.force_login(vic)

    response = client.get(f"{LIST_URL}{VERSION}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_pages_change_nothing(admin_client, stored_models):
    response = admin_client.post(f"{LIST_URL}{VERSION}/", {"promote": "1"})

    assert response.status_code == 405
    assert artefacts.promoted_version() is None
    assert "promote" not in admin_client.get(f"{LIST_URL}{VERSION}/").content.decode().lower()

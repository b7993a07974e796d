"""The layers of docs/architecture.md hold: every contract in pyproject.toml is kept, and a
forbidden import breaks the contract that names it."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.live_server import REPO_ROOT

PACKAGES = ("chatbot", "knowledge", "handoff")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        # import-linter's own command, installed beside this Python.
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_layer_contract_is_kept():
    result = lint_imports(REPO_ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_of_the_code(destination: Path) -> Path:
    """The Python packages and the contracts, without the static files and data."""
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package,
            destination / package,
            ignore=lambda folder, names: [
                name
                for name in names
                if not name.endswith(".py") and not (Path(folder) / name).is_dir()
            ],
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", destination)
    return destination


def test_the_graph_importing_the_conversation_breaks_its_contract(tmp_path):
    root = copy_of_the_code(tmp_path)
    graph_module = root / "knowledge" / "graph.py"
    graph_module.write_text("from chatbot import models  # noqa\n" + graph_module.read_text())

    result = lint_imports(root)

    assert result.returncode != 0
    assert "The knowledge graph imports neither the conversation nor the desk BROKEN" in (
        result.stdout
    )


def test_the_dialogue_calling_the_desk_breaks_two_contracts(tmp_path):
    root = copy_of_the_code(tmp_path)
    policy = root / "chatbot" / "dialogue" / "policy.py"
    policy.write_text(policy.read_text() + "\nfrom handoff import actions  # noqa\n")

    result = lint_imports(root)

    assert result.returncode != 0
    assert "no Django, no desk, nothing above it BROKEN" in result.stdout
    assert "the graph, the conversation" in result.stdout and "core BROKEN" in result.stdout

"""A real server process and a real Chromium for the browser tests."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SERVER_START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(database_path: Path, origin: str) -> dict[str, str]:
    """Return the environment for the server: its own SQLite file, embedded channel layer."""
    environment = dict(os.environ)
    environment.pop("REDIS_URL", None)
    environment.update(
        {
            "DATABASE_URL": f"sqlite:///{database_path}",
            "CHAT_ALLOWED_ORIGINS": origin,
            "DJANGO_SETTINGS_MODULE": "chatbot.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environment


def wait_until_serving(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Return once GET / answers; fail with the server's output if it dies or never answers."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the server exited with code {process.returncode} before answering:\n"
                f"{log_path.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(base_url + "/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    process.terminate()
    pytest.fail(
        f"the server did not answer GET / within {SERVER_START_TIMEOUT_SECONDS} s:\n"
        f"{log_path.read_text(errors='replace')}"
    )


@pytest.fixture(scope="session")
def live_server_url() -> Iterator[str]:
    """Migrate a fresh database, serve the ASGI app with uvicorn, and yield its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="chatbot-e2e-") as temporary:
        directory = Path(temporary)
        environment = server_environment(directory / "e2e.sqlite3", base_url)
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if migrate.returncode != 0:
            pytest.fail(f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
        log_path = directory / "server.log"
        with log_path.open("w") as log:
            # Output goes to a file, not a pipe, so a chatty server never blocks on a full pipe.
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "chatbot.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=REPO_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_serving(base_url, process, log_path)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def chromium_browser():
    """Launch the system Chromium once for the whole session."""
    if not os.path.exists(CHROMIUM_PATH):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM_PATH}: the browser tests need it "
            "(`make test` installs it, or `apt-get install chromium`)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()

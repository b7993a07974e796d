"""A real server process and a real Chromium for the browser tests."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import free_port, migrate, running_server, server_environment

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def live_server_url() -> Iterator[str]:
    """Migrate a fresh SQLite database, serve the ASGI app with uvicorn, yield its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="chatbot-e2e-") as temporary:
        directory = Path(temporary)
        environment = server_environment(
            f"sqlite:///{directory / 'e2e.sqlite3'}", base_url, directory
        )
        migrate(environment)
        with running_server(environment, port) as url:
            yield url


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

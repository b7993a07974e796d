"""Run the real ASGI application under uvicorn in a child process, for end-to-end tests."""

import contextlib
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

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child_process_database_url() -> str:
    """Return a URL of the PostgreSQL test database pytest-django made, for child processes."""
    from django.db import connection

    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


def server_environment(
    database_url: str, origins: str, var_dir: Path, redis_url: str | None = None
) -> dict:
    """Return a server's environment: the given database and var/, Redis only when given."""
    environment = dict(os.environ)
    environment.pop("REDIS_URL", None)
    environment.update(
        {
            "DATABASE_URL": database_url,
            "VAR_DIR": str(var_dir),
            "CHAT_ALLOWED_ORIGINS": origins,
            "DJANGO_SETTINGS_MODULE": "chatbot.settings",
            "PYTHONUNBUFFERED": "1",
            # No daily purge a minute after start-up: a test's server purges when a test says.
            "RETENTION_PURGE_AT": "off",
        }
    )
    if redis_url:
        environment["REDIS_URL"] = redis_url
    return environment


def migrate(environment: dict) -> None:
    """Apply the migrations to the environment's database, or fail the test with the output."""
    manage(environment, "migrate", "--noinput")


def run_manage(
    environment: dict, *arguments: str, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run a management command in a server's environment; return how it ended."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def manage(environment: dict, *arguments: str, timeout: float = 600) -> str:
    """Run a management command in a server's environment; return its output or fail the test."""
    result = run_manage(environment, *arguments, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"manage.py {arguments[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start_logged(arguments: list[str], environment: dict, log_path: Path) -> subprocess.Popen:
    """Start `python ARGUMENTS` in the repository, its output going to a log file."""
    with log_path.open("w") as log:
        # A file, not a pipe: a chatty child never blocks on a full pipe.
        process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.log_path = log_path
    return process


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate a child process, killing it if it does not stop in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_server(
    environment: dict, port: int | None = None, log_path: Path | None = None
) -> Iterator[str]:
    """Serve the application with uvicorn until the block ends; yield its base URL.

    The server's output goes to `log_path` if given (kept), else to a temporary file."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="chatbot-server-") as temporary:
        uvicorn = ["-m", "uvicorn", "chatbot.asgi:application", "--host", "127.0.0.1"]
        process = start_logged(
            [*uvicorn, "--port", str(port), "--lifespan", "off"],
            environment,
            log_path or Path(temporary) / "server.log",
        )
        try:
            _wait_until_serving(base_url, process, process.log_path)
            yield base_url
        finally:
            stop(process, timeout=10)


@contextlib.contextmanager
def seeded_server(prefix: str, setup_script: str) -> Iterator[str]:
    """Serve a fresh SQLite database set up by `setup_script` (run in `manage.py shell`)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix=prefix) as temporary:
        directory = Path(temporary)
        environment = server_environment(
            f"sqlite:///{directory / 'e2e.sqlite3'}", f"http://127.0.0.1:{port}", directory
        )
        migrate(environment)
        manage(environment, "shell", "-c", setup_script)
        with running_server(environment, port) as url:
            yield url


def _wait_until_serving(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the server exited with code {process.returncode} before answering:\n"
                f"{log_path.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    process.terminate()
    pytest.fail(
        f"the server did not answer within {START_TIMEOUT_SECONDS} s:\n"
        f"{log_path.read_text(errors='replace')}"
    )

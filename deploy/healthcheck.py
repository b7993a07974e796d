"""Container health check for the web service: exit 0 when this container's /healthz answers 200.

Usage: python deploy/healthcheck.py [PORT]   (default 8000; deploy/compose.yaml runs it)
Plain HTTP to uvicorn inside the container, without loading Django.
"""

import os
import sys
import urllib.request


def allowed_host() -> str:
    """Return a Host header that ALLOWED_HOSTS accepts, so Django answers instead of refusing."""
    first = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip()
    if not first or first == "*":
        return "localhost"
    # ".example.com" allows example.com itself.
    return first.lstrip(".")


def main(port: str) -> int:
    """Request /healthz once and report the outcome as the exit status."""
    url = f"http://127.0.0.1:{port}/healthz"
    request = urllib.request.Request(url, headers={"Host": allowed_host()})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "8000"))

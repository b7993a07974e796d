#!/usr/bin/env bash
# Serve HTTP and websockets with uvicorn; with REDIS_URL set, a Celery worker and Celery beat run
# beside it unless SERVE_WORKER=0 (containers run them as services of their own).
set -euo pipefail
PYTHON=${PYTHON:-python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
WEB_WORKERS=${WEB_WORKERS:-1}
# The demo page embeds the widget from this same server, so its own origin must be allowed.
export CHAT_ALLOWED_ORIGINS=${CHAT_ALLOWED_ORIGINS:-http://$HOST:$PORT,http://localhost:$PORT,http://127.0.0.1:$PORT}

if [ "$WEB_WORKERS" != 1 ] && [ -z "${REDIS_URL:-}" ]; then
  echo "WEB_WORKERS=$WEB_WORKERS needs REDIS_URL: without it, locks and the channel layer live in one process." >&2
  exit 2
fi

# Several processes on this host (web processes, the worker beside them) sum their metrics
# through files in one directory (docs/metrics.md); an earlier run's files are removed first.
if [ -z "${PROMETHEUS_MULTIPROC_DIR:-}" ] && { [ "$WEB_WORKERS" != 1 ] \
    || { [ -n "${REDIS_URL:-}" ] && [ "${SERVE_WORKER:-1}" != 0 ]; }; }; then
  export PROMETHEUS_MULTIPROC_DIR="${TMPDIR:-/tmp}/chatbot-metrics-$PORT"
fi
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete
fi

worker=
if [ -n "${REDIS_URL:-}" ] && [ "${SERVE_WORKER:-1}" != 0 ]; then
  "$PYTHON" -m celery -A chatbot worker -Q celery,nlu,handoff,webhooks --loglevel "${LOG_LEVEL:-INFO}" --pool threads --concurrency "${CELERY_CONCURRENCY:-16}" &
  worker=$!
  # Beat sends the daily retention purge (docs/retention.md) to the worker; without Redis the
  # web process runs it itself.
  "$PYTHON" -m celery -A chatbot beat --loglevel "${LOG_LEVEL:-INFO}" --schedule "${VAR_DIR:-var}/celerybeat-schedule" &
  beat=$!
  trap 'kill "$worker" "$beat" 2>/dev/null || true' EXIT
fi

echo
echo "  The demo bank's website with the chat widget:  http://$HOST:$PORT/"
echo "  The knowledge editor (editors):                http://$HOST:$PORT/knowledge/"
echo "  The agent console (agents):                    http://$HOST:$PORT/console/"
echo "  Django admin:                                  http://$HOST:$PORT/admin/"
echo "  (create users: .venv/bin/python manage.py add_staff_user NAME --role editor|agent|admin)"
echo
# --ws-max-size: a hard cap far above CHAT_MAX_FRAME_BYTES, which the consumer enforces politely.
serve=("$PYTHON" -m uvicorn chatbot.asgi:application --host "$HOST" --port "$PORT"
  --workers "$WEB_WORKERS" --ws-max-size 65536 --proxy-headers --lifespan off)
if [ -z "$worker" ]; then
  # uvicorn takes the shell's place, so it gets the stop signal itself (PID 1 in a container).
  exec "${serve[@]}"
fi
"${serve[@]}"

#!/usr/bin/env bash
# Start the chat server in a known configuration, run bench/ws_roundtrip.py against it, stop it.
#
#   bash bench/run_ws_roundtrip.sh embedded [ws_roundtrip.py args...]
#   bash bench/run_ws_roundtrip.sh services [ws_roundtrip.py args...]
#
# embedded: SQLite in a fresh temporary directory, in-memory channel layer (no REDIS_URL),
#           Celery tasks (intent classification) run in-process; one server process.
# services: PostgreSQL database chatbot_bench on 127.0.0.1:5432 (created if missing; set
#           FRESH_DB=1 to drop and recreate it first), Redis db 3 on 127.0.0.1:6379, and
#           Celery workers on the celery, nlu and handoff queues (as deploy/serve.sh runs them).
#
# After migrate, `manage.py load_demo` loads the demo bank (knowledge graph, support desk,
# intents) where missing; it trains an intent model only if VAR_DIR holds no promoted one.
#
# Environment: PYTHON (default .venv/bin/python), PORT (default: a free port), KEEP_TMP=1 keeps
# the temporary directory (logs, SQLite file), SERVER_ARGS adds uvicorn arguments,
# WEB_WORKERS (default 1; uvicorn --workers, services mode only), CELERY_WORKERS (default 1:
# separate worker processes), CELERY_POOL (default threads, so that a worker batches the
# classifications of tasks running at once), CELERY_CONCURRENCY (default 16, each pool's size),
# SERVE_WORKER=0 starts no worker (run your own; its CPU is then not measured),
# PGHOST/PGPORT/PGUSER, REDIS_BENCH_URL override the services endpoints. VAR_DIR is left as
# it is (default var/), so the server uses the promoted intent model, as it would in production.
# The CPU time of the server's and the workers' processes (with their children) during the load
# is measured through --cpu-pids; in services mode Redis's and PostgreSQL's too, by name.
# The benchmark's JSON goes to stdout; the exit status is the benchmark's.
set -euo pipefail

usage() { echo "usage: $0 embedded|services [ws_roundtrip.py args...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
mode=$1; shift

WEB_WORKERS=${WEB_WORKERS:-1}
CELERY_WORKERS=${CELERY_WORKERS:-1}
CELERY_POOL=${CELERY_POOL:-threads}
CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-16}
for name in WEB_WORKERS CELERY_WORKERS CELERY_CONCURRENCY; do
    if ! [[ ${!name} =~ ^[1-9][0-9]*$ ]]; then
        echo "run_ws_roundtrip: $name must be a positive whole number, not '${!name}'" >&2
        exit 2
    fi
done
if [ "$mode" = embedded ] && [ "$WEB_WORKERS" != 1 ]; then
    echo "run_ws_roundtrip: WEB_WORKERS=$WEB_WORKERS needs the services mode (Redis): embedded," \
        "locks and the channel layer live in one process." >&2
    exit 2
fi

cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ws_bench.XXXXXX")
server_pid=""
worker_pids=()

stop() {  # stop one process we started: TERM, up to 10 s, then KILL
    local pid=$1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

cleanup() {
    stop "$server_pid"
    for pid in ${worker_pids[@]+"${worker_pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in ${worker_pids[@]+"${worker_pids[@]}"}; do stop "$pid"; done
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "run_ws_roundtrip: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=${PORT:-$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

unset REDIS_URL
case "$mode" in
    embedded)
        export DATABASE_URL="sqlite:///$tmp/bench.sqlite3"
        ;;
    services)
        pg_host=${PGHOST:-127.0.0.1}; pg_port=${PGPORT:-5432}; pg_user=${PGUSER:-postgres}
        if [ "${FRESH_DB:-0}" = 1 ]; then
            dropdb -h "$pg_host" -p "$pg_port" -U "$pg_user" --if-exists chatbot_bench
        fi
        if ! psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -tAc \
                "SELECT 1 FROM pg_database WHERE datname = 'chatbot_bench'" | grep -q 1; then
            createdb -h "$pg_host" -p "$pg_port" -U "$pg_user" chatbot_bench
        fi
        export DATABASE_URL="postgres://$pg_user@$pg_host:$pg_port/chatbot_bench"
        export REDIS_URL=${REDIS_BENCH_URL:-redis://127.0.0.1:6379/3}
        ;;
    *)
        usage
        ;;
esac

export CHAT_ALLOWED_ORIGINS="http://127.0.0.1:$PORT"
export CHAT_RATE_LIMIT_MESSAGES=1000
export PYTHONUNBUFFERED=1

echo "run_ws_roundtrip: mode=$mode port=$PORT DATABASE_URL=$DATABASE_URL REDIS_URL=${REDIS_URL:-}" \
    "WEB_WORKERS=$WEB_WORKERS CELERY_WORKERS=$CELERY_WORKERS CELERY_POOL=$CELERY_POOL CELERY_CONCURRENCY=$CELERY_CONCURRENCY" >&2
"$PY" manage.py migrate --noinput >"$tmp/migrate.log" 2>&1 || {
    echo "run_ws_roundtrip: migrate failed:" >&2; cat "$tmp/migrate.log" >&2; exit 1; }
# The demo bank: knowledge graph, support desk and intents where missing (a fresh database has
# none); an intent model is trained only if VAR_DIR holds no promoted one.
echo "run_ws_roundtrip: loading the demo bank (manage.py load_demo) ..." >&2
"$PY" manage.py load_demo >"$tmp/load_demo.log" 2>&1 || {
    echo "run_ws_roundtrip: load_demo failed; its log:" >&2; cat "$tmp/load_demo.log" >&2; exit 1; }
if grep -q "Training a first intent model" "$tmp/load_demo.log"; then
    echo "run_ws_roundtrip: load_demo trained and promoted an intent model (none was promoted)" >&2
fi
intent_model=$("$PY" -c 'import json, os, sys; p = os.path.join(os.environ.get("VAR_DIR") or "var", "models/intents/promoted.json"); print(json.load(open(p))["version"] if os.path.exists(p) else "none-promoted")')
echo "run_ws_roundtrip: commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($(git status --porcelain 2>/dev/null | wc -l) changed paths), intent model: $intent_model" >&2

celery_workers=0
if [ "$mode" = services ] && [ "${SERVE_WORKER:-1}" != 0 ]; then
    celery_workers=$CELERY_WORKERS
    # Requests left in the queues by an earlier run would be answered first; drop them.
    "$PY" -m celery -A chatbot purge -f -Q celery,nlu,handoff,webhooks >"$tmp/purge.log" 2>&1 || true
    for n in $(seq 1 "$CELERY_WORKERS"); do
        "$PY" -m celery -A chatbot worker -Q celery,nlu,handoff,webhooks -n "bench$n@%h" --loglevel INFO \
            --pool "$CELERY_POOL" --concurrency "$CELERY_CONCURRENCY" >"$tmp/worker$n.log" 2>&1 &
        worker_pids+=($!)
    done
    for n in $(seq 1 "$CELERY_WORKERS"); do
        pid=${worker_pids[$((n - 1))]}
        for _ in $(seq 1 300); do
            grep -q " ready\." "$tmp/worker$n.log" 2>/dev/null && break
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "run_ws_roundtrip: Celery worker bench$n died; its log:" >&2
                cat "$tmp/worker$n.log" >&2
                exit 1
            fi
            sleep 0.2
        done
        grep -q " ready\." "$tmp/worker$n.log" || {
            echo "run_ws_roundtrip: Celery worker bench$n is not ready after 60 s" >&2; exit 1; }
    done
fi

workers_arg=()
if [ "$WEB_WORKERS" != 1 ]; then
    workers_arg=(--workers "$WEB_WORKERS")
fi
# shellcheck disable=SC2086  # SERVER_ARGS is split on purpose
"$PY" -m uvicorn chatbot.asgi:application --host 127.0.0.1 --port "$PORT" \
    ${workers_arg[@]+"${workers_arg[@]}"} --ws-max-size 65536 --no-access-log ${SERVER_ARGS:-} \
    >"$tmp/server.log" 2>&1 &
server_pid=$!

# Ready: the port accepts, and every server process has started (with --workers the parent
# binds the port before its children can take connections).
ready=0
for _ in $(seq 1 300); do
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    started=$(grep -c "Started server process" "$tmp/server.log" 2>/dev/null || true)
    if [ "${started:-0}" -ge "$WEB_WORKERS" ] \
        && "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 0.5).close()" 2>/dev/null; then
        ready=1; break
    fi
    sleep 0.2
done
if [ "$ready" != 1 ]; then
    echo "run_ws_roundtrip: server did not start; its log:" >&2
    cat "$tmp/server.log" >&2
    exit 1
fi

# The processes whose CPU the benchmark measures (each with all its descendants).
cpu_pids="server=$server_pid"
for pid in ${worker_pids[@]+"${worker_pids[@]}"}; do cpu_pids+=",worker=$pid"; done
cpu_names=""
if [ "$mode" = services ]; then
    cpu_names="redis=redis-server,postgres=postgres"
fi

status=0
"$PY" bench/ws_roundtrip.py --url "ws://127.0.0.1:$PORT/ws/chat/" \
    --cpu-pids "$cpu_pids" --cpu-names "$cpu_names" \
    --server-info "mode=$mode,web_workers=$WEB_WORKERS,celery_workers=$celery_workers,celery_pool=$CELERY_POOL,celery_concurrency=$CELERY_CONCURRENCY,intent_model=$intent_model" \
    "$@" || status=$?

# Summarize the logs' errors: how many ERROR lines, and each traceback's last line, counted.
for log_file in "$tmp/server.log" "$tmp"/worker*.log; do
[ -f "$log_file" ] || continue
"$PY" - "$log_file" >&2 <<'PYEOF' || true
import collections, os, re, sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
errors = [l for l in lines if re.search(r"\bERROR\b", l)]
ends, inside = collections.Counter(), False
for line in lines:
    if line.startswith("Traceback"):
        inside = True
    elif inside and line and not line[0].isspace():
        ends[line.strip()[:160]] += 1
        inside = False
if errors or ends:
    name = os.path.basename(sys.argv[1])
    print(f"run_ws_roundtrip: {name}: {len(errors)} ERROR lines; tracebacks ending in:")
    for text, n in ends.most_common(10):
        print(f"  {n:6d}  {text}")
    def shape(line):  # an ERROR line without its time stamp and ids, so alike lines count as one
        line = re.sub(r"^\[\d{4}-\d\d-\d\d [\d:,.]+: ", "[", line)
        line = re.sub(r"^\d{4}-\d\d-\d\d [\d:,.]+ ", "", line)
        return re.sub(r"[0-9a-f-]{36}|#\d+|-\d+\]", "*", line)[:160]
    for text, n in collections.Counter(shape(e) for e in errors).most_common(10):
        print(f"  {n:6d}  {text}")
PYEOF
done
exit "$status"

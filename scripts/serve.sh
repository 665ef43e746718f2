#!/usr/bin/env bash
# The production profile on one machine: bash scripts/serve.sh start | stop | status | restart SERVICE
#
#   postgres          Debian's PostgreSQL, data dir under the data folder (initdb on first start),
#                     or an existing server: DATABASE_URL=postgresql://user:password@host:port/db
#   code-server       dagster code-server for playlist_assets (gRPC)
#   mlflow            MLflow tracking server: backend on the same Postgres (own database, or
#                     MLFLOW_BACKEND_STORE_URI), artifacts served by it (--serve-artifacts) from
#                     MLFLOW_ARTIFACTS_DESTINATION (default: a folder under the data folder; s3://…)
#   webserver         dagster-webserver, workspace pointing at the code server
#   daemon            dagster-daemon: schedule, sensor, backfills, the run queue
#
# Instance: deploy/dagster.postgres.yaml (Postgres storage, QueuedRunCoordinator, "duckdb" pool).
# State, logs and pids live under $PLAYLIST_ASSETS_HOME/service. Everything binds SERVE_HOST
# (default 127.0.0.1). Ports: DAGSTER_PORT (3000), CODE_SERVER_PORT (4000), MLFLOW_PORT (5000),
# POSTGRES_PORT (5432, local server only). Credentials come only from the environment; the local
# server's password is PLAYLIST_PG_PASSWORD, or one generated at initdb and kept (mode 600) in the
# data folder beside the database it guards.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

export PLAYLIST_ASSETS_HOME=${PLAYLIST_ASSETS_HOME:-$REPO/.data}
mkdir -p "$PLAYLIST_ASSETS_HOME"
PLAYLIST_ASSETS_HOME=$(cd "$PLAYLIST_ASSETS_HOME" && pwd)
SERVICE_DIR=$PLAYLIST_ASSETS_HOME/service
RUN_DIR=$SERVICE_DIR/run
LOG_DIR=$SERVICE_DIR/logs
PG_DATA=$SERVICE_DIR/postgres
PG_SOCKET_DIR=$SERVICE_DIR/pgsocket
PG_PASSWORD_FILE=$SERVICE_DIR/postgres.password
export DAGSTER_HOME=$SERVICE_DIR/dagster_home
WORKSPACE=$SERVICE_DIR/workspace.yaml

HOST=${SERVE_HOST:-127.0.0.1}
DAGSTER_PORT=${DAGSTER_PORT:-3000}
CODE_SERVER_PORT=${CODE_SERVER_PORT:-4000}
MLFLOW_PORT=${MLFLOW_PORT:-5000}
POSTGRES_PORT=${POSTGRES_PORT:-5432}
PG_USER=playlist
START_TIMEOUT=${SERVE_START_TIMEOUT:-300}

# The project's venv when run from a checkout, else whatever is on PATH (the container image).
if [ -x "$REPO/.venv/bin/dagster" ]; then BIN=$REPO/.venv/bin/; else BIN=; fi
PY=${BIN}python
[ -n "$BIN" ] || PY=python3
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

export GX_ANALYTICS_ENABLED=false GIT_PYTHON_REFRESH=quiet OMP_WAIT_POLICY=passive
export MLFLOW_DISABLE_TELEMETRY=true MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
export PYTHONUNBUFFERED=1

SERVICES=(postgres code-server mlflow webserver daemon)

die() {
  echo "serve.sh: $*" >&2
  exit 1
}

pid_of() { # the pid of a running service, or nothing
  local file=$RUN_DIR/$1.pid pid
  [ -f "$file" ] || return 0
  pid=$(head -1 "$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

running_services() {
  local s
  for s in "${SERVICES[@]}"; do [ -z "$(pid_of "$s")" ] || echo "$s"; done
}

# Fails with one line naming the service and its port setting when something listens there.
check_port_free() { # service setting port
  "$PY" - "$HOST" "$3" <<'PY' || die "$1: port $3 on $HOST is already in use (set $2 to another port)"
import socket, sys
s = socket.socket()
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

# Connects to a Postgres URL; on failure one line naming the service, the setting and the cause.
check_postgres() { # service setting url
  URL=$3 "$PY" - "$1" "$2" <<'PY'
import os, sys
from urllib.parse import urlsplit
import psycopg2

service, setting = sys.argv[1], sys.argv[2]
url = os.environ["URL"].replace("+psycopg2://", "://", 1)  # SQLAlchemy's driver tag, not libpq's
parts = urlsplit(url)
where = f"{parts.hostname}:{parts.port or 5432}{parts.path} as {parts.username}"
try:
    psycopg2.connect(url, connect_timeout=5).close()
except psycopg2.OperationalError as exc:
    text = str(exc)
    if "password authentication failed" in text:
        cause = f"password authentication failed for user {parts.username!r}: check the password in {setting}"
    elif "does not exist" in text:
        cause = text.strip().splitlines()[-1].split("FATAL:")[-1].strip() + f": create it or fix {setting}"
    elif "Connection refused" in text or "could not connect" in text or "timeout" in text:
        cause = f"no server answers: is Postgres down? (check {setting})"
    else:
        cause = text.strip().splitlines()[0] + f" (check {setting})"
    print(f"serve.sh: {service}: cannot connect to Postgres at {where}: {cause}", file=sys.stderr)
    sys.exit(1)
PY
}

as_postgres() { # run a Postgres binary as the postgres user when we are root (it refuses root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

local_pg_password() {
  if [ -n "${PLAYLIST_PG_PASSWORD:-}" ]; then
    echo "$PLAYLIST_PG_PASSWORD"
  else
    cat "$PG_PASSWORD_FILE"
  fi
}

start_local_postgres() {
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] ||
    die "postgres: Debian's postgresql package is not installed (apt-get install postgresql), or set DATABASE_URL to an existing server"
  mkdir -p "$PG_SOCKET_DIR"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    echo "== postgres: initdb $PG_DATA"
    mkdir -p "$PG_DATA"
    if [ -z "${PLAYLIST_PG_PASSWORD:-}" ] && [ ! -f "$PG_PASSWORD_FILE" ]; then
      (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$PG_PASSWORD_FILE")
    fi
    local pwfile
    pwfile=$(mktemp)
    local_pg_password >"$pwfile"
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$PG_DATA" "$pwfile"
      runuser -u postgres -- test -x "$PG_DATA" || {
        rm -f "$pwfile"
        die "postgres: the postgres user cannot reach $PG_DATA: make the folders above it traversable (chmod o+x) or set PLAYLIST_ASSETS_HOME elsewhere"
      }
    fi
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
      >"$LOG_DIR/initdb.log" 2>&1 || {
      rm -f "$pwfile"
      die "postgres: initdb failed, see $LOG_DIR/initdb.log"
    }
    rm -f "$pwfile"
  fi
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_SOCKET_DIR" "$LOG_DIR/postgres.log" 2>/dev/null || chown postgres "$PG_SOCKET_DIR"; fi
  touch "$LOG_DIR/postgres.log"
  [ "$(id -u)" != 0 ] || chown postgres "$LOG_DIR/postgres.log"
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$LOG_DIR/postgres.log" -w -t 60 \
    -o "-c listen_addresses=$HOST -p $POSTGRES_PORT -k $PG_SOCKET_DIR" start >/dev/null 9>&- ||
    die "postgres: did not start on $HOST:$POSTGRES_PORT (POSTGRES_PORT), see $LOG_DIR/postgres.log"
  head -1 "$PG_DATA/postmaster.pid" >"$RUN_DIR/postgres.pid"
  local_database_url
  # The two databases, created once (the role's own "postgres" db is the maintenance one).
  local db
  for db in dagster mlflow; do
    PGPASSWORD=$(local_pg_password) "$PG_BIN/psql" -h "$HOST" -p "$POSTGRES_PORT" -U "$PG_USER" \
      -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
      PGPASSWORD=$(local_pg_password) "$PG_BIN/createdb" -h "$HOST" -p "$POSTGRES_PORT" \
        -U "$PG_USER" "$db"
  done
}

local_database_url() {
  local password
  password=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read().strip(), safe=""))' <<<"$(local_pg_password)")
  export DATABASE_URL="postgresql+psycopg2://$PG_USER:$password@$HOST:$POSTGRES_PORT/dagster"
}

# MLflow's backend: MLFLOW_BACKEND_STORE_URI, else database "mlflow" on the Dagster server.
mlflow_backend_uri() {
  if [ -n "${MLFLOW_BACKEND_STORE_URI:-}" ]; then
    echo "$MLFLOW_BACKEND_STORE_URI"
  else
    DB_URL=$DATABASE_URL "$PY" -c '
import os; from urllib.parse import urlsplit, urlunsplit
p = urlsplit(os.environ["DB_URL"]); print(urlunsplit(p._replace(path="/mlflow")))'
  fi
}

launch() { # service logfile command... : its own session, so stop can end its whole group
  local service=$1
  shift
  setsid "$@" >>"$LOG_DIR/$service.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/$service.pid"
}

wait_for() { # service description command...
  local service=$1 what=$2 deadline=$((SECONDS + START_TIMEOUT))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ -n "$(pid_of "$service")" ] ||
      die "$service: exited during start, see $LOG_DIR/$service.log: $(tail -3 "$LOG_DIR/$service.log" | tr '\n' ' ')"
    [ $SECONDS -lt $deadline ] || die "$service: not $what after ${START_TIMEOUT}s, see $LOG_DIR/$service.log"
    sleep 1
  done
}

http_ok() { "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$1"; }

daemon_healthy() { # every daemon of the instance reports a fresh heartbeat
  "$PY" - "http://$HOST:$DAGSTER_PORT/graphql" <<'PY'
import json, sys, urllib.request
query = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"
req = urllib.request.Request(sys.argv[1], json.dumps({"query": query}).encode(),
                             {"Content-Type": "application/json"})
statuses = json.load(urllib.request.urlopen(req, timeout=10))["data"]["instance"]["daemonHealth"]["allDaemonStatuses"]
sys.exit(0 if all(s["healthy"] for s in statuses if s["required"]) else 1)
PY
}

# The environment every service process gets (DATABASE_URL must already be set).
service_env() {
  export MLFLOW_BACKEND_STORE_URI
  MLFLOW_BACKEND_STORE_URI=$(mlflow_backend_uri)
  export MLFLOW_ARTIFACTS_DESTINATION=${MLFLOW_ARTIFACTS_DESTINATION:-$SERVICE_DIR/mlflow_artifacts}
  # Runs launched by the code server log to the MLflow server, not to a file.
  export MLFLOW_TRACKING_URI=http://$HOST:$MLFLOW_PORT
}

launch_service() {
  case $1 in
  mlflow) launch mlflow "${BIN}mlflow" server --host "$HOST" --port "$MLFLOW_PORT" --workers 1 --serve-artifacts ;;
  code-server) launch code-server "${BIN}dagster" code-server start -h "$HOST" -p "$CODE_SERVER_PORT" \
    -m playlist_assets.definitions --location-name playlist_assets ;;
  webserver) launch webserver "${BIN}dagster-webserver" -h "$HOST" -p "$DAGSTER_PORT" -w "$WORKSPACE" ;;
  daemon) launch daemon "${BIN}dagster-daemon" run -w "$WORKSPACE" ;;
  *) die "no such service: $1 (one of: code-server mlflow webserver daemon)" ;;
  esac
}

wait_service() {
  case $1 in
  mlflow) wait_for mlflow "answering on /health" http_ok "http://$HOST:$MLFLOW_PORT/health" ;;
  code-server) wait_for code-server "serving gRPC" "${BIN}dagster" api grpc-health-check -h "$HOST" -p "$CODE_SERVER_PORT" ;;
  webserver) wait_for webserver "answering on /server_info" http_ok "http://$HOST:$DAGSTER_PORT/server_info" ;;
  daemon) wait_for daemon "healthy (heartbeats)" daemon_healthy ;;
  esac
}

# Restart one service of a running profile (e.g. the daemon after a crash or a config change).
restart() {
  local service=${1:-}
  [ -n "$service" ] && [ "$service" != postgres ] || die "usage: scripts/serve.sh restart code-server|mlflow|webserver|daemon"
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/serve.lock"
  flock -w 60 9 || die "another serve.sh start or stop is in progress ($RUN_DIR/serve.lock)"
  if [ -z "${DATABASE_URL:-}" ]; then
    [ -n "$(pid_of postgres)" ] || die "postgres: not running; use 'scripts/serve.sh start'"
    local_database_url
  else
    DATABASE_URL=$(sed -E 's#^postgres(ql)?://#postgresql+psycopg2://#' <<<"$DATABASE_URL")
  fi
  service_env
  stop_one "$service"
  launch_service "$service"
  wait_service "$service"
  echo "$service restarted (pid $(pid_of "$service"))"
}

start() {
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$DAGSTER_HOME"
  exec 9>"$RUN_DIR/serve.lock"
  flock -n 9 || die "another serve.sh start or stop is in progress ($RUN_DIR/serve.lock)"
  local up
  up=$(running_services | tr '\n' ' ')
  [ -z "$up" ] || die "already running ($up); nothing started. Use 'scripts/serve.sh status' or 'stop'"
  local t0=$SECONDS
  check_port_free webserver DAGSTER_PORT "$DAGSTER_PORT"
  check_port_free code-server CODE_SERVER_PORT "$CODE_SERVER_PORT"
  check_port_free mlflow MLFLOW_PORT "$MLFLOW_PORT"
  # A start that fails half-way stops what it started: nothing is left to block the next one.
  trap 'rc=$?; if [ $rc != 0 ]; then stop_all >/dev/null 2>&1; fi; exit $rc' EXIT

  if [ -n "${DATABASE_URL:-}" ]; then
    # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; dagster-postgres needs psycopg2.
    DATABASE_URL=$(sed -E 's#^postgres(ql)?://#postgresql+psycopg2://#' <<<"$DATABASE_URL")
    check_postgres postgres DATABASE_URL "$DATABASE_URL"
    rm -f "$RUN_DIR/postgres.pid"
    echo "postgres     external server (DATABASE_URL)"
  else
    check_port_free postgres POSTGRES_PORT "$POSTGRES_PORT"
    start_local_postgres
    check_postgres postgres "the local server ($PG_PASSWORD_FILE or PLAYLIST_PG_PASSWORD)" "$DATABASE_URL"
  fi
  service_env
  check_postgres mlflow MLFLOW_BACKEND_STORE_URI "$MLFLOW_BACKEND_STORE_URI"
  case $MLFLOW_ARTIFACTS_DESTINATION in *://*) ;; *) mkdir -p "$MLFLOW_ARTIFACTS_DESTINATION" ;; esac
  cp deploy/dagster.postgres.yaml "$DAGSTER_HOME/dagster.yaml"
  printf 'load_from:\n  - grpc_server:\n      host: %s\n      port: %s\n      location_name: playlist_assets\n' \
    "$HOST" "$CODE_SERVER_PORT" >"$WORKSPACE"
  launch_service mlflow
  launch_service code-server
  wait_service mlflow
  wait_service code-server
  launch_service webserver
  launch_service daemon
  wait_service webserver
  wait_service daemon
  status
  trap - EXIT
  echo "started in $((SECONDS - t0)) s: UI http://$HOST:$DAGSTER_PORT  MLflow http://$HOST:$MLFLOW_PORT  logs $LOG_DIR"
}

status() {
  local s pid health any=1
  for s in "${SERVICES[@]}"; do
    pid=$(pid_of "$s")
    if [ -z "$pid" ]; then
      if [ "$s" = postgres ] && [ -n "${DATABASE_URL:-}" ]; then
        printf '%-12s external (DATABASE_URL)\n' "$s"
      else
        printf '%-12s stopped\n' "$s"
      fi
      continue
    fi
    any=0
    case $s in
    postgres) health=$("$PG_BIN/pg_isready" -q -h "$HOST" -p "$POSTGRES_PORT" && echo "accepting connections on $HOST:$POSTGRES_PORT" || echo "NOT accepting connections") ;;
    code-server) health=$("${BIN}dagster" api grpc-health-check -h "$HOST" -p "$CODE_SERVER_PORT" >/dev/null 2>&1 && echo "gRPC serving on $HOST:$CODE_SERVER_PORT" || echo "gRPC NOT serving") ;;
    mlflow) health=$(http_ok "http://$HOST:$MLFLOW_PORT/health" 2>/dev/null && echo "healthy on http://$HOST:$MLFLOW_PORT" || echo "NOT answering /health") ;;
    webserver) health=$(http_ok "http://$HOST:$DAGSTER_PORT/server_info" 2>/dev/null && echo "healthy on http://$HOST:$DAGSTER_PORT" || echo "NOT answering /server_info") ;;
    daemon) health=$(daemon_healthy 2>/dev/null && echo "healthy (all daemons heartbeating)" || echo "NOT healthy (stale heartbeats or webserver down)") ;;
    esac
    printf '%-12s pid %-7s %s\n' "$s" "$pid" "$health"
  done
  return $any
}

stop_one() { # service: TERM its process group, then KILL what is left after a grace period
  local s=$1 pid
  pid=$(pid_of "$s")
  if [ -z "$pid" ]; then
    rm -f "$RUN_DIR/$s.pid"
    return 0
  fi
  if [ "$s" = postgres ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || kill -KILL "$pid"
  else
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 20))
    while kill -0 -- "-$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$s.pid"
  echo "$s stopped"
}

stop() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/serve.lock"
  flock -w 60 9 || die "another serve.sh start is still in progress ($RUN_DIR/serve.lock)"
  stop_all
}

stop_all() {
  # Reverse order: nothing launches runs while the code server and the database go away.
  local s
  for s in daemon webserver code-server mlflow postgres; do stop_one "$s"; done
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
restart) restart "${2:-}" ;;
*) die "usage: scripts/serve.sh start | stop | status | restart SERVICE" ;;
esac

#!/usr/bin/env bash
# The production profile on one machine: bash scripts/serve.sh start | stop | status | restart SERVICE
#
#   postgres          Debian's PostgreSQL, data dir under the data folder (initdb on first start),
#                     or an existing server: DATABASE_URL=postgresql://user:password@host:port/db
#   door              the login check nginx asks before every request (unix socket, no port)
#   mlflow            MLflow tracking server with its basic-auth app: backend and user store on
#                     the same Postgres (databases mlflow, mlflow_auth), artifacts served by it
#                     (--serve-artifacts) from MLFLOW_ARTIFACTS_DESTINATION (default: a folder
#                     under the data folder; s3://…)
#   code-server       dagster code-server for playlist_assets (gRPC)
#   webserver         dagster-webserver for operators, workspace pointing at the code server
#   view              a second dagster-webserver, --read-only, for viewers (under /view/)
#   daemon            dagster-daemon: schedule, sensor, backfills, the run queue
#   dashboard         the live Voila dashboard (playlist-assets dashboard, under /dashboard/)
#   api               the recommendation API (playlist-assets api, its own API keys, under /api/),
#                     when the installed package has that command
#   proxy             the door: Debian's nginx, the only listener on SERVE_HOST; logins and roles
#                     (playlist-assets users add|list|remove), TLS with SERVE_TLS_CERT/KEY
#
# Instance: deploy/dagster.postgres.yaml (Postgres storage, QueuedRunCoordinator, "duckdb" pool).
# State, logs and pids live under $PLAYLIST_ASSETS_HOME/service. Only the proxy binds SERVE_HOST
# (default 127.0.0.1), and only once a user exists; everything else binds 127.0.0.1. Ports and
# their settings: playlist_assets/lib/service/profile.py. Credentials come only from the
# environment or files (mode 600) generated beside what they guard: the local Postgres password
# (PLAYLIST_PG_PASSWORD) and the runs' MLflow account (MLFLOW_TRACKING_USERNAME/PASSWORD).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

export PLAYLIST_ASSETS_HOME=${PLAYLIST_ASSETS_HOME:-$REPO/.data}

# The project's venv when run from a checkout, else whatever is on PATH (the container image).
if [ -x "$REPO/.venv/bin/dagster" ]; then BIN=$REPO/.venv/bin/; else BIN=; fi
# Settings, checks and probes live in Python (playlist_assets/lib/service); this script starts,
# watches and stops processes.
PA=${BIN}playlist-assets
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

# Folders, host, ports and timeout (defaults in lib/service/profile.py); a bad setting stops here.
layout=$("$PA" service env 2>&1) || { echo "serve.sh: ${layout#*error: }" >&2; exit 1; }
eval "$layout"
export PLAYLIST_ASSETS_HOME DAGSTER_HOME

export GX_ANALYTICS_ENABLED=false GIT_PYTHON_REFRESH=quiet OMP_WAIT_POLICY=passive
export MLFLOW_DISABLE_TELEMETRY=true MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
export PYTHONUNBUFFERED=1

SERVICES=(postgres door mlflow code-server webserver view daemon dashboard api proxy)
NGINX=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}

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

# Runs a check of `playlist-assets service`; its one-line failure becomes this script's.
check() {
  local out
  out=$("$PA" service "$@" 2>&1) || die "${out#playlist-assets service: error: }"
}

# The stores' environment (DATABASE_URL, MLflow's backend and artifacts, MLFLOW_TRACKING_URI).
database_env() {
  local out
  out=$("$PA" service env --database 2>&1) || die "postgres: ${out#playlist-assets service: error: }"
  eval "$out"
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
    [ -n "${PLAYLIST_PG_PASSWORD:-}" ] || check new-secret "$PG_PASSWORD_FILE"
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
    -o "-c listen_addresses=$BACKEND_HOST -p $POSTGRES_PORT -k $PG_SOCKET_DIR" start >/dev/null 9>&- ||
    die "postgres: did not start on $BACKEND_HOST:$POSTGRES_PORT (POSTGRES_PORT), see $LOG_DIR/postgres.log"
  head -1 "$PG_DATA/postmaster.pid" >"$RUN_DIR/postgres.pid"
  database_env
  # The databases, created once (the role's own "postgres" db is the maintenance one): Dagster's,
  # MLflow's tracking store and MLflow's users.
  local db
  for db in dagster mlflow mlflow_auth; do
    PGPASSWORD=$(local_pg_password) "$PG_BIN/psql" -h "$BACKEND_HOST" -p "$POSTGRES_PORT" -U "$PG_USER" \
      -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
      PGPASSWORD=$(local_pg_password) "$PG_BIN/createdb" -h "$BACKEND_HOST" -p "$POSTGRES_PORT" \
        -U "$PG_USER" "$db"
  done
}

launch() { # service logfile command... : its own session, so stop can end its whole group
  local service=$1
  shift
  setsid "$@" >>"$LOG_DIR/$service.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/$service.pid"
}

# launch at RUN_NICENESS (lib/service/profile.py). nice orders the processes of one scheduling
# group; with the kernel's autogroup on (Debian's default) every session is a group of its own,
# competing as equals whatever their processes' nice, so the new session's group is niced too.
launch_niced() {
  local service=$1
  shift
  launch "$service" bash -c 'echo "$0" 2>/dev/null >/proc/self/autogroup; exec nice -n "$0" "$@"' \
    "$RUN_NICENESS" "$@"
}

# The door: nginx on SERVE_HOST once the profile has a user, else on loopback (and it says so).
launch_proxy() {
  [ -x "$NGINX" ] || die "proxy: Debian's nginx is not installed (apt-get install nginx), or set NGINX_BIN"
  local listen
  listen=$("$PA" service door-listen) || die "proxy: cannot tell where to listen"
  echo "$listen" >"$PROXY_LISTEN_FILE"
  mkdir -p "$NGINX_DIR"
  local out api=()
  [ -z "$(pid_of api)" ] || api=(--api)
  out=$("$PA" service nginx-conf --listen "$listen" "${api[@]}" 2>&1 >"$NGINX_DIR/nginx.conf") ||
    die "proxy: ${out#playlist-assets service: error: }"
  "$NGINX" -t -q -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" -e "$LOG_DIR/proxy.log" 2>>"$LOG_DIR/proxy.log" ||
    die "proxy: nginx refuses its configuration, see $LOG_DIR/proxy.log"
  launch proxy "$NGINX" -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" -e "$LOG_DIR/proxy.log"
}

launch_service() {
  case $1 in
  door) launch door "$PA" service door ;;
  # No job runner: it serves MLflow's GenAI jobs (scorers, trace roll-ups), which nothing here
  # uses, at the cost of one more process importing all of MLflow.
  mlflow)
    check mlflow-auth # its auth config, rendered from the environment on every (re)start
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false launch mlflow "${BIN}mlflow" server \
    --host "$BACKEND_HOST" --port "$MLFLOW_PORT" --workers 1 \
    --serve-artifacts --app-name basic-auth --static-prefix /mlflow ;;
  # niced: the runs it starts (its children) yield the cores to the API's requests
  code-server) launch_niced code-server "${BIN}dagster" code-server start -h "$BACKEND_HOST" -p "$CODE_SERVER_PORT" \
    -m playlist_assets.definitions --location-name playlist_assets ;;
  webserver) launch webserver "${BIN}dagster-webserver" -h "$BACKEND_HOST" -p "$DAGSTER_PORT" -w "$WORKSPACE" ;;
  view) launch view "${BIN}dagster-webserver" -h "$BACKEND_HOST" -p "$VIEW_PORT" -w "$WORKSPACE" \
    --read-only --path-prefix /view ;;
  daemon) launch daemon "${BIN}dagster-daemon" run -w "$WORKSPACE" ;;
  dashboard) launch dashboard "$PA" dashboard --host "$BACKEND_HOST" --port "$DASHBOARD_PORT" \
    --no-browser --base-url /dashboard/ ;;
  api) launch api "$PA" api --host "$BACKEND_HOST" --port "$API_PORT" --require-keys --root-path /api ;;
  proxy) launch_proxy ;;
  *) die "no such service: $1 (one of: ${SERVICES[*]:1})" ;;
  esac
}

# Until the service is healthy; one line if its process exits or START_TIMEOUT runs out.
wait_service() {
  check wait "$1" --pid "$(cat "$RUN_DIR/$1.pid")" --log "$LOG_DIR/$1.log"
}

# Restart one service of a running profile (e.g. the daemon after a crash or a config change).
restart() {
  local service=${1:-}
  [ -n "$service" ] && [ "$service" != postgres ] || die "usage: scripts/serve.sh restart SERVICE (one of: ${SERVICES[*]:1})"
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/serve.lock"
  flock -w 60 9 || die "another serve.sh start or stop is in progress ($RUN_DIR/serve.lock)"
  [ -n "${DATABASE_URL:-}" ] || [ -n "$(pid_of postgres)" ] ||
    die "postgres: not running; use 'scripts/serve.sh start'"
  database_env
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
  local s
  # The recommendation API is part of the profile once the installed package has its command.
  local with_api=()
  ! "$PA" api --help >/dev/null 2>&1 || with_api=(api)
  for s in proxy webserver view code-server mlflow dashboard "${with_api[@]}"; do check check-port "$s"; done
  # A start that fails half-way stops what it started: nothing is left to block the next one.
  trap 'rc=$?; if [ $rc != 0 ]; then stop_all >/dev/null 2>&1; fi; exit $rc' EXIT

  [ -n "${MLFLOW_TRACKING_PASSWORD:-}" ] || check new-secret "$MLFLOW_PASSWORD_FILE"
  [ -n "${MLFLOW_FLASK_SERVER_SECRET_KEY:-}" ] || check new-secret "$MLFLOW_SECRET_KEY_FILE"
  if [ -n "${DATABASE_URL:-}" ]; then
    database_env
    check check-postgres postgres DATABASE_URL
    rm -f "$RUN_DIR/postgres.pid"
    echo "postgres     external server (DATABASE_URL)"
  else
    check check-port postgres
    start_local_postgres
    check check-postgres postgres "the local server ($PG_PASSWORD_FILE or PLAYLIST_PG_PASSWORD)"
  fi
  check check-postgres mlflow MLFLOW_BACKEND_STORE_URI --url-env MLFLOW_BACKEND_STORE_URI
  check check-postgres mlflow MLFLOW_AUTH_DATABASE_URI --url-env MLFLOW_AUTH_DATABASE_URI
  case $MLFLOW_ARTIFACTS_DESTINATION in *://*) ;; *) mkdir -p "$MLFLOW_ARTIFACTS_DESTINATION" ;; esac
  cp deploy/dagster.postgres.yaml "$DAGSTER_HOME/dagster.yaml"
  printf 'load_from:\n  - grpc_server:\n      host: %s\n      port: %s\n      location_name: playlist_assets\n' \
    "$BACKEND_HOST" "$CODE_SERVER_PORT" >"$WORKSPACE"
  # The webservers and the daemon need only the code server: they start while MLflow still does.
  for s in door mlflow code-server; do launch_service "$s"; done
  wait_service code-server
  for s in webserver view daemon dashboard "${with_api[@]}"; do launch_service "$s"; done
  for s in door mlflow webserver view daemon dashboard "${with_api[@]}"; do wait_service "$s"; done
  launch_service proxy
  wait_service proxy
  status
  trap - EXIT
  local scheme=http listen
  [ -z "${SERVE_TLS_CERT:-}" ] || scheme=https
  listen=$(cat "$PROXY_LISTEN_FILE")
  echo "started in $((SECONDS - t0)) s: $scheme://$listen:$PROXY_PORT/ (operators), /view/ (viewers), /mlflow/, /dashboard/; logs $LOG_DIR (logins: $LOG_DIR/audit.log)"
}

status() {
  local s pid health any=1
  # The local server's URL, for its health line (an external one is in DATABASE_URL already).
  if [ -z "${DATABASE_URL:-}" ] && [ -n "$(pid_of postgres)" ]; then
    eval "$("$PA" service env --database 2>/dev/null)" || true
  fi
  for s in "${SERVICES[@]}"; do
    pid=$(pid_of "$s")
    if [ -z "$pid" ]; then
      if [ "$s" = api ] && ! "$PA" api --help >/dev/null 2>&1; then
        continue # not part of this profile until the installed package has the command
      elif [ "$s" = postgres ] && [ -n "${DATABASE_URL:-}" ]; then
        printf '%-12s external (DATABASE_URL)\n' "$s"
      else
        printf '%-12s stopped\n' "$s"
      fi
      continue
    fi
    any=0
    health=$("$PA" service health "$s" 2>&1) || true
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
  for s in proxy api dashboard daemon view webserver code-server mlflow door postgres; do stop_one "$s"; done
  rm -f "$PROXY_LISTEN_FILE"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
restart) restart "${2:-}" ;;
*) die "usage: scripts/serve.sh start | stop | status | restart SERVICE" ;;
esac

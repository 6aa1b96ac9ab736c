#!/usr/bin/env bash
# The API fuzzing of `make test`: schemathesis (PyPI, into .venv) generates requests from
# openapi.yaml against a real `make dev` and checks every answer against the document: no 5xx,
# documented status codes, content types, headers and body schemas, and that protected routes
# refuse requests without the access token (ignored_auth). Stateful links (login → refresh →
# logout) are followed. Bounded: SCHEMATHESIS_EXAMPLES test cases per operation (default 40).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --quiet -p devserver
. scripts/engines.sh
engines_venv_install schemathesis schemathesis "schemathesis==4.*"
port=$(engines_free_port)
work=$(mktemp -d)
out="$work/out" err="$work/err"
# LOGIN_MAX_FAILURES high: the fuzzer's wrong passwords would otherwise lock the demo user out
# of the stateful login links (lockout itself is tested elsewhere).
setsid env PORT="$port" LOGIN_MAX_FAILURES=1000 make --no-print-directory dev >"$out" 2>"$err" &
pgid=$!
cleanup() { kill -INT -- "-$pgid" 2>/dev/null || true; wait "$pgid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
dev_wait_ready "$port" "$out" "$err" "$pgid"
base="http://127.0.0.1:$port"
access=$(curl -sf -H 'content-type: application/json' \
  -d '{"username":"demo","password":"demo-password-123"}' "$base/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
.venv/bin/schemathesis run openapi.yaml --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,ignored_auth \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" --seed "${SCHEMATHESIS_SEED:-7}" \
  --header "Authorization: Bearer $access" \
  --no-color --warnings off

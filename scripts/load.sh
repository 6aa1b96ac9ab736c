#!/usr/bin/env bash
# Bounded load test through the `make dev` server (release build), loopback only, fixed
# request counts (ab from apache2-utils): the authorizer-guarded GET /hello against the
# unguarded GET /health in the same run, then refresh under concurrency (refresh_load).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
requests="${LOAD_REQUESTS:-20000}"
concurrency="${LOAD_CONCURRENCY:-16}"
command -v ab >/dev/null || { echo "load: ab missing: apt-get install apache2-utils" >&2; exit 1; }
cargo build --quiet --release -p devserver -p integration-tests --bin refresh_load
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
setsid env PORT="$port" MAX_SESSIONS_PER_USER=100 scripts/with-engines.sh "$target/release/devserver" \
  >"$work/out" 2>"$work/err" &
pgid=$!
trap 'kill -INT -- "-$pgid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do grep -q "^ready on" "$work/out" && break; sleep 0.1; done
grep -q "^ready on" "$work/out" || { cat "$work/err" >&2; exit 1; }
access=$(curl -s -X POST "http://127.0.0.1:$port/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"demo","password":"demo-password-123"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
rps() { ab -q -k -n "$requests" -c "$concurrency" "$@" 2>/dev/null | awk '/Requests per second/ {print $4}'; }
failed() { ab -q -k -n "$requests" -c "$concurrency" "$@" 2>/dev/null | awk '/Non-2xx responses|Failed requests/ {s += $NF} END {print s + 0}'; }
open1=$(rps "http://127.0.0.1:$port/health")
guard1=$(rps -H "Authorization: Bearer $access" "http://127.0.0.1:$port/hello")
open2=$(rps "http://127.0.0.1:$port/health")
guard2=$(rps -H "Authorization: Bearer $access" "http://127.0.0.1:$port/hello")
bad=$(failed -H "Authorization: Bearer $access" "http://127.0.0.1:$port/hello")
python3 - "$open1" "$open2" "$guard1" "$guard2" "$bad" "$requests" "$concurrency" <<'PY'
import sys
o1, o2, g1, g2 = map(float, sys.argv[1:5])
bad, n, c = sys.argv[5], sys.argv[6], sys.argv[7]
o, g = (o1 + o2) / 2, (g1 + g2) / 2
print(f"load (ab, {n} requests x 2 per route, {c} connections, keep-alive, loopback)")
print(f"  GET /health (no authorizer)   {o:9.0f} req/s")
print(f"  GET /hello  (authorizer)      {g:9.0f} req/s")
print(f"  guard cost: {100 * (1 - g / o):.1f}% of throughput (goal <= 10%); non-2xx on /hello: {bad}")
PY
"$target/release/refresh_load" "$port" 16 20

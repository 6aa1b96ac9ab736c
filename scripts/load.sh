#!/usr/bin/env bash
# Bounded load test through the `make dev` server (release build), loopback only, fixed
# request counts (ab from apache2-utils): the authorizer-guarded GET /hello against the
# unguarded GET /health in the same run, alternating (and /health against itself, for the
# noise), then refresh under concurrency
# (refresh_load). The dev server caches authorizer answers as the SAM template deploys them
# (AUTHORIZER_CACHE_TTL, default 300 s); AUTHORIZER_CACHE_TTL=0 verifies every request.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
requests="${LOAD_REQUESTS:-20000}"
concurrency="${LOAD_CONCURRENCY:-16}"
. scripts/engines.sh
engines_install_ab
cargo build --quiet --release -p devserver -p bench --bin devserver --bin refresh_load
port=$(engines_free_port)
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
server=$(pgrep -f -n "$target/release/devserver")
# The dev server's CPU time (user + system, clock ticks) around each run: CPU per request does
# not depend on how the machine's cores are shared out at that moment, throughput does.
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
rps() {
  local before after r
  before=$(ticks)
  r=$(ab -q -k -n "$requests" -c "$concurrency" "$@" 2>/dev/null | awk '/Requests per second/ {print $4}')
  after=$(ticks)
  echo "$r:$(( (after - before) * 1000000 / $(getconf CLK_TCK) / requests ))"
}
failed() { ab -q -k -n "$requests" -c "$concurrency" "$@" 2>/dev/null | awk '/Non-2xx responses|Failed requests/ {s += $NF} END {print s + 0}'; }
# Alternating rounds, median per route: drift on this shared machine hits every route alike.
# Each round also runs /health a second time (after /hello): the same route measured twice
# shows how far apart two identical measurements land here, the resolution of the figure.
rounds="${LOAD_ROUNDS:-15}"
open=(); guard=(); again=()
for _ in $(seq 1 "$rounds"); do
  open+=("$(rps "http://127.0.0.1:$port/health")")
  guard+=("$(rps -H "Authorization: Bearer $access" "http://127.0.0.1:$port/hello")")
  again+=("$(rps "http://127.0.0.1:$port/health")")
done
bad=$(failed -H "Authorization: Bearer $access" "http://127.0.0.1:$port/hello")
python3 scripts/load-report.py "$bad" "$requests" "$concurrency" "$rounds" "${open[*]}" "${guard[*]}" "${again[*]}"
[ -n "${LOAD_SKIP_REFRESH:-}" ] || "$target/release/refresh_load" "$port" 16 20

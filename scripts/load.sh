#!/usr/bin/env bash
# Bounded load test through the `make dev` server (release build), loopback only, fixed
# request counts (ab from apache2-utils): the authorizer-guarded GET /hello against the
# unguarded GET /health in the same run, alternating, then refresh under concurrency
# (refresh_load). The dev server caches authorizer answers as the SAM template deploys them
# (AUTHORIZER_CACHE_TTL, default 300 s); AUTHORIZER_CACHE_TTL=0 verifies every request.
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
# Alternating rounds, median per route: drift on this shared machine hits both routes alike.
rounds="${LOAD_ROUNDS:-5}"
open=(); guard=()
for _ in $(seq 1 "$rounds"); do
  open+=("$(rps "http://127.0.0.1:$port/health")")
  guard+=("$(rps -H "Authorization: Bearer $access" "http://127.0.0.1:$port/hello")")
done
bad=$(failed -H "Authorization: Bearer $access" "http://127.0.0.1:$port/hello")
python3 - "$bad" "$requests" "$concurrency" "$rounds" "${open[*]}" "${guard[*]}" <<'PY'
import statistics, sys
bad, n, c, rounds = sys.argv[1:5]
opens = [float(x.split(":")[0]) for x in sys.argv[5].split()]
guards = [float(x.split(":")[0]) for x in sys.argv[6].split()]
open_cpu = [float(x.split(":")[1]) for x in sys.argv[5].split()]
guard_cpu = [float(x.split(":")[1]) for x in sys.argv[6].split()]
o, g = statistics.median(opens), statistics.median(guards)
oc, gc = statistics.median(open_cpu), statistics.median(guard_cpu)
import os
ttl = os.environ.get("AUTHORIZER_CACHE_TTL", "300")
cache = f"authorizer answers cached {ttl} s as deployed" if ttl != "0" else "no authorizer cache: every request verified"
print(f"load (ab, {n} requests x {rounds} alternating rounds per route, {c} connections, keep-alive, loopback; medians; {cache})")
print(f"  GET /health (no authorizer)   {o:9.0f} req/s   (rounds: {' '.join(f'{x:.0f}' for x in opens)})")
print(f"  GET /hello  (authorizer)      {g:9.0f} req/s   (rounds: {' '.join(f'{x:.0f}' for x in guards)})")
print(f"  guard cost: {100 * (1 - g / o):.1f}% of throughput (goal <= 10%); non-2xx on /hello: {bad}")
print(f"  dev server CPU per request: /health {oc:.0f} us, /hello {gc:.0f} us: the guard adds {gc - oc:.0f} us = {100 * (gc / oc - 1):.1f}%")
PY
[ -n "${LOAD_SKIP_REFRESH:-}" ] || "$target/release/refresh_load" "$port" 16 20

#!/usr/bin/env bash
# `make bench`: every performance figure of docs/performance.md, each as a ratio against a baseline
# measured in the same run (this machine is noisy: ratios, not absolute times).
#   1. criterion: authorizer handler vs jsonwebtoken::decode vs a hand-rolled floor;
#      login handler vs one argon2id verify; argon2id per OWASP parameter set
#   2. cold start of each release binary vs a trivial lambda_runtime function
#   3. refresh and logout handler latency against DynamoDB Local vs a bare GetItem
#   4. load through the dev server: /hello (authorizer) vs /health; refresh under concurrency
# DynamoDB round trips per request are asserted by the integration tests (docs/performance.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
. scripts/engines.sh
# The load test's generator, before the long release builds: a missing tool fails at once.
engines_install_ab
cargo bench -p bench --bench authorizer --bench login -- --warm-up-time 2 >/dev/null
python3 scripts/bench-report.py "$target/criterion"
cargo build --quiet --release --bins
scripts/with-engines.sh "$target/release/coldstart" "$target/release" "${COLDSTART_RUNS:-15}" 2>/dev/null
scripts/with-engines.sh "$target/release/dynamo_latency" 200 2>/dev/null
if [ -d "$target/lambda-arm64" ]; then
  echo "arm64 release bootstraps (make build)"
  for f in "$target"/lambda-arm64/*/bootstrap; do
    printf '  %-14s %5.2f MB\n' "$(basename "$(dirname "$f")")" "$(echo "$(stat -c %s "$f") / 1000000" | bc -l)"
  done
fi
scripts/load.sh
AUTHORIZER_CACHE_TTL=0 LOAD_SKIP_REFRESH=1 scripts/load.sh

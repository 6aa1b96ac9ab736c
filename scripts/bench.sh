#!/usr/bin/env bash
# `make bench`: runs the criterion benchmarks and prints each figure as a ratio against the
# baseline measured in the same run (this machine is noisy: ratios, not absolute times).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo bench -p shared --bench authorizer -- --warm-up-time 2 --measurement-time 5 >/dev/null
python3 - "$target/criterion" <<'PY'
import json, sys, os
root = sys.argv[1]
def mean(group, name):
    with open(os.path.join(root, group, name, "new", "estimates.json")) as f:
        return json.load(f)["mean"]["point_estimate"] / 1000.0  # ns -> us
a = mean("authorizer", "a_handler_per_event")
b = mean("authorizer", "b_jsonwebtoken_decode")
c = mean("authorizer", "c_hand_rolled_floor")
d = mean("authorizer", "d_event_parse_only")
print("authorizer (per event, same run)")
print(f"  (a) whole handler            {a:7.2f} us")
print(f"  (b) jsonwebtoken::decode     {b:7.2f} us")
print(f"  (c) hand-rolled HMAC floor   {c:7.2f} us")
print(f"      of (a): event JSON parse {d:7.2f} us")
print(f"  (a)/(b) = {a/b:.2f}x  (goal <= 1.3x)")
print(f"  (a)/(c) = {a/c:.2f}x")
print(f"  (b)/(c) = {b/c:.2f}x")
PY

#!/usr/bin/env bash
# `make dev`: build the dev server (cargo's own progress on screen) while the local engines
# install on first use, start the engines, run the server until Ctrl-C / SIGTERM, then stop
# everything it started.
set -eu
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
. scripts/engines.sh
# The engines download (npm, pip) while cargo compiles: neither waits for the other. Their
# messages are shown after cargo's, not interleaved with its progress bar.
log=$(mktemp)
engines_install >"$log" 2>&1 &
installing=$!
built=0
cargo build -p devserver && built=1
installed=0
wait "$installing" && installed=1
cat "$log" >&2
rm -f "$log"
# A compile error (or a failed install) never leaves engines running: none has started.
[ "$built" = 1 ] && [ "$installed" = 1 ] || exit 1
# Sign-up on, as the README's walk-through uses it (SIGNUP_ENABLED=false make dev turns it off).
export SIGNUP_ENABLED="${SIGNUP_ENABLED:-true}"
exec scripts/with-engines.sh "$target/debug/devserver"

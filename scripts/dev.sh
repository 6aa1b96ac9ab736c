#!/usr/bin/env bash
# `make dev`: build the dev server, start the local engines, run it until Ctrl-C / SIGTERM,
# then stop everything it started.
set -eu
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
# Build first, so a compile error never leaves engines running.
cargo build --quiet -p devserver
exec scripts/with-engines.sh "$target/debug/devserver"

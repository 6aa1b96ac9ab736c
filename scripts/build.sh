#!/usr/bin/env bash
# `make build`: arm64 release bootstraps for Lambda (provided.al2023) with cargo lambda, into
# target/lambda-arm64/<function>/bootstrap (x86_64 builds go to target/lambda-x86_64, so the
# two never overwrite each other), and each bootstrap's size.
# cargo-lambda comes from pip into .venv/ (it brings zig as the cross linker).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arch="${1:-arm64}"
. scripts/engines.sh
engines_venv_install cargo-lambda "cargo-lambda (and zig)" cargo-lambda
export PATH="$PWD/.venv/bin:$PATH"
case "$arch" in
  arm64) rustup target add aarch64-unknown-linux-gnu >/dev/null; flag=--arm64 ;;
  x86_64) rustup target add x86_64-unknown-linux-gnu >/dev/null; flag=--x86-64 ;;
  *) echo "usage: $0 [arm64|x86_64]" >&2; exit 2 ;;
esac
out="${CARGO_TARGET_DIR:-$PWD/target}/lambda-$arch"
# Every crate under functions/ is a Lambda.
functions=()
for d in functions/*/; do functions+=("$(basename "$d")"); done
pkgs=()
for f in "${functions[@]}"; do pkgs+=(--package "$f"); done
cargo lambda build --release "$flag" --lambda-dir "$out" "${pkgs[@]}"
printf '%-12s %10s\n' function "bootstrap (bytes)"
for f in "${functions[@]}"; do
  printf '%-12s %10s\n' "$f" "$(stat -c %s "$out/$f/bootstrap")"
done

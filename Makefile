# lambda-jwt-auth: every command a developer or CI needs. See README.md.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# One shared target dir for every crate and tool (2-core machines: build once).
export CARGO_TARGET_DIR ?= $(CURDIR)/target

.PHONY: test fmt-check lint unit js integration template dev-smoke browser fuzz dev bench build clean-engines

## make test: everything CI runs.
test: fmt-check lint unit js integration dev-smoke fuzz browser

fmt-check:
	cargo fmt --all -- --check

lint:
	cargo clippy --workspace --all-targets -- -D warnings
	scripts/check-layers.py

unit:
	cargo test --workspace --exclude integration-tests --exclude authctl

# The browser client's unit tests: node's built-in runner, a fake fetch.
js:
	node --test clients/web/

# DynamoDB Local and moto are installed on first use, started on free ports for this run only,
# and stopped when it ends, pass or fail.
integration: template
	cargo build --bins
	scripts/with-engines.sh cargo test -p integration-tests -p authctl

# template.yaml, offline: sam validate, sam validate --lint and cfn-lint each catch mistakes
# the others miss. aws-sam-cli and cfn-lint are installed into .venv/ on first use.
template:
	scripts/validate-template.sh

# `make dev` driven from outside with curl and authctl, then stopped with SIGINT.
dev-smoke:
	scripts/dev-smoke.sh

# schemathesis (into .venv on first use) fuzzes a real `make dev` from openapi.yaml.
fuzz:
	SCHEMATHESIS_EXAMPLES=$${SCHEMATHESIS_EXAMPLES:-100} scripts/schemathesis.sh

# Headless Chromium (Debian's chromium + chromium-driver, installed on first use, as root or
# through sudo) drives the demo page and the client against a real `make dev`.
browser:
	scripts/browser-e2e.sh

## make dev: the whole API on http://127.0.0.1:3000 (PORT overrides) against local engines.
dev:
	scripts/dev.sh

## make build: arm64 release bootstraps with cargo lambda (target/lambda-arm64/*/bootstrap).
build:
	scripts/build.sh arm64

## make bench: benchmarks, reported as ratios against baselines measured in the same run.
bench:
	scripts/bench.sh

clean-engines:
	rm -rf .local .venv

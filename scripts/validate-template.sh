#!/usr/bin/env bash
# Validates template.yaml offline with sam validate, sam validate --lint and cfn-lint, then
# checks its abuse limits on SAM's own translation (scripts/check-template.py); the same for
# examples/*.yaml (another stack using the exported authorizer).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/engines.sh
engines_venv_install sam aws-sam-cli aws-sam-cli
engines_venv_install cfn-lint cfn-lint cfn-lint
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0
.venv/bin/sam validate --template template.yaml
.venv/bin/sam validate --lint --template template.yaml
.venv/bin/cfn-lint template.yaml
.venv/bin/python scripts/check-template.py template.yaml
# docs/deploy.md's second stack, attaching the exported authorizer to its own API.
for t in examples/*.yaml; do
  .venv/bin/sam validate --template "$t"
  .venv/bin/sam validate --lint --template "$t"
  .venv/bin/cfn-lint "$t"
done
.venv/bin/python scripts/check-template.py --consumer examples/consumer-api.yaml
.venv/bin/python scripts/check-template.py --consumer-jwt examples/consumer-api-jwt.yaml
# openapi.yaml against the template and the dev server's router.
.venv/bin/python scripts/check-template.py --openapi template.yaml openapi.yaml
echo "template.yaml and examples/: sam validate, sam validate --lint, cfn-lint and check-template passed"

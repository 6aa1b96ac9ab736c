#!/usr/bin/env bash
# Runs a command with DynamoDB Local, moto and the OpenID provider mock started on free ports,
# and stops them afterwards whatever happens to the command (success, failure, Ctrl-C, SIGTERM).
# The command sees AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_REGION,
# dummy credentials and OIDC_DEV_ISSUER.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/engines.sh"
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
trap 'engines_stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$(date +%s.%N)
engines_start || exit 1
engines_log "DynamoDB Local at $AWS_ENDPOINT_URL_DYNAMODB, moto at $AWS_ENDPOINT_URL_SECRETS_MANAGER, OpenID provider at $OIDC_DEV_ISSUER ($(python3 -c "print(f'{$(date +%s.%N)-$started:.1f}')") s)"
# Not exec: the EXIT trap must outlive the command. The command runs in the background and is
# waited for so that a signal reaches our traps at once.
"$@" &
child=$!
trap 'kill -INT $child 2>/dev/null; wait $child; exit 130' INT
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 143' TERM
wait $child

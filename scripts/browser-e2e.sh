#!/usr/bin/env bash
# The browser test of `make test`: headless Chromium (Debian's package, driven by selenium)
# against a real `make dev`, the page and client as a user would have them:
#   - the demo page served by `make dev` (same origin): log in through the page, the refresh
#     token absent from document.cookie, a reload restores the session through the cookie,
#     after the access token expired five parallel calls succeed with exactly one
#     /auth/refresh (counted in the dev server's access log), log out and the next call fails;
#   - the demo page logs nothing in the browser console and talks only to its own origin;
#   - an app page on a second origin (another port, a static server) using the client with
#     that API as its baseUrl, allowed by CORS_ALLOW_ORIGIN: login and calls work; on a third
#     origin, not allowed: they fail.
# ACCESS_TOKEN_TTL=1 with the verifier's 30 s leeway: the test waits ~32 s for the expiry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --quiet -p devserver
. scripts/engines.sh
engines_install_browser
api=$(engines_free_port) app=$(engines_free_port) other=$(engines_free_port)
work=$(mktemp -d)
out="$work/out" err="$work/err"
mkdir -p "$work/site/client"
cp clients/web/auth-client.js "$work/site/client/auth-client.js"
# A cross-origin app: the client with the API given in ?api= (the demo page itself only ever
# talks to its own origin).
cat >"$work/site/index.html" <<'HTML'
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>app</title><link rel="icon" href="data:,"></head>
<body><script type="module">
import { createAuthClient } from "/client/auth-client.js";
window.auth = createAuthClient({ baseUrl: new URLSearchParams(location.search).get("api") });
</script></body></html>
HTML
# The template's defaults but: a 1 s access token, the authorizer's cache off (so an expired
# token is really re-verified, not a cached allow), the second origin allowed.
setsid env PORT="$api" ACCESS_TOKEN_TTL=1 AUTHORIZER_CACHE_TTL=0 \
  CORS_ALLOW_ORIGIN="http://127.0.0.1:$app" make --no-print-directory dev >"$out" 2>"$err" &
pgid=$!
setsid .venv/bin/python -m http.server "$app" --bind 127.0.0.1 --directory "$work/site" >/dev/null 2>&1 &
app_pid=$!
setsid .venv/bin/python -m http.server "$other" --bind 127.0.0.1 --directory "$work/site" >/dev/null 2>&1 &
other_pid=$!
cleanup() {
  kill -INT -- "-$pgid" 2>/dev/null || true
  kill -- "-$app_pid" "-$other_pid" 2>/dev/null || true
  wait "$pgid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
dev_wait_ready "$api" "$out" "$err" "$pgid"
.venv/bin/python scripts/browser-e2e.py "$api" "$app" "$other" "$err" || {
  echo "--- make dev stderr (tail)" >&2; tail -n 30 "$err" >&2; exit 1; }

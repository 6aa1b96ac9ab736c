#!/usr/bin/env bash
# Drives `make dev` from outside, as a newcomer would: start it on a free port, wait for
# "ready on", walk login → /hello → refresh → logout → refresh refused with curl, run authctl
# with the printed NAME=value lines, check the cross-site refusals (415, 403) and that the server's
# log at RUST_LOG=trace holds no password or password hash, then Ctrl-C (SIGINT to its process group) and check that
# nothing it started is left running or listening.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --quiet -p devserver -p authctl
. scripts/engines.sh
port=$(engines_free_port)
work=$(mktemp -d)
out="$work/out" err="$work/err"
setsid env PORT="$port" RUST_LOG=trace make --no-print-directory dev >"$out" 2>"$err" &
pgid=$!
fail() {
  echo "dev-smoke: FAIL: $*" >&2
  echo "--- stdout" >&2; cat "$out" >&2; echo "--- stderr" >&2; tail -n 20 "$err" >&2
  kill -TERM -- "-$pgid" 2>/dev/null || true
  exit 1
}
dev_wait_ready "$port" "$out" "$err" "$pgid" || fail "make dev not ready"
# The build's progress is cargo's own, on screen (a first run compiles for a minute or more).
grep -q "Finished \`dev\` profile" "$err" || fail "make dev hid cargo's output"
for name in AWS_REGION AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SECRETS_MANAGER USERS_TABLE SESSIONS_TABLE SIGNING_SECRET_ID; do
  grep -Eq "^$name=[^ \"']+$" "$out" || fail "no $name=value line"
done
base="http://127.0.0.1:$port"
jar="$work/jar"
code() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }
field() { python3 -c "import json,sys; print(json.load(open('$work/body'))['$1'])"; }

[ "$(code -c "$jar" -H 'Content-Type: application/json' -d '{"username":"demo","password":"demo-password-123"}' "$base/auth/login")" = 200 ] || fail "login"
access=$(field access_token)
[ "$(code -H "Authorization: Bearer $access" "$base/hello")" = 200 ] || fail "/hello with the token"
[ "$(field username)" = demo ] || fail "/hello username"
[ "$(code "$base/hello")" = 401 ] || fail "/hello without a token"
# The cookie is Secure, so curl would not send it over http: pass it by hand, as a browser on
# https would.
refresh=$(awk '$6 == "refresh_token" {print $7}' "$jar")
[ -n "$refresh" ] || fail "no refresh_token cookie stored"
[ "$(code -H "Cookie: refresh_token=$refresh" -X POST "$base/auth/refresh")" = 200 ] || fail "refresh"
rotated=$(field refresh_token)
# Cross-site: a form-encodable body logs nobody in; a foreign page cannot log anyone out.
[ "$(code -H 'Content-Type: text/plain' -d '{"username":"demo","password":"demo-password-123"}' "$base/auth/login")" = 415 ] \
  || fail "a text/plain login must be 415"
[ "$(field error)" = invalid_request ] || fail "415 body"
headers="$work/headers"
[ "$(curl -s -o "$work/body" -D "$headers" -w '%{http_code}' -H "Origin: https://evil.example" \
      -H "Cookie: refresh_token=$rotated" -X POST "$base/auth/logout")" = 403 ] || fail "a foreign-origin logout must be 403"
[ "$(field error)" = invalid_origin ] || fail "403 body"
grep -qi '^set-cookie' "$headers" && fail "a refused cross-site logout must not touch the cookie"
awk '$6 == "device_token" {found=1} END {exit !found}' "$jar" || fail "no device_token cookie stored"
[ "$(code -H "Cookie: refresh_token=$rotated" -X POST "$base/auth/logout")" = 204 ] || fail "logout"
[ "$(code -H "Cookie: refresh_token=$rotated" -X POST "$base/auth/refresh")" = 401 ] || fail "refresh after logout"

# Discovery: the issuer's documents, public and cacheable.
[ "$(code "$base/.well-known/openid-configuration")" = 200 ] || fail "discovery document"
[ "$(field jwks_uri)" = "$base/.well-known/jwks.json" ] || fail "jwks_uri on the host called"
[ "$(code "$base/.well-known/jwks.json")" = 200 ] || fail "key set"

# Accounts: sign up (make dev turns sign-up on), list and revoke a session, change the password.
new_password='violet kettle orbit 42'
[ "$(code -H 'Content-Type: application/json' -d "{\"username\":\"smoke-user\",\"password\":\"$new_password\"}" \
      "$base/auth/register")" = 201 ] || fail "register"
mine=$(field access_token)
[ "$(code -H 'Content-Type: application/json' -d '{"username":"smoke-user","password":"password1"}' \
      "$base/auth/register")" = 400 ] || fail "a weak password must be 400"
[ "$(field error)" = weak_password ] || fail "weak_password body"
[ "$(code -H 'Content-Type: application/json' -d "{\"username\":\"smoke-user\",\"password\":\"$new_password\"}" \
      -X POST "$base/auth/login")" = 200 ] || fail "login as the new user"
other=$(field session_id)
[ "$(code "$base/auth/sessions")" = 401 ] || fail "sessions without a token"
[ "$(code -H "Authorization: Bearer $mine" "$base/auth/sessions")" = 200 ] || fail "list sessions"
python3 -c "import json,sys; s=json.load(open('$work/body'))['sessions']; sys.exit(len(s) != 2 or sum(x['current'] for x in s) != 1)" \
  || fail "two sessions, one current"
[ "$(code -H "Authorization: Bearer $mine" -X DELETE "$base/auth/sessions/$other")" = 204 ] || fail "revoke a session"
[ "$(code -H "Authorization: Bearer $mine" -X DELETE "$base/auth/sessions/$other")" = 404 ] || fail "revoked twice"
[ "$(code -H "Authorization: Bearer $mine" -H 'Content-Type: application/json' \
      -d "{\"current_password\":\"$new_password\",\"new_password\":\"amber lantern quietly 77\"}" \
      -X POST "$base/auth/password")" = 204 ] || fail "change the password"
[ "$(code -H 'Content-Type: application/json' -d '{"username":"smoke-user","password":"amber lantern quietly 77"}' \
      -X POST "$base/auth/login")" = 200 ] || fail "login with the new password"

# A way back in: the mail stays here (/_dev/mail); verify and reset with the mailed tokens.
addr="smoke-mail@example.com"
json='Content-Type: application/json'
[ "$(code -H "$json" -d "{\"username\":\"smoke-mail\",\"password\":\"$new_password\",\"email\":\"$addr\"}" \
      "$base/auth/register")" = 201 ] || fail "register with an email"
mailer=$(field access_token)
[ "$(code -H "$json" -d "{\"username\":\"smoke-mail2\",\"password\":\"$new_password\",\"email\":\"$addr\"}" \
      "$base/auth/register")" = 409 ] || fail "a taken email must be 409"
[ "$(field error)" = email_taken ] || fail "email_taken body"
[ "$(code -H "Authorization: Bearer $mailer" "$base/auth/me")" = 200 ] || fail "GET /auth/me"
[ "$(field email)" = "$addr" ] || fail "/auth/me email"
[ "$(code "$base/auth/me")" = 401 ] || fail "/auth/me without a token"
[ "$(code -H "Authorization: Bearer $mailer" -H "$json" -d '{"email":"smoke-new@example.com","current_password":"wrong-one-1"}' \
      "$base/auth/email")" = 401 ] || fail "an address change with a wrong password must be 401"
mail_token() { # the token of the newest mail to $1 whose subject has $2
  curl -s "$base/_dev/mail" | python3 -c "import json,sys,re; m=[x for x in json.load(sys.stdin)['messages'] if x['to']=='$1' and '$2' in x['subject']]; print(re.search(r'#token=(\S+)', m[-1]['text']).group(1))"
}
[ "$(code "$base/_dev/mail")" = 200 ] || fail "GET /_dev/mail"
verify=$(mail_token "$addr" Confirm) || fail "no verification mail in /_dev/mail"
[ "$(code -H "$json" -d "{\"token\":\"$verify\"}" "$base/auth/email/verify")" = 204 ] || fail "verify the email"
[ "$(code -H "$json" -d "{\"token\":\"$verify\"}" "$base/auth/email/verify")" = 400 ] || fail "a used token must be 400"
[ "$(field error)" = invalid_token ] || fail "invalid_token body"
[ "$(code -H "$json" -d '{"email":"nobody-here@example.com"}' "$base/auth/password/forgot")" = 202 ] || fail "forgot, unknown address"
[ "$(code -H "$json" -d "{\"email\":\"$addr\"}" "$base/auth/password/forgot")" = 202 ] || fail "forgot"
[ "$(code -H "$json" -d '{"email":"not an address"}' "$base/auth/password/forgot")" = 400 ] || fail "a malformed address must be 400"
reset=$(mail_token "$addr" Reset) || fail "no reset mail in /_dev/mail"
[ "$(code -H "$json" -d "{\"token\":\"$reset\",\"new_password\":\"short\"}" "$base/auth/password/reset")" = 400 ] || fail "a weak reset must be 400"
[ "$(code -H "$json" -d "{\"token\":\"$reset\",\"new_password\":\"copper meadow whistle 8\"}" \
      "$base/auth/password/reset")" = 204 ] || fail "reset the password"
[ "$(code -H "$json" -d '{"username":"smoke-mail","password":"copper meadow whistle 8"}' "$base/auth/login")" = 200 ] \
  || fail "login after the reset"
curl -s "$base/dev-mail" | grep -q '/client/dev-mail.js' || fail "the /dev-mail page"

# A second factor, from outside: enrol with a computed code, log in in two steps, reset with
# authctl. totp SECRET OFFSET: the RFC 6238 code OFFSET seconds from now.
totp() {
  python3 -c "import base64,hashlib,hmac,struct,sys,time; k=base64.b32decode(sys.argv[1]+'='*(-len(sys.argv[1])%8)); d=hmac.new(k,struct.pack('>Q',int(time.time()+int(sys.argv[2]))//30),hashlib.sha1).digest(); o=d[-1]&15; print('%06d'%((struct.unpack('>I',d[o:o+4])[0]&0x7fffffff)%1000000))" "$1" "$2"
}
mfa_user=$(field access_token)
bearer="Authorization: Bearer $mfa_user"
[ "$(code -H "$bearer" -H "$json" -d '{"current_password":"wrong-one-1"}' "$base/auth/mfa/totp")" = 401 ] \
  || fail "TOTP enrolment with a wrong password must be 401"
[ "$(code -H "$bearer" -H "$json" -d '{"current_password":"copper meadow whistle 8"}' "$base/auth/mfa/totp")" = 200 ] \
  || fail "TOTP enrolment"
secret=$(field secret)
case "$(field otpauth_uri)" in otpauth://totp/*"secret=$secret&"*) ;; *) fail "otpauth_uri";; esac
[ "$(code -H "$bearer" -H "$json" -d '{"code":"12345x"}' "$base/auth/mfa/totp/confirm")" = 400 ] \
  || fail "a wrong confirmation code must be 400"
[ "$(field error)" = invalid_code ] || fail "invalid_code body"
[ "$(code -H "$bearer" -H "$json" -d "{\"code\":\"$(totp "$secret" 0)\"}" "$base/auth/mfa/totp/confirm")" = 200 ] \
  || fail "TOTP confirmation"
recovery=$(python3 -c "import json; print(json.load(open('$work/body'))['recovery_codes'][0])")
[ "$(code -H "$bearer" -H "$json" -d '{"current_password":"copper meadow whistle 8"}' "$base/auth/mfa/totp")" = 409 ] \
  || fail "a second enrolment must be 409"
[ "$(code -c "$work/mfa-jar" -H "$json" -d '{"username":"smoke-mail","password":"copper meadow whistle 8"}' "$base/auth/login")" = 403 ] \
  || fail "a TOTP user's right password must be 403"
[ "$(field error)" = mfa_required ] || fail "mfa_required body"
grep -q refresh_token "$work/mfa-jar" && fail "a cookie before the second factor"
mfa_token=$(field mfa_token)
[ "$(code -H "$json" -d "{\"mfa_token\":\"$mfa_token\",\"code\":\"000000\"}" "$base/auth/login/mfa")" = 401 ] \
  || fail "a wrong code must be 401"
[ "$(code -c "$work/mfa-jar" -H "$json" -d "{\"mfa_token\":\"$mfa_token\",\"code\":\"$(totp "$secret" 30)\"}" "$base/auth/login/mfa")" = 200 ] \
  || fail "the second step"
grep -q refresh_token "$work/mfa-jar" || fail "no refresh cookie after the second step"
[ "$(code -H "$json" -d "{\"mfa_token\":\"$mfa_token\",\"recovery_code\":\"$recovery\"}" "$base/auth/login/mfa")" = 401 ] \
  || fail "a used mfa_token must be 401"
[ "$(field error)" = invalid_grant ] || fail "invalid_grant body"
env -i PATH="$PATH" HOME="$HOME" $(grep -E '^[A-Z_]+=' "$out") "$target/debug/authctl" user mfa-reset smoke-mail \
  | grep -q "TOTP turned off" || fail "authctl user mfa-reset"
[ "$(code -H "$bearer" -X DELETE -H "$json" -d "{\"current_password\":\"copper meadow whistle 8\",\"code\":\"$recovery\"}" "$base/auth/mfa/totp")" = 409 ] \
  || fail "turning off TOTP that is off must be 409"
[ "$(code -H "$json" -d '{"username":"smoke-mail","password":"copper meadow whistle 8"}' "$base/auth/login")" = 200 ] \
  || fail "after mfa-reset the password alone logs in"

# Passkeys (the ceremonies themselves run in the browser test, with Chromium's authenticator):
# make dev names the localhost URL, the options, and the refusals a client without one meets.
grep -q "^# demo page with passkeys: http://localhost:$port/" "$out" || fail "make dev does not print the passkey demo URL"
[ "$(code -X POST -H "$json" -d '{}' "$base/auth/passkeys/register/options")" = 401 ] \
  || fail "registration options without a token must be 401"
[ "$(code -H "$bearer" -X POST -H "$json" -d '{}' "$base/auth/passkeys/register/options")" = 200 ] \
  || fail "registration options"
python3 - "$work/body" <<'PY' || fail "registration options' shape"
import json, sys
b = json.load(open(sys.argv[1]))
pk = b["publicKey"]
assert b["challenge_id"] and pk["rp"]["id"] == "localhost" and pk["challenge"]
assert pk["authenticatorSelection"]["residentKey"] == "required"
assert pk["authenticatorSelection"]["userVerification"] == "required"
PY
[ "$(code -X POST -H "$json" -d '{}' "$base/auth/passkeys/login/options")" = 200 ] || fail "login options"
challenge=$(field challenge_id)
[ "$(code -X POST -H "$json" -d "{\"challenge_id\":\"$challenge\",\"credential\":{\"id\":\"AA\",\"rawId\":\"AA\",\"type\":\"public-key\",\"response\":{}}}" "$base/auth/passkeys/login")" = 401 ] \
  || fail "a made-up assertion must be 401"
[ "$(field error)" = invalid_credential ] || fail "invalid_credential body"
[ "$(code -X POST -H "$json" -d '{"challenge_id":"x"}' "$base/auth/passkeys/login")" = 400 ] \
  || fail "a sign-in without a credential must be 400"
[ "$(code -H "$bearer" -X POST -H "$json" -d '{"challenge_id":"x","credential":{}}' "$base/auth/passkeys/register")" = 400 ] \
  || fail "a made-up registration must be 400"
[ "$(field error)" = invalid_credential ] || fail "registration's invalid_credential body"

# The local OpenID provider, one more engine, named provider `dev`: its discovery document.
oidc=$(sed -n 's/^OIDC_DEV_ISSUER=//p' "$out")
[ -n "$oidc" ] && grep -q "^# OpenID provider dev: $oidc$" "$out" || fail "make dev names no local OpenID provider"
[ "$(code "$oidc/.well-known/openid-configuration")" = 200 ] && [ "$(field issuer)" = "$oidc" ] \
  || fail "the local OpenID provider's discovery document"
# Sign in with dev, from outside as a browser would: start (302 to the provider, PKCE, the flow
# cookie), the provider's form, the callback (302 back with the refresh cookie), one refresh.
local="http://localhost:$port"
[ "$(curl -s -o /dev/null -D "$headers" -w '%{http_code}' "$local/auth/oauth/dev/start?redirect_to=$local/")" = 302 ] \
  || fail "GET /auth/oauth/dev/start must be 302"
authorize=$(sed -n 's/^location: //Ip' "$headers" | tr -d '\r')
flow=$(sed -n 's/^set-cookie: \(oauth_flow=[^;]*\);.*/\1/Ip' "$headers" | tr -d '\r')
case "$authorize" in "$oidc/oauth2/authorize?"*code_challenge_method=S256*) ;; *) fail "start's Location: $authorize" ;; esac
grep -qi '^set-cookie: oauth_flow=.*; HttpOnly; Secure; SameSite=Lax; Path=/auth/oauth; Max-Age=600' "$headers" \
  || fail "the flow cookie's attributes"
back=$(curl -s -o /dev/null -D - -d "sub=smoke-oidc" "$authorize" | sed -n 's/^location: //Ip' | tr -d '\r')
case "$back" in "$local/auth/oauth/dev/callback?code="*) ;; *) fail "the provider's redirect: $back" ;; esac
[ "$(curl -s -o /dev/null -D "$headers" -w '%{http_code}' -H "Cookie: $flow" "$back")" = 302 ] || fail "the callback must be 302"
grep -qi "^location: $local/\s*$" "$headers" || fail "the callback goes back to redirect_to: $(grep -i ^location "$headers")"
fed=$(sed -n 's/^set-cookie: \(refresh_token=[^;]*\);.*/\1/Ip' "$headers" | tr -d '\r')
[ -n "$fed" ] || fail "the callback sets the refresh cookie"
[ "$(code -X POST -H "Cookie: $fed" "$local/auth/refresh")" = 200 ] || fail "the federated session refreshes"
# Replayed: back to the app with #error=invalid_state, no cookie; unknown provider 404; a
# redirect_to off the allowlist 400; unlinking without a token 401.
[ "$(curl -s -o /dev/null -D "$headers" -w '%{http_code}' -H "Cookie: $flow" "$back")" = 302 ] || fail "a replayed callback must be 302"
grep -qi "^location: .*#error=invalid_state" "$headers" || fail "a replayed callback must say invalid_state"
grep -qi '^set-cookie: refresh_token=rt' "$headers" && fail "a replayed callback must set no session"
[ "$(code "$local/auth/oauth/nope/start?redirect_to=$local/")" = 404 ] || fail "an unknown provider must be 404"
[ "$(code "$local/auth/oauth/dev/start?redirect_to=https://evil.example/")" = 400 ] || fail "a foreign redirect_to must be 400"
[ "$(field error)" = invalid_request ] || fail "a foreign redirect_to: invalid_request"
[ "$(code -X DELETE "$local/auth/identities/dev")" = 401 ] || fail "unlinking without a token must be 401"

# authctl in "another shell", with only the printed lines (and dummy credentials).
vars=$(grep -E '^[A-Z_]+=' "$out")
env -i PATH="$PATH" HOME="$HOME" $vars "$target/debug/authctl" sessions list demo >"$work/sessions" \
  || fail "authctl sessions list with the printed variables"
grep -q '^SESSION_ID' "$work/sessions" || fail "authctl output"

# RUST_LOG=trace reached the server (its debug lines are there), which logged neither the
# password nor its stored hash (the SDK's GetItem responses carry it at debug and trace).
grep -q '"level":"DEBUG"' "$err" || fail "RUST_LOG=trace did not reach the server's log"
grep -q 'demo-password-123' "$err" && fail "the demo password is in the server's log"
grep -Eq 'violet kettle|amber lantern|copper meadow' "$err" && fail "a new password is in the server's log"
grep -q "$addr" "$err" && fail "an email address is in the server's log"
grep -Eq "$verify|$reset" "$err" && fail "a mailed token is in the server's log"
grep -q 'argon2id' "$err" && fail "a password hash is in the server's log"
grep -Eq "$secret|$recovery|$mfa_token" "$err" && fail "a TOTP secret, recovery code or mfa_token is in the server's log"

# Ctrl-C: SIGINT to the whole foreground process group.
kill -INT -- "-$pgid"
for _ in $(seq 1 100); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
kill -0 -- "-$pgid" 2>/dev/null && fail "processes left running after SIGINT"
for url in "$base" $(grep -E '^(AWS_ENDPOINT_URL|OIDC_DEV_ISSUER)' "$out" | cut -d= -f2); do
  p=${url##*:}
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail "port $p still bound after SIGINT"; fi
done
rm -rf "$work"
echo "dev-smoke: make dev served login, /hello, refresh, logout, register, sessions, password change, email verification and reset, TOTP, passkey options and refusals, sign-in with the local OpenID provider (and a replayed callback refused); authctl reached it; SIGINT stopped everything"

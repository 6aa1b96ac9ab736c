#!/usr/bin/env python3
"""Drives headless Chromium through the demo page against `make dev` (see browser-e2e.sh).

Usage: browser-e2e.py API_PORT APP_PORT OTHER_PORT DEV_SERVER_LOG
"""
import base64
import hashlib
import hmac
import struct
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

api_port, app_port, other_port, log_path = sys.argv[1:5]
api = f"http://127.0.0.1:{api_port}"


def check(cond, what):
    if not cond:
        print(f"browser-e2e: FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"browser-e2e: ok: {what}")


def refreshes():
    """POST /auth/refresh requests in the dev server's access log so far."""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if line.startswith("POST /auth/refresh "))


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_script_timeout(30)
wait = WebDriverWait(driver, 15)


def run(js):
    """Runs an async snippet in the page; `done(value)` returns it."""
    return driver.execute_async_script("const done = arguments[arguments.length - 1];" + js)


def page(url):
    driver.get(url)
    wait.until(lambda d: d.execute_script("return !!window.auth"))


def output():
    return driver.find_element(By.ID, "out").text


def totp(secret, at):
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def console_errors():
    """The browser console's errors since the last call (CSP violations, failed loads...)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


try:
    # Same origin: the page served by make dev.
    page(f"{api}/")
    driver.find_element(By.ID, "login").click()
    wait.until(lambda d: output() == "logged in")
    check(True, "logged in through the page")
    check("refresh_token" not in driver.execute_script("return document.cookie"),
          "document.cookie does not show the refresh token (HttpOnly)")
    driver.find_element(By.ID, "hello").click()
    wait.until(lambda d: '"username": "demo"' in output())
    check(True, "GET /hello through the page")
    errors = console_errors()
    check(errors == [], f"the demo page logs no error in the console: {errors}")
    csp = run("fetch('/').then(r => done(r.headers.get('content-security-policy')))")
    check("frame-ancestors 'none'" in (csp or "") and "unsafe-inline" not in csp,
          f"the demo page is sent with a Content-Security-Policy ({csp})")
    injected = run("const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
                   "document.body.append(s); setTimeout(() => done(window.pwned === 1), 100)")
    check(injected is False, "an injected inline script does not run (CSP)")
    console_errors()  # the CSP report of that refusal, expected

    driver.refresh()
    wait.until(lambda d: d.execute_script("return !!window.auth"))
    check(driver.execute_script("return auth.signedIn") is False, "a reload forgets the access token")
    before = refreshes()
    status = run("auth.fetch('/hello').then(r => done(r.status))")
    check(status == 200 and refreshes() == before + 1,
          f"after the reload the session came back from the cookie (status {status})")
    errors = console_errors()
    check(errors == [], f"no console error after the reload either: {errors}")
    leaked = run("const seen = [];"
                 "const real = window.fetch; window.fetch = (u, i) => { seen.push(new Headers((i || {}).headers).get('authorization')); return real('/health'); };"
                 "auth.fetch('https://evil.example/x').then(() => { window.fetch = real; done(seen); })")
    check(leaked == [None], f"the client sends no bearer token outside its baseUrl ({leaked})")

    time.sleep(32)  # ACCESS_TOKEN_TTL=1 plus the verifier's 30 s leeway
    before = refreshes()
    statuses = run("Promise.all([1,2,3,4,5].map(() => auth.fetch('/hello').then(r => r.status))).then(done)")
    after = refreshes()
    check(statuses == [200] * 5, f"five parallel calls after expiry all succeed: {statuses}")
    check(after - before == 1, f"with exactly one /auth/refresh ({after - before})")

    driver.find_element(By.ID, "sessions").click()
    wait.until(lambda d: "session(s)" in output())
    check(len(driver.find_elements(By.CSS_SELECTOR, "#session-list li")) >= 1, "sessions listed")

    driver.find_element(By.ID, "logout").click()
    wait.until(lambda d: output() == "logged out")
    status = run("auth.fetch('/hello').then(r => done(r.status))")
    check(status in (401, 403), f"after logout the next call is refused ({status})")

    # A way back in: sign up with an address, verify it and reset the password, every link
    # taken from the dev server's mail page (/dev-mail), as a user would.
    stamp = str(int(time.time() * 1000))
    name, email, new_password = f"reset{stamp}", f"reset{stamp}@example.com", "a brand new passphrase 7"

    def fill(**fields):
        for k, v in fields.items():
            driver.execute_script("document.getElementById(arguments[0]).value = arguments[1]", k, v)

    def mailed_link(subject):
        """The link of the newest mail to `email` with `subject`, from the /dev-mail page."""
        driver.get(f"{api}/dev-mail")
        def find(d):
            items = [li for li in d.find_elements(By.CSS_SELECTOR, "li.mail")
                     if email in li.text and subject in li.text]
            return items[-1].find_element(By.TAG_NAME, "a") if items else False
        return wait.until(find)

    console_errors()  # drain: the refusals above are expected
    page(f"{api}/")
    fill(username=name, password="violet kettle orbit 42", email=email)
    driver.find_element(By.ID, "register").click()
    wait.until(lambda d: "verification link was mailed" in output())
    driver.find_element(By.ID, "logout").click()
    wait.until(lambda d: output() == "logged out")
    link = mailed_link("Confirm your email address")
    check("/verify-email#token=" in link.get_attribute("href"), "the verification mail links to /verify-email#token=")
    link.click()
    wait.until(lambda d: output() == "email verified")
    check("token=" not in driver.current_url, f"the token left the address bar ({driver.current_url})")
    page(f"{api}/")
    fill(email=email)
    driver.find_element(By.ID, "forgot").click()
    wait.until(lambda d: "reset link is on its way" in output())
    link = mailed_link("Reset your password")
    check("/reset-password#token=" in link.get_attribute("href"), "the reset mail links to /reset-password#token=")
    link.click()
    wait.until(lambda d: d.find_element(By.ID, "reset-form").is_displayed())
    fill(**{"new-password": new_password})
    driver.find_element(By.ID, "reset").click()
    wait.until(lambda d: "password changed" in output())
    fill(username=name, password=new_password)
    driver.find_element(By.ID, "login").click()
    wait.until(lambda d: output() == "logged in")
    check(True, "a whole password reset through the demo page and /dev-mail; the new password logs in")
    errors = console_errors()
    check(errors == [], f"no console error on the recovery pages: {errors}")

    # A second factor: set up TOTP on the demo page (the secret read off the page as a user
    # would type it into an app), then log out and log in with the password and a code.
    driver.find_element(By.ID, "totp-enroll").click()
    wait.until(lambda d: "turn it on with a code" in output())
    secret = driver.find_element(By.ID, "totp-secret").text
    uri = driver.find_element(By.ID, "totp-uri").text
    check(len(secret) == 32 and uri.startswith("otpauth://totp/") and f"secret={secret}&" in uri,
          f"the page shows the secret and its otpauth:// URI ({uri[:40]}...)")
    now = time.time()
    fill(**{"totp-code": totp(secret, now)})
    driver.find_element(By.ID, "totp-confirm").click()
    wait.until(lambda d: "TOTP is on" in output())
    codes = driver.find_elements(By.CSS_SELECTOR, "#recovery-codes li")
    check(len(codes) == 10, f"turned on with a computed code; ten recovery codes shown ({len(codes)})")
    driver.find_element(By.ID, "logout").click()
    wait.until(lambda d: output() == "logged out")
    driver.find_element(By.ID, "login").click()
    wait.until(lambda d: "enter the code" in output())
    check(driver.find_element(By.ID, "mfa-step").is_displayed() and
          driver.execute_script("return auth.signedIn") is False,
          "the right password asks for the second factor, and is not yet a session")
    # Chromium reports every 4xx as a failed load: the contract's 403 mfa_required is one.
    errors = console_errors()
    check(all("/auth/login - " in e and "403" in e for e in errors), f"only the 403 of mfa_required: {errors}")
    fill(**{"mfa-login-code": totp(secret, now + 30)})  # the confirming code's step is spent
    driver.find_element(By.ID, "mfa-verify").click()
    wait.until(lambda d: output() == "logged in with two factors")
    driver.find_element(By.ID, "me").click()
    wait.until(lambda d: '"totp": true' in output())
    check('"recovery_codes_left": 10' in output(), "logged in with password + TOTP; /auth/me reports TOTP on")
    errors = console_errors()
    check(errors == [], f"no console error on the TOTP pages: {errors}")

    # Passkeys, with Chromium's virtual authenticator (DevTools WebAuthn domain): the page at
    # http://localhost:PORT (the relying party is localhost; an IP address cannot be one).
    local = f"http://localhost:{api_port}"
    page(f"{local}/")
    driver.execute_cdp_cmd("WebAuthn.enable", {"enableUI": False})
    authenticator = driver.execute_cdp_cmd("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
    }})["authenticatorId"]
    console_errors()
    driver.find_element(By.ID, "login").click()
    wait.until(lambda d: output() == "logged in")
    fill(**{"passkey-name": "laptop"})
    driver.find_element(By.ID, "passkey-add").click()
    wait.until(lambda d: output() != "logged in")
    check(output() == 'passkey "laptop" added', f"a passkey registered from the demo page ({output()})")
    listed = driver.find_elements(By.CSS_SELECTOR, "#passkeys li")
    check(len(listed) == 1 and "laptop" in listed[0].text, "and listed")
    passkey_id = listed[0].get_attribute("data-passkey-id")
    held = driver.execute_cdp_cmd("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    check(len(held) == 1 and held[0]["isResidentCredential"] and held[0]["rpId"] == "localhost",
          "the authenticator holds one discoverable credential for localhost")
    driver.find_element(By.ID, "logout").click()
    wait.until(lambda d: output() == "logged out")
    driver.find_element(By.ID, "passkey-login").click()
    wait.until(lambda d: "passkey" in output())
    check(output() == "logged in with a passkey", f"signed in with it, no username typed ({output()})")
    driver.find_element(By.ID, "hello").click()
    wait.until(lambda d: '"username": "demo"' in output())
    check(True, "GET /hello as demo after the passkey sign-in")
    errors = console_errors()
    check(errors == [], f"no console error registering and signing in with a passkey: {errors}")

    # Refusals from the browser: an assertion under another ceremony's challenge, then the same
    # assertion replayed after its own ceremony used it.
    statuses = run("""
      import('/client/auth-client.js').then(async (m) => {
        const post = (path, body) => fetch(path, {method: 'POST', headers: {'content-type': 'application/json'},
          body: JSON.stringify(body)});
        const a = await (await post('/auth/passkeys/login/options', {})).json();
        const b = await (await post('/auth/passkeys/login/options', {})).json();
        const got = await navigator.credentials.get({publicKey: m.requestOptionsFromJSON(a.publicKey)});
        const credential = m.credentialToJSON(got);
        const statusOf = async (id, c) => (await post('/auth/passkeys/login', {challenge_id: id, credential: c})).status;
        const other = await statusOf(b.challenge_id, credential);
        const ownResp = await post('/auth/passkeys/login', {challenge_id: a.challenge_id, credential});
        const own = ownResp.status;
        const token = (await ownResp.json()).access_token;
        const amr = JSON.parse(new TextDecoder().decode(m.base64urlDecode(token.split('.')[1]))).amr;
        const replay = await statusOf(a.challenge_id, credential);
        // The same assertion with another origin written into its clientDataJSON.
        const c = await (await post('/auth/passkeys/login/options', {})).json();
        const fresh = m.credentialToJSON(await navigator.credentials.get({publicKey: m.requestOptionsFromJSON(c.publicKey)}));
        const data = JSON.parse(new TextDecoder().decode(m.base64urlDecode(fresh.response.clientDataJSON)));
        data.origin = 'https://evil.example';
        fresh.response.clientDataJSON = m.base64urlEncode(new TextEncoder().encode(JSON.stringify(data)));
        const foreign = await statusOf(c.challenge_id, fresh);
        done([other, own, replay, foreign, amr]);
      }).catch((e) => done(String(e)));
    """)
    check(statuses == [401, 200, 401, 401, ["hwk", "mfa"]],
          f"another challenge 401, its own 200 (amr hwk + mfa), replayed 401, a foreign origin 401 ({statuses})")
    console_errors()  # the refusals' 401s

    # Another user cannot remove it (404); its owner can, and then it signs nobody in.
    other_user = f"pk{stamp}"
    result = run(f"auth.register('{other_user}', 'violet kettle orbit 42')"
                 f".then(() => auth.deletePasskey('{passkey_id}')).then(() => done('removed'), e => done(e.status))")
    check(result == 404, f"another user's DELETE of that passkey id is 404 ({result})")
    run("auth.logout().then(() => auth.login('demo', 'demo-password-123')).then(() => done(1))")
    driver.find_element(By.ID, "passkey-list").click()
    wait.until(lambda d: output() == "1 passkey(s)")
    driver.find_element(By.CSS_SELECTOR, "#passkeys li button").click()
    wait.until(lambda d: output() == "passkey removed")
    driver.find_element(By.ID, "logout").click()
    wait.until(lambda d: output() == "logged out")
    driver.find_element(By.ID, "passkey-login").click()
    wait.until(lambda d: "invalid_credential" in output())
    check(output().startswith("401"), f"a deleted passkey signs nobody in ({output()})")
    console_errors()
    driver.execute_cdp_cmd("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})

    # "Sign in with dev": the demo page through make dev's local OpenID provider (its own
    # page, submitted as a person would), back to the demo page, then /hello.
    page(f"{local}/")
    run("auth.logout().then(() => done(1), () => done(0))")
    driver.find_element(By.ID, "oauth-login").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=sub]"))
    provider_page = driver.current_url
    check("/oauth2/authorize?" in provider_page and "code_challenge_method=S256" in provider_page
          and "state=" in provider_page and "nonce=" in provider_page,
          "the demo page sent the browser to the provider with PKCE S256, state and nonce")
    fed_sub = f"oidc-{stamp}"
    driver.find_element(By.CSS_SELECTOR, "input[name=sub]").send_keys(fed_sub)
    driver.find_element(By.CSS_SELECTOR, "input[name=sub]").submit()
    wait.until(lambda d: d.current_url.startswith(f"{local}/") and "dev" in output())
    check(output() == "signed in with dev", f"back on the demo page, signed in with dev ({output()})")
    check("#" not in driver.current_url and "code=" not in driver.current_url,
          f"no code, state or token left in the page's URL ({driver.current_url})")
    result = run("auth.fetch('/hello').then(r => r.json()).then(b => done(b), e => done(String(e)))")
    check(isinstance(result, dict) and result.get("username", "").startswith("dev-"),
          f"GET /hello as the new federated user ({result})")
    me = run("auth.me().then(done, e => done(String(e)))")
    check(isinstance(me, dict) and [i["provider"] for i in me.get("identities", [])] == ["dev"],
          f"/auth/me lists the dev identity ({me})")
    # (The local provider's own page loads a stylesheet from a CDN and has no favicon: its
    # errors are its own, not ours.)
    provider_origin = "/".join(provider_page.split("/")[:3])
    errors = [e for e in console_errors()
              if not e.startswith((provider_origin, "https://cdn.jsdelivr.net/"))]
    check(errors == [], f"no console error signing in through the provider: {errors}")

    # A login CSRF: an attacker's own callback URL (their code and state) opened in this
    # browser, which lacks their flow cookie: refused, and no session as the attacker.
    import http.client
    import urllib.parse
    run("auth.logout().then(() => done(1), () => done(0))")
    conn = http.client.HTTPConnection("localhost", int(api_port))
    conn.request("GET", f"/auth/oauth/dev/start?redirect_to={urllib.parse.quote(local + '/')}")
    authorize = conn.getresponse().getheader("location")
    parts = urllib.parse.urlsplit(authorize)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    conn.request("POST", f"{parts.path}?{parts.query}", body=f"sub=attacker-{stamp}",
                 headers={"content-type": "application/x-www-form-urlencoded"})
    attackers_callback = conn.getresponse().getheader("location")
    check(attackers_callback.startswith(f"{local}/auth/oauth/dev/callback?code="),
          "the attacker holds a callback URL with their code and state")
    driver.get(attackers_callback)
    wait.until(lambda d: d.execute_script("return !!window.auth"))
    wait.until(lambda d: "invalid_state" in output())
    signed = run("auth.fetch('/auth/me').then(r => done(r.status), e => done(String(e)))")
    check(signed in (401, 403), f"the attacker's callback signed this browser in as no one ({output()}, /auth/me {signed})")
    console_errors()

    # A second origin, allowed by CORS_ALLOW_ORIGIN (another port of the same site).
    page(f"http://127.0.0.1:{app_port}/?api={api}")
    console_errors()
    result = run("auth.login('demo', 'demo-password-123')"
                 ".then(() => auth.fetch('/hello')).then(r => done(r.status), e => done(String(e)))")
    check(result == 200, f"the allowed origin logs in and calls /hello cross-origin ({result})")
    reloaded = run("location.reload(); done(1)")
    wait.until(lambda d: d.execute_script("return !!window.auth"))
    status = run("auth.fetch('/hello').then(r => done(r.status), e => done(String(e)))")
    check(status == 200, f"the cookie works cross-origin too: session restored after reload ({status})")

    # A third origin, not allowed: the browser refuses the answers.
    page(f"http://127.0.0.1:{other_port}/?api={api}")
    result = run("auth.login('demo', 'demo-password-123').then(() => done('allowed'), e => done(String(e)))")
    check(result != "allowed" and "TypeError" in result, f"an origin not allowed cannot log in ({result})")
    result = run("auth.fetch('/hello').then(r => done(r.status), e => done(String(e)))")
    check(result != 200, f"nor call the API ({result})")
finally:
    driver.quit()
print("browser-e2e: passed")

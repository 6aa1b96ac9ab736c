#!/usr/bin/env python3
"""Records a real browser's passkey ceremonies for tests/fixtures/webauthn/ (run by hand; the
fixtures are committed): headless Chromium's virtual authenticator (CTAP2, internal, resident
key, user verification) registers a passkey for the demo user of a running `make dev` and signs
in with it. Saved per ceremony: the options, the server state the service kept (read from
DynamoDB Local before the answer is sent), and the browser's `toJSON()` answer. Nothing is
sent to the service, so the ceremonies stay unspent and the test replays them offline.

Usage: record-webauthn-fixture.py PORT DEV_STDOUT OUT.json
"""
import base64
import json
import sys

import boto3
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

port, dev_stdout, out_path = sys.argv[1:4]
env = dict(line.strip().split("=", 1) for line in open(dev_stdout) if "=" in line and not line.startswith("#"))
dynamodb = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"], region_name=env["AWS_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def state_of(challenge_id):
    item = dynamodb.get_item(TableName=env["SESSIONS_TABLE"], ConsistentRead=True,
                             Key={"username": {"S": f"#webauthn#{challenge_id}"}, "session_id": {"S": "ceremony"}})["Item"]
    return base64.urlsafe_b64encode(item["state"]["B"]).decode().rstrip("=")


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_script_timeout(30)
try:
    origin = f"http://localhost:{port}"
    driver.get(f"{origin}/")
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return !!window.auth"))
    driver.execute_cdp_cmd("WebAuthn.enable", {"enableUI": False})
    driver.execute_cdp_cmd("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}})
    run = lambda js: driver.execute_async_script("const done = arguments[arguments.length - 1];" + js)
    reg_options = run("""auth.login('demo', 'demo-password-123').then(() => auth.fetch('/auth/passkeys/register/options',
        {method: 'POST', headers: {'content-type': 'application/json'}, body: '{}'})).then(r => r.json()).then(done)""")
    user = run("auth.me().then(done)")
    reg_state = state_of(reg_options["challenge_id"])
    registration = run("""import('/client/auth-client.js').then(async (m) => done(m.credentialToJSON(
        await navigator.credentials.create({publicKey: m.creationOptionsFromJSON(arguments[0])}))))""".replace(
        "arguments[0]", json.dumps(reg_options["publicKey"])))
    login_options = run("""fetch('/auth/passkeys/login/options', {method: 'POST',
        headers: {'content-type': 'application/json'}, body: '{}'}).then(r => r.json()).then(done)""")
    login_state = state_of(login_options["challenge_id"])
    assertion = run("""import('/client/auth-client.js').then(async (m) => done(m.credentialToJSON(
        await navigator.credentials.get({publicKey: m.requestOptionsFromJSON(arguments[0])}))))""".replace(
        "arguments[0]", json.dumps(login_options["publicKey"])))
    fixture = {
        "recorded_with": driver.capabilities.get("browserVersion"),
        "rp_id": "localhost", "origin": origin, "user_id": user["sub"],
        "registration": {"options": reg_options["publicKey"], "state": reg_state, "credential": registration},
        "login": {"options": login_options["publicKey"], "state": login_state, "credential": assertion},
    }
    with open(out_path, "w") as f:
        json.dump(fixture, f, indent=2)
        f.write("\n")
    print(f"recorded {out_path}")
finally:
    driver.quit()

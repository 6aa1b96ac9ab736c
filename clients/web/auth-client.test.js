// Unit tests of auth-client.js with node's built-in runner and a fake fetch:
//   node --test clients/web/
import { test } from "node:test";
import assert from "node:assert/strict";

import { createAuthClient, AuthError } from "./auth-client.js";

/**
 * A fake API: access tokens `at-N`; the refresh "cookie" is `live` until refused. Records
 * every call. `accept(token)` decides whether a protected call is allowed.
 */
function fakeApi({ refreshOk = true, refreshDelay = 10 } = {}) {
  const calls = [];
  let issued = 0;
  let valid = new Set();
  const api = {
    calls,
    refreshOk,
    expireAll() {
      valid = new Set();
    },
    refreshes: () => calls.filter((c) => c.url.endsWith("/auth/refresh")).length,
    fetch: async (url, init = {}) => {
      const headers = new Headers(init.headers || {});
      calls.push({ url: String(url), init, auth: headers.get("authorization") });
      assert.equal(init.credentials, "include", `credentials on ${url}`);
      const json = (status, body) =>
        new Response(body === undefined ? null : JSON.stringify(body), {
          status,
          headers: { "content-type": "application/json" },
        });
      const tokens = () => {
        const token = `at-${++issued}`;
        valid.add(token);
        return json(200, { access_token: token, session_id: "s1", expires_in: 900 });
      };
      if (url.endsWith("/auth/login")) {
        const body = JSON.parse(init.body);
        return body.password === "right" ? tokens() : json(401, { error: "invalid_credentials" });
      }
      if (url.endsWith("/auth/refresh")) {
        await new Promise((r) => setTimeout(r, refreshDelay));
        return api.refreshOk ? tokens() : json(401, { error: "invalid_grant" });
      }
      if (url.endsWith("/auth/logout")) return new Response(null, { status: 204 });
      const token = (headers.get("authorization") || "").replace(/^Bearer /, "");
      return valid.has(token) ? json(200, { ok: true }) : json(403, { message: "Forbidden" });
    },
  };
  return api;
}

test("fetch adds the bearer header and sends credentials", async () => {
  const api = fakeApi();
  const client = createAuthClient({ baseUrl: "https://api.example/", fetch: api.fetch });
  await client.login("ana", "right");
  const resp = await client.fetch("/hello");
  assert.equal(resp.status, 200);
  const call = api.calls.at(-1);
  assert.equal(call.url, "https://api.example/hello");
  assert.equal(call.auth, "Bearer at-1");
  assert.equal(api.refreshes(), 0);
});

test("concurrent calls with an expired token share one refresh, and each retries once", async () => {
  const api = fakeApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await client.login("ana", "right");
  api.expireAll();
  const results = await Promise.all([1, 2, 3, 4, 5].map(() => client.fetch("/hello")));
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200]);
  assert.equal(api.refreshes(), 1);
  const hellos = api.calls.filter((c) => c.url.endsWith("/hello"));
  assert.equal(hellos.length, 10, "each call: one try, one retry");
  assert.ok(hellos.slice(5).every((c) => c.auth === "Bearer at-2"));
});

test("a refused refresh is not retried in a loop, and the refusal is returned", async () => {
  const api = fakeApi({ refreshOk: false });
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await client.login("ana", "right");
  api.expireAll();
  const results = await Promise.all([1, 2, 3].map(() => client.fetch("/hello")));
  assert.deepEqual(results.map((r) => r.status), [403, 403, 403]);
  assert.equal(api.refreshes(), 1);
  assert.equal(client.signedIn, false);
  // Signed out now: the next call tries the cookie once more, then gives up.
  const again = await client.fetch("/hello");
  assert.equal(again.status, 403);
  assert.equal(api.refreshes(), 2);
  assert.equal(api.calls.filter((c) => c.url.endsWith("/hello")).length, 4);
});

test("a call still refused after the refresh is returned, not retried again", async () => {
  const api = fakeApi();
  const admin = [];
  const forbidding = async (url, init) => {
    if (!String(url).endsWith("/admin")) return api.fetch(url, init);
    admin.push(url);
    return new Response(null, { status: 403 });
  };
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: forbidding });
  await client.login("ana", "right");
  const resp = await client.fetch("/admin");
  assert.equal(resp.status, 403);
  assert.equal(api.refreshes(), 1);
  assert.equal(admin.length, 2, "one try, one retry, then the answer");
});

test("after a reload the first call restores the session from the cookie", async () => {
  const api = fakeApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  assert.equal(client.signedIn, false);
  const resp = await client.fetch("/hello");
  assert.equal(resp.status, 200);
  assert.equal(api.calls[0].url, "https://api.example/auth/refresh");
  assert.equal(api.calls[1].auth, "Bearer at-1");
});

test("logout forgets the token and the next call is refused", async () => {
  const api = fakeApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await client.login("ana", "right");
  await client.logout({ allDevices: true });
  const logout = api.calls.find((c) => c.url.endsWith("/auth/logout"));
  assert.deepEqual(JSON.parse(logout.init.body), { all_devices: true });
  assert.equal(client.signedIn, false);
  api.refreshOk = false; // the cookie was cleared
  const resp = await client.fetch("/hello");
  assert.equal(resp.status, 403);
});

test("errors carry the contract's code", async () => {
  const api = fakeApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await assert.rejects(client.login("ana", "wrong"), (e) => {
    assert.ok(e instanceof AuthError);
    assert.equal(e.status, 401);
    assert.equal(e.error, "invalid_credentials");
    return true;
  });
  assert.equal(client.signedIn, false);
});

test("the bearer token goes only to URLs under baseUrl", async () => {
  const seen = [];
  const fetch = async (url, init = {}) => {
    const headers = new Headers(init.headers || {});
    seen.push({ url: String(url), auth: headers.get("authorization"), credentials: init.credentials });
    if (String(url).endsWith("/auth/login")) {
      return new Response(JSON.stringify({ access_token: "at-1", session_id: "s1", expires_in: 900 }), {
        status: 200,
      });
    }
    return new Response("{}", { status: 200 });
  };
  const client = createAuthClient({ baseUrl: "https://api.example/prod", fetch });
  await client.login("ana", "right");
  for (const url of [
    "https://evil.example/x",
    "//evil.example/x",
    "https://api.example.evil.example/prod/x",
    "https://api.example/other",
    "https://api.example/prod/../other",
    "https://api.example/production",
    "http://api.example/prod/x",
    new URL("https://evil.example/y"),
    new Request("https://evil.example/z"),
  ]) {
    seen.length = 0;
    await client.fetch(url);
    assert.equal(seen.length, 1, String(url));
    assert.equal(seen[0].auth, null, `no bearer to ${url}`);
    assert.notEqual(seen[0].credentials, "include", `no API cookies to ${url}`);
  }
  for (const url of ["/hello", "https://api.example/prod/hello", new URL("https://api.example/prod/x")]) {
    seen.length = 0;
    await client.fetch(url);
    assert.equal(seen[0].auth, "Bearer at-1", String(url));
  }
  // With no baseUrl and no page origin: same-origin paths only.
  const local = createAuthClient({ baseUrl: "", fetch });
  await local.login("ana", "right");
  seen.length = 0;
  await local.fetch("//evil.example/x");
  await local.fetch("https://evil.example/x");
  assert.deepEqual(seen.map((c) => c.auth), [null, null]);
  seen.length = 0;
  await local.fetch("/hello");
  assert.equal(seen[0].auth, "Bearer at-1");
});

/** A fake of the email routes: records each call and answers as the contract says. */
function emailApi() {
  const calls = [];
  const json = (status, body) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  return {
    calls,
    fetch: async (url, init = {}) => {
      const headers = new Headers(init.headers || {});
      const body = init.body ? JSON.parse(init.body) : undefined;
      calls.push({ url: String(url), method: init.method || "GET", body, auth: headers.get("authorization") });
      if (url.endsWith("/auth/register")) {
        return json(201, { access_token: "at-1", session_id: "s1", expires_in: 900 });
      }
      if (url.endsWith("/auth/refresh")) return json(401, { error: "invalid_grant" });
      if (url.endsWith("/auth/me")) {
        return headers.get("authorization") === "Bearer at-1"
          ? json(200, { username: "ana", email: "ana@example.com", email_verified: false })
          : json(401, { error: "invalid_token" });
      }
      if (url.endsWith("/auth/password/forgot") || url.endsWith("/auth/email")) return json(202, {});
      if (url.endsWith("/auth/password/reset") || url.endsWith("/auth/email/verify")) {
        return body.token === "good"
          ? new Response(null, { status: 204 })
          : json(400, { error: "invalid_token", error_description: "The link is invalid." });
      }
      return json(404, { error: "not_found" });
    },
  };
}

test("register sends the address; me() reads the profile with the access token", async () => {
  const api = emailApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await client.register("ana", "a long passphrase", { email: "ana@example.com" });
  assert.deepEqual(api.calls[0].body, { username: "ana", password: "a long passphrase", email: "ana@example.com" });
  const me = await client.me();
  assert.equal(me.email, "ana@example.com");
  assert.equal(api.calls.at(-1).auth, "Bearer at-1");
  await client.changeEmail("new@example.com", "a long passphrase");
  assert.deepEqual(api.calls.at(-1).body, { email: "new@example.com", current_password: "a long passphrase" });
  assert.equal(api.calls.at(-1).auth, "Bearer at-1");
});

test("forgot, reset and verify post the token in the body, never in a URL", async () => {
  const api = emailApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await client.forgotPassword("ana@example.com");
  await client.verifyEmail("good");
  await client.resetPassword("good", "another passphrase");
  assert.deepEqual(
    api.calls.map((c) => [c.method, c.url]),
    [
      ["POST", "https://api.example/auth/password/forgot"],
      ["POST", "https://api.example/auth/email/verify"],
      ["POST", "https://api.example/auth/password/reset"],
    ],
  );
  assert.deepEqual(api.calls[2].body, { token: "good", new_password: "another passphrase" });
  for (const c of api.calls) assert.equal(c.auth, null, "no bearer on the public routes");
  await assert.rejects(client.verifyEmail("used"), (e) => e instanceof AuthError && e.status === 400 && e.error === "invalid_token");
  await assert.rejects(client.resetPassword("used", "x"), (e) => e.error === "invalid_token");
});

test("a reset forgets the access token this page held", async () => {
  const api = emailApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await client.register("ana", "a long passphrase");
  assert.equal(client.signedIn, true);
  await client.resetPassword("good", "another passphrase");
  assert.equal(client.signedIn, false);
});

/** A fake API with TOTP on for `ana`: login answers mfa_required; the second step takes 123456. */
function mfaApi() {
  const calls = [];
  const json = (status, body) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  return {
    calls,
    fetch: async (url, init = {}) => {
      const body = init.body ? JSON.parse(init.body) : {};
      calls.push({ url: String(url), body, method: init.method || "GET" });
      if (url.endsWith("/auth/login")) {
        return json(403, {
          error: "mfa_required",
          error_description: "A second factor is required.",
          mfa_token: "mt-1",
          expires_in: 300,
        });
      }
      if (url.endsWith("/auth/login/mfa")) {
        const right = body.mfa_token === "mt-1" && (body.code === "123456" || body.recovery_code === "abcd-efgh-ijkl-mnop");
        return right
          ? json(200, { access_token: "at-mfa", session_id: "s9", expires_in: 900 })
          : json(401, { error: "invalid_code", error_description: "The code is incorrect." });
      }
      if (url.endsWith("/auth/refresh")) return json(401, { error: "invalid_grant" });
      if (url.endsWith("/auth/mfa/totp") && init.method === "POST") {
        return body.current_password === "right"
          ? json(200, { secret: "JBSWY3DPEHPK3PXP", otpauth_uri: "otpauth://totp/x:ana?secret=JBSWY3DPEHPK3PXP" })
          : json(401, { error: "invalid_credentials", error_description: "Wrong." });
      }
      if (url.endsWith("/auth/mfa/totp/confirm")) {
        return body.code === "123456"
          ? json(200, { recovery_codes: Array.from({ length: 10 }, (_, i) => `code-${i}`) })
          : json(400, { error: "invalid_code", error_description: "No." });
      }
      if (url.endsWith("/auth/mfa/recovery-codes")) return json(200, { recovery_codes: ["n-1"] });
      if (url.endsWith("/auth/mfa/totp") && init.method === "DELETE") {
        return body.code === "123456" ? new Response(null, { status: 204 }) : json(401, { error: "invalid_code" });
      }
      return json(404, { error: "not_found" });
    },
  };
}

test("login resolves mfaRequired with the token, and loginMfa completes it", async () => {
  const api = mfaApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  const first = await client.login("ana", "right");
  assert.deepEqual(first, { mfaRequired: true, mfaToken: "mt-1", expiresIn: 300 });
  assert.equal(client.signedIn, false, "no session before the second factor");
  await assert.rejects(client.loginMfa("mt-1", "000000"), (e) => e instanceof AuthError && e.error === "invalid_code");
  const done = await client.loginMfa("mt-1", " 123 456 ");
  assert.deepEqual(done, { mfaRequired: false, sessionId: "s9", expiresIn: 900 });
  assert.equal(client.signedIn, true);
  assert.deepEqual(api.calls.find((c) => c.url.endsWith("/auth/login/mfa") && c.body.code === "123456").body, {
    mfa_token: "mt-1",
    code: "123456",
  });
  // Anything but six digits is a recovery code.
  await client.loginMfa("mt-1", "abcd-efgh-ijkl-mnop");
  assert.deepEqual(api.calls.at(-1).body, { mfa_token: "mt-1", recovery_code: "abcd-efgh-ijkl-mnop" });
});

test("enrolment, confirmation and turning TOTP off go to the MFA routes with the token", async () => {
  const api = mfaApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await client.loginMfa("mt-1", "123456");
  const enrolment = await client.enrollTotp("right");
  assert.deepEqual(enrolment, {
    secret: "JBSWY3DPEHPK3PXP",
    otpauthUri: "otpauth://totp/x:ana?secret=JBSWY3DPEHPK3PXP",
  });
  const codes = await client.confirmTotp("123456");
  assert.equal(codes.length, 10);
  assert.deepEqual(await client.regenerateRecoveryCodes("123456"), ["n-1"]);
  await client.disableTotp("right", "123456");
  const off = api.calls.at(-1);
  assert.equal(off.method, "DELETE");
  assert.deepEqual(off.body, { current_password: "right", code: "123456" });
});

test("a wrong password or code on an account route is answered once, never re-sent", async () => {
  const api = mfaApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  await client.loginMfa("mt-1", "123456");
  await assert.rejects(client.enrollTotp("wrong"), (e) => e.status === 401 && e.error === "invalid_credentials");
  await assert.rejects(client.disableTotp("right", "999999"), (e) => e.error === "invalid_code");
  const sent = (path) => api.calls.filter((c) => c.url.endsWith(path)).length;
  assert.equal(sent("/auth/mfa/totp"), 2, "one request each: a retry would count twice against the lockout");
  assert.equal(sent("/auth/refresh"), 0);
});

test("passkeys are listed and deleted by id, the id escaped into the path", async () => {
  const calls = [];
  const fetch = async (url, init = {}) => {
    calls.push({ url: String(url), method: init.method || "GET" });
    if (url.endsWith("/auth/refresh")) {
      return new Response(JSON.stringify({ access_token: "at-1", session_id: "s", expires_in: 900 }), { status: 200 });
    }
    if (url.endsWith("/auth/passkeys")) {
      return new Response(JSON.stringify({ passkeys: [{ passkey_id: "k_1", name: "laptop", created_at: "x", last_used_at: null }] }), { status: 200 });
    }
    return url.endsWith("/auth/passkeys/k_1")
      ? new Response(null, { status: 204 })
      : new Response(JSON.stringify({ error: "not_found", error_description: "No such passkey." }), { status: 404 });
  };
  const client = createAuthClient({ baseUrl: "https://api.example", fetch });
  const keys = await client.passkeys();
  assert.deepEqual(keys.map((k) => k.passkey_id), ["k_1"]);
  await client.deletePasskey("k_1");
  await assert.rejects(client.deletePasskey("../sessions"), (e) => e.status === 404 && e.error === "not_found");
  assert.equal(calls.at(-1).url, "https://api.example/auth/passkeys/..%2Fsessions");
  assert.equal(calls.at(-1).method, "DELETE");
});

// Passkeys: the WebAuthn JSON forms both ways, with the browser's own converters absent (the
// fallback) or present.

import {
  base64urlDecode,
  base64urlEncode,
  creationOptionsFromJSON,
  credentialToJSON,
} from "./auth-client.js";

/** A fake API for the passkey routes, recording each call's body. */
function passkeyApi() {
  const calls = [];
  const json = (status, body) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  return {
    calls,
    fetch: async (url, init = {}) => {
      const body = init.body ? JSON.parse(init.body) : undefined;
      calls.push({ url: String(url), body, auth: new Headers(init.headers || {}).get("authorization") });
      if (url.endsWith("/auth/login")) return json(200, { access_token: "at-1", session_id: "s1", expires_in: 900 });
      if (url.endsWith("/auth/passkeys/register/options")) {
        return json(200, {
          challenge_id: "c-reg",
          publicKey: {
            challenge: "AQID",
            rp: { id: "localhost", name: "demo" },
            user: { id: "BAUG", name: "ana", displayName: "" },
            pubKeyCredParams: [{ type: "public-key", alg: -7 }],
            excludeCredentials: [{ type: "public-key", id: "BwgJ" }],
          },
        });
      }
      if (url.endsWith("/auth/passkeys/register")) {
        return json(201, { passkey_id: body.credential.id, name: body.name, created_at: "2026-11-28T00:00:00Z" });
      }
      if (url.endsWith("/auth/passkeys/login/options")) {
        return json(200, { challenge_id: "c-login", publicKey: { challenge: "CgsM", userVerification: "required" } });
      }
      if (url.endsWith("/auth/passkeys/login")) {
        return body.credential.response.signature === "c2ln"
          ? json(200, { access_token: "at-pk", session_id: "s2", expires_in: 900 })
          : json(401, { error: "invalid_credential" });
      }
      if (url.endsWith("/hello")) return json(200, { ok: true });
      return json(404, { error: "not_found" });
    },
  };
}

const bytes = (...b) => new Uint8Array(b).buffer;

test("base64url round-trips bytes without padding", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const text = base64urlEncode(all);
  assert.ok(!/[+/=]/.test(text));
  assert.deepEqual(new Uint8Array(base64urlDecode(text)), all);
  assert.equal(base64urlEncode(bytes(0xfb, 0xff)), "-_8");
});

test("registerPasskey converts the options by hand, sends toJSON's form and the name", async () => {
  const api = passkeyApi();
  let created;
  const credentials = {
    create: async (opts) => {
      created = opts;
      return {
        id: "DQ4P",
        rawId: bytes(13, 14, 15),
        type: "public-key",
        authenticatorAttachment: "platform",
        getClientExtensionResults: () => ({}),
        response: {
          clientDataJSON: bytes(1),
          attestationObject: bytes(2, 3),
          getTransports: () => ["internal"],
        },
      };
    },
  };
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch, credentials });
  await client.login("ana", "right");
  const passkey = await client.registerPasskey("laptop");
  assert.equal(passkey.passkey_id, "DQ4P");
  // The options as create() needs them: bytes where the JSON had base64url.
  assert.deepEqual(new Uint8Array(created.publicKey.challenge), new Uint8Array([1, 2, 3]));
  assert.deepEqual(new Uint8Array(created.publicKey.user.id), new Uint8Array([4, 5, 6]));
  assert.deepEqual(new Uint8Array(created.publicKey.excludeCredentials[0].id), new Uint8Array([7, 8, 9]));
  const sent = api.calls.find((c) => c.url.endsWith("/auth/passkeys/register"));
  assert.equal(sent.auth, "Bearer at-1", "registration is behind the authorizer");
  assert.deepEqual(sent.body, {
    challenge_id: "c-reg",
    name: "laptop",
    credential: {
      id: "DQ4P",
      rawId: "DQ4P",
      type: "public-key",
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
      response: { clientDataJSON: "AQ", attestationObject: "AgM", transports: ["internal"] },
    },
  });
});

test("loginWithPasskey signs in without a username and the token then works", async () => {
  const api = passkeyApi();
  let asked;
  const credentials = {
    get: async (opts) => {
      asked = opts;
      return {
        id: "DQ4P",
        rawId: bytes(13, 14, 15),
        type: "public-key",
        authenticatorAttachment: null,
        response: {
          clientDataJSON: bytes(1),
          authenticatorData: bytes(5),
          signature: bytes(0x73, 0x69, 0x67, 0x6e).slice(0, 3),
          userHandle: bytes(4, 5, 6),
        },
      };
    },
  };
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch, credentials });
  const result = await client.loginWithPasskey();
  assert.deepEqual(result, { mfaRequired: false, sessionId: "s2", expiresIn: 900 });
  assert.equal(asked.publicKey.allowCredentials, undefined, "discoverable: no list");
  assert.deepEqual(new Uint8Array(asked.publicKey.challenge), new Uint8Array([10, 11, 12]));
  const sent = api.calls.find((c) => c.url.endsWith("/auth/passkeys/login"));
  assert.equal(sent.auth, null, "no bearer on the sign-in");
  assert.equal(sent.body.challenge_id, "c-login");
  assert.deepEqual(sent.body.credential.response, {
    clientDataJSON: "AQ",
    authenticatorData: "BQ",
    signature: "c2ln",
    userHandle: "BAUG",
  });
  const hello = await client.fetch("/hello");
  assert.equal(hello.status, 200);
  assert.equal(api.calls.at(-1).auth, "Bearer at-pk");
});

test("a refused passkey rejects with the API's error; the browser's own converters are used when present", async () => {
  const api = passkeyApi();
  const credentials = {
    get: async () => ({
      toJSON: () => ({ id: "x", rawId: "x", type: "public-key", response: { signature: "bad" } }),
    }),
  };
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch, credentials });
  await assert.rejects(client.loginWithPasskey(), (e) => e instanceof AuthError && e.status === 401 && e.error === "invalid_credential");
  assert.equal(client.signedIn, false);
  const original = globalThis.PublicKeyCredential;
  globalThis.PublicKeyCredential = { parseCreationOptionsFromJSON: (json) => ({ parsed: json.challenge }) };
  try {
    assert.deepEqual(creationOptionsFromJSON({ challenge: "AQID" }), { parsed: "AQID" });
  } finally {
    globalThis.PublicKeyCredential = original;
  }
  assert.deepEqual(credentialToJSON({ toJSON: () => ({ own: true }) }), { own: true });
});

test("signInWith navigates to the API's start route with this page as redirect_to", () => {
  const went = [];
  const client = createAuthClient({
    baseUrl: "https://api.example",
    fetch: fakeApi().fetch,
    navigate: (to) => went.push(to),
  });
  client.signInWith("google", { redirectTo: "https://app.example/after?x=1" });
  assert.deepEqual(went, [
    "https://api.example/auth/oauth/google/start?redirect_to=https%3A%2F%2Fapp.example%2Fafter%3Fx%3D1",
  ]);
  client.signInWith("a/b", { redirectTo: "https://app.example/" });
  assert.ok(went[1].startsWith("https://api.example/auth/oauth/a%2Fb/start?"), went[1]);
});

test("completeSignIn picks the session up with one refresh, or throws the #error code", async () => {
  const api = fakeApi();
  const client = createAuthClient({ baseUrl: "https://api.example", fetch: api.fetch });
  assert.equal(await client.completeSignIn(""), true);
  assert.equal(api.refreshes(), 1);
  assert.equal((await client.fetch("/hello")).status, 200);
  await assert.rejects(client.completeSignIn("#error=identity_taken"), (e) => {
    assert.ok(e instanceof AuthError);
    assert.equal(e.error, "identity_taken");
    return true;
  });
  assert.equal(api.refreshes(), 1, "no refresh after an error");
  api.refreshOk = false;
  assert.equal(await client.completeSignIn(""), false);
});

test("linkIdentity asks with the bearer token and goes where the API says", async () => {
  const api = fakeApi();
  const went = [];
  const base = api.fetch;
  const fetch = async (url, init = {}) => {
    if (String(url).endsWith("/auth/oauth/dev/link")) {
      api.calls.push({ url: String(url), init, auth: new Headers(init.headers).get("authorization") });
      assert.equal(init.credentials, "include", "the flow cookie must land");
      assert.deepEqual(JSON.parse(init.body), { redirect_to: "https://app.example/settings" });
      return new Response(JSON.stringify({ authorize_url: "https://op.example/authorize?x" }), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    }
    return base(url, init);
  };
  const client = createAuthClient({ baseUrl: "https://api.example", fetch, navigate: (to) => went.push(to) });
  await client.login("ana", "right");
  await client.linkIdentity("dev", { redirectTo: "https://app.example/settings" });
  assert.equal(api.calls.at(-1).auth, "Bearer at-1");
  assert.deepEqual(went, ["https://op.example/authorize?x"]);
});

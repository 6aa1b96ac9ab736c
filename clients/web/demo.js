// The demo page's script (served by `make dev` at /client/demo.js; a separate file, so the
// page's Content-Security-Policy can forbid inline script).
// The demo page talks to its own origin only: the credentials typed here go nowhere else.
import { createAuthClient } from "/client/auth-client.js";
const auth = createAuthClient({ baseUrl: "" });
window.auth = auth; // for the browser test and the console
document.getElementById("api").textContent = location.origin;
const out = document.getElementById("out");
const show = (what) => { out.textContent = typeof what === "string" ? what : JSON.stringify(what, null, 2); };
const field = (id) => document.getElementById(id).value;
const run = (fn) => async () => {
  try { show(await fn()); } catch (e) { show(`${e.status || ""} ${e.error || ""} ${e.message}`.trim()); }
};
const on = (id, fn) => document.getElementById(id).addEventListener("click", run(fn));
// A login whose password was right but whose user has TOTP on waits for the second factor.
let mfaToken = null;
const mfaStep = document.getElementById("mfa-step");
on("login", async () => {
  const result = await auth.login(field("username"), field("password"));
  if (!result.mfaRequired) return "logged in";
  mfaToken = result.mfaToken;
  mfaStep.hidden = false;
  document.getElementById("mfa-login-code").focus();
  return "password accepted: enter the code from your authenticator app (or a recovery code)";
});
// Passkeys: the relying party is the page's host, so 127.0.0.1 cannot use them (say so).
document.getElementById("passkey-note").hidden = location.hostname !== "127.0.0.1";
on("passkey-login", async () => {
  await auth.loginWithPasskey();
  return "logged in with a passkey";
});
const listPasskeys = async () => {
  const list = document.getElementById("passkeys");
  const passkeys = await auth.passkeys();
  list.replaceChildren(...passkeys.map((p) => {
    const li = document.createElement("li");
    li.textContent = `${p.name} (added ${p.created_at}${p.last_used_at ? `, last used ${p.last_used_at}` : ""})`;
    li.dataset.passkeyId = p.passkey_id;
    const remove = document.createElement("button");
    remove.textContent = "remove";
    remove.addEventListener("click", run(async () => { await auth.deletePasskey(p.passkey_id); li.remove(); return "passkey removed"; }));
    li.append(remove);
    return li;
  }));
  return `${passkeys.length} passkey(s)`;
};
on("passkey-add", async () => {
  const passkey = await auth.registerPasskey(field("passkey-name") || undefined);
  await listPasskeys();
  return `passkey "${passkey.name}" added`;
});
on("passkey-list", listPasskeys);
// "Sign in with dev": the browser goes to the provider (make dev's local one) and comes back
// here, where one refresh picks the session up (or #error=CODE says why not).
const provider = document.getElementById("oauth-login").dataset.provider;
on("oauth-login", async () => {
  sessionStorage.setItem("oauth-pending", "sign-in");
  auth.signInWith(provider);
  return `going to ${provider}...`;
});
on("oauth-link", async () => {
  sessionStorage.setItem("oauth-pending", "link");
  await auth.linkIdentity(provider);
  return `going to ${provider} to link...`;
});
on("oauth-unlink", async () => {
  await auth.unlinkIdentity(provider);
  return `${provider} unlinked`;
});
const pending = sessionStorage.getItem("oauth-pending");
if (pending || location.hash.includes("error=")) {
  sessionStorage.removeItem("oauth-pending");
  run(async () => {
    const signedIn = await auth.completeSignIn();
    if (pending === "link") return `${provider} linked`;
    return signedIn ? `signed in with ${provider}` : "not signed in";
  })();
}
on("mfa-verify", async () => {
  await auth.loginMfa(mfaToken, field("mfa-login-code"));
  mfaToken = null;
  mfaStep.hidden = true;
  document.getElementById("mfa-login-code").value = "";
  return "logged in with two factors";
});
const showCodes = (codes) => {
  const list = document.getElementById("recovery-codes");
  list.replaceChildren(...codes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
};
on("totp-enroll", async () => {
  const { secret, otpauthUri } = await auth.enrollTotp(field("password"));
  document.getElementById("totp-secret").textContent = secret;
  document.getElementById("totp-uri").textContent = otpauthUri;
  document.getElementById("totp-setup").hidden = false;
  return "scan or type the secret, then turn it on with a code";
});
on("totp-confirm", async () => {
  showCodes(await auth.confirmTotp(field("totp-code")));
  document.getElementById("totp-setup").hidden = true;
  return "TOTP is on: keep the recovery codes somewhere safe (they are shown once)";
});
on("totp-codes", async () => {
  showCodes(await auth.regenerateRecoveryCodes(field("totp-code")));
  return "new recovery codes: the old ones no longer work";
});
on("totp-disable", async () => {
  await auth.disableTotp(field("password"), field("totp-code"));
  showCodes([]);
  return "TOTP is off";
});
on("register", async () => {
  const email = field("email");
  await auth.register(field("username"), field("password"), email ? { email } : {});
  return email ? "signed up and logged in; a verification link was mailed" : "signed up and logged in";
});
on("forgot", async () => { await auth.forgotPassword(field("email")); return "if that address is known, a reset link is on its way"; });
on("me", () => auth.me());
// The mailed links: APP_URL/verify-email#token=… and APP_URL/reset-password#token=…. The
// token is in the fragment (it never reaches a server log); it is taken out of the address bar
// at once, so it stays out of the history too.
const token = new URLSearchParams(location.hash.slice(1)).get("token");
if (token) history.replaceState(null, "", location.pathname);
if (token && location.pathname === "/verify-email") {
  run(async () => { await auth.verifyEmail(token); return "email verified"; })();
}
if (token && location.pathname === "/reset-password") {
  document.getElementById("reset-form").hidden = false;
  on("reset", async () => {
    await auth.resetPassword(token, field("new-password"));
    document.getElementById("reset-form").hidden = true;
    return "password changed; every session was logged out: log in with the new password";
  });
}
on("logout", async () => { await auth.logout(); return "logged out"; });
on("logout-all", async () => { await auth.logout({ allDevices: true }); return "logged out everywhere"; });
on("hello", async () => {
  const resp = await auth.fetch("/hello");
  return resp.ok ? await resp.json() : `${resp.status} refused`;
});
on("sessions", async () => {
  const list = document.getElementById("session-list");
  list.replaceChildren();
  const sessions = await auth.sessions();
  for (const s of sessions) {
    const li = document.createElement("li");
    li.textContent = `${s.device_id} since ${s.created_at}${s.current ? " (this one)" : ""}`;
    const revoke = document.createElement("button");
    revoke.textContent = "revoke";
    revoke.addEventListener("click", run(async () => { await auth.revokeSession(s.session_id); li.remove(); return "revoked"; }));
    li.append(revoke);
    list.append(li);
  }
  return `${sessions.length} session(s)`;
});

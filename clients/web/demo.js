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
on("login", async () => { await auth.login(field("username"), field("password")); return "logged in"; });
on("register", async () => { await auth.register(field("username"), field("password")); return "signed up and logged in"; });
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

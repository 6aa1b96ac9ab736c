#!/usr/bin/env python3
"""`make bench`, part 1: the criterion results (target/criterion) as the ratios of docs/performance.md.

Usage: bench-report.py CRITERION_DIR
"""
import json, sys, os
root = sys.argv[1]
def mean(group, name):
    with open(os.path.join(root, group, name, "new", "estimates.json")) as f:
        return json.load(f)["mean"]["point_estimate"] / 1000.0  # ns -> us
a, b, c, d, e = (mean("authorizer", n) for n in
                 ("a_handler_per_event", "b_jsonwebtoken_decode", "c_hand_rolled_floor",
                  "d_event_parse_only", "e_handler_parsed_request"))
print("authorizer, per event (criterion, same run)")
print(f"  (a) whole handler            {a:8.2f} us")
print(f"  (b) jsonwebtoken::decode     {b:8.2f} us")
print(f"  (c) hand-rolled HMAC floor   {c:8.2f} us")
print(f"      of (a): event JSON parse {d:8.2f} us")
print(f"      handler on a parsed request {e:5.2f} us (what the dev server calls)")
print(f"  (a)/(b) = {a/b:.2f}x (goal <= 1.3x)   (a)/(c) = {a/c:.2f}x   (b)/(c) = {b/c:.2f}x")
print("authorizer per SIGNING_ALG: handler per event (public-keys ring) vs that algorithm's bare verify")
for alg in ("RS256", "ES256", "EdDSA"):
    h, v, m = (mean("authorizer_alg", f"{alg}_{n}") for n in ("a_handler_per_event", "f_bare_verify", "g_mint"))
    print(f"  {alg:<6} {h:8.2f} us vs {v:8.2f} us: {h/v:.2f}x (goal <= 1.3x)   minting one token {m:8.2f} us")
print("signature verify, ring (used) vs RustCrypto (jsonwebtoken's rust_crypto), key parsed once")
for alg in ("RS256", "ES256", "EdDSA"):
    r, c = mean("verify_provider", f"{alg}_ring"), mean("verify_provider", f"{alg}_rustcrypto")
    print(f"  {alg:<6} ring {r:8.2f} us   RustCrypto {c:8.2f} us   RustCrypto/ring {c/r:.2f}x")
la, lb = mean("login", "a_handler") / 1000, mean("login", "b_argon2_verify") / 1000
with open(os.path.join(root, "login", "paired.json")) as f:
    paired = json.load(f)
ph, pv = paired["handler_ms"], paired["verify_ms"]
print("login (in-memory stores, same run)")
print(f"  interleaved, median of {paired['pairs']} pairs: handler {ph:.2f} ms vs one argon2id verify {pv:.2f} ms: {ph/pv:.3f}x (goal <= 1.05x)")
print(f"  criterion, one after the other: handler {la:.2f} ms vs verify {lb:.2f} ms: {la/lb:.3f}x")
if "mfa_login_ms" in paired:
    pm = paired["mfa_login_ms"]
    print(f"  password + TOTP (403 mfa_required, then /auth/login/mfa), interleaved: {pm:.2f} ms vs one argon2id verify {pv:.2f} ms: {pm/pv:.3f}x (goal <= 1.1x)")
if "passkey_login_ms" in paired:
    pk = paired["passkey_login_ms"]
    print(f"  passkey sign-in (options + sign-in handlers, ES256), interleaved: {pk:.2f} ms vs the password login handler {ph:.2f} ms: {pk/ph:.3f}x (goal <= 0.2x)")
if "register_ms" in paired:
    pr, ph2 = paired["register_ms"], paired["hash_ms"]
    print(f"sign-up (in-memory stores, same run), interleaved, median of {paired['pairs']} pairs:")
    print(f"  register handler {pr:.2f} ms vs one argon2id hash {ph2:.2f} ms: {pr/ph2:.3f}x")
if "register_breach_ms" in paired:
    pb, pr = paired["register_breach_ms"], paired["register_ms"]
    print(f"  with the breached-password check (Pwned Passwords range stub on loopback): {pb:.2f} ms vs {pr:.2f} ms: +{pb - pr:.2f} ms, {pb/pr:.3f}x")
print("argon2id verify per OWASP parameter set (memory = m)")
for name in sorted(os.listdir(os.path.join(root, "argon2id"))):
    if name.startswith("m"):
        m = int(name[1:].split("_")[0])
        print(f"  {name:<16} {mean('argon2id', name) / 1000:7.2f} ms   {m / 1024:5.1f} MiB")

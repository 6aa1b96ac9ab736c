#!/usr/bin/env python3
"""Verifies an access token with PyJWT, an implementation independent of ours.

Usage: jose-verify.py ALG KEY_BASE64 ISSUER AUDIENCE < token
Pins the algorithm, requires every claim the contract lists, checks iss, aud, exp and nbf
(30 s leeway) and the at+jwt type; prints the claims as JSON, or the error and exits 1.
"""
import base64
import json
import sys

import jwt

alg, key_b64, issuer, audience = sys.argv[1:5]
token = sys.stdin.read().strip()
try:
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt":
        raise jwt.InvalidTokenError(f"typ is {header.get('typ')!r}")
    claims = jwt.decode(
        token,
        base64.b64decode(key_b64),
        algorithms=[alg],
        issuer=issuer,
        audience=audience,
        leeway=30,
        options={"require": ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"]},
    )
except jwt.PyJWTError as e:
    print(f"{type(e).__name__}: {e}")
    sys.exit(1)
print(json.dumps({"header": header, "claims": claims}))

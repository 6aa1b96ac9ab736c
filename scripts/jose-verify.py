#!/usr/bin/env python3
"""Verifies an access token with PyJWT, an implementation independent of ours.

Usage: jose-verify.py ALG KEY ISSUER AUDIENCE < token
KEY: for HS256 the shared secret in base64; otherwise the published JWKS document (JSON), from
which the key named by the token's `kid` is taken, as a JWKS client does (PyJWKSet).
Pins the algorithm, requires every claim the contract lists, checks iss, aud, exp and nbf
(30 s leeway) and the at+jwt type; prints the claims as JSON, or the error and exits 1.
"""
import base64
import json
import sys

import jwt

alg, key_arg, issuer, audience = sys.argv[1:5]
token = sys.stdin.read().strip()
try:
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt":
        raise jwt.InvalidTokenError(f"typ is {header.get('typ')!r}")
    if alg == "HS256":
        key = base64.b64decode(key_arg)
    else:
        jwks = jwt.PyJWKSet.from_json(key_arg)
        matching = [k for k in jwks.keys if k.key_id == header.get("kid")]
        if not matching:
            raise jwt.InvalidTokenError(f"no published key has kid {header.get('kid')!r}")
        key = matching[0]
    claims = jwt.decode(
        token,
        key,
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

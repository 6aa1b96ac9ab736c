//! The ID-token checks against tokens minted here, one claim or key broken at a time.

use super::*;
use crate::crypto::keys::{check_private_key, generate};
use serde_json::json;

const ISSUER: &str = "https://op.example";
const CLIENT: &str = "client-1";
const NOW: u64 = 1_800_000_000;

struct Provider {
    encoding: jsonwebtoken::EncodingKey,
    alg: SigningAlg,
    jwks: Value,
}

fn provider(alg: SigningAlg, kid: &str) -> Provider {
    crate::crypto::jwt_crypto::install();
    let der = generate(alg).unwrap();
    use secrecy::ExposeSecret;
    let (encoding, verify) = check_private_key(alg, der.expose_secret()).unwrap();
    let mut jwk = verify.jwk().unwrap();
    jwk["kid"] = json!(kid);
    Provider {
        encoding,
        alg,
        jwks: json!({ "keys": [jwk] }),
    }
}

fn claims() -> Value {
    json!({"iss": ISSUER, "sub": "248289761001", "aud": CLIENT, "exp": NOW + 600,
           "iat": NOW, "nonce": "n-0S6_WzA2Mj", "email": "ana@example.com",
           "email_verified": true})
}

fn sign(p: &Provider, kid: Option<&str>, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(crate::crypto::jwt_crypto::algorithm(p.alg));
    header.kid = kid.map(String::from);
    jsonwebtoken::encode(&header, claims, &p.encoding).unwrap()
}

fn check(token: &str, p: &Provider) -> Result<IdClaims, IdTokenError> {
    check_advertised(token, p, &["RS256", "ES256", "EdDSA"])
}

/// As [`check`], the provider advertising `algorithms`.
fn check_advertised(
    token: &str,
    p: &Provider,
    algorithms: &[&str],
) -> Result<IdClaims, IdTokenError> {
    let algorithms: Vec<String> = algorithms.iter().map(|a| a.to_string()).collect();
    verify_id_token(
        token,
        &ProviderKeys::from_jwks(&p.jwks),
        &Expected {
            issuer: ISSUER,
            client_id: CLIENT,
            nonce: "n-0S6_WzA2Mj",
            algorithms: &algorithms,
            now: NOW,
        },
    )
}

#[test]
fn a_good_token_verifies_for_each_algorithm() {
    for alg in [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa] {
        let p = provider(alg, "k1");
        let got = check(&sign(&p, Some("k1"), &claims()), &p).unwrap();
        assert_eq!(got.sub, "248289761001");
        assert_eq!(got.email.as_deref(), Some("ana@example.com"));
        assert!(got.email_verified);
        // No kid, one key: that key.
        assert!(check(&sign(&p, None, &claims()), &p).is_ok(), "{alg:?}");
    }
}

#[test]
fn every_claim_is_checked() {
    let p = provider(SigningAlg::Es256, "k1");
    let with = |field: &str, value: Value| {
        let mut c = claims();
        c[field] = value;
        check(&sign(&p, Some("k1"), &c), &p)
    };
    assert_eq!(with("nonce", json!("other")), Err(IdTokenError::Nonce));
    assert_eq!(with("nonce", Value::Null), Err(IdTokenError::Nonce));
    assert_eq!(with("aud", json!("client-2")), Err(IdTokenError::Audience));
    assert_eq!(
        with("aud", json!([CLIENT, "client-2"])),
        Err(IdTokenError::Audience),
        "several audiences and no azp"
    );
    assert!(with("aud", json!([CLIENT])).is_ok());
    assert_eq!(with("azp", json!("client-2")), Err(IdTokenError::Audience));
    assert_eq!(
        with("iss", json!("https://op.example/")),
        Err(IdTokenError::Issuer)
    );
    assert_eq!(
        with("exp", json!(NOW - CLOCK_SKEW_SECS)),
        Err(IdTokenError::Expired)
    );
    assert!(with("exp", json!(NOW - CLOCK_SKEW_SECS + 1)).is_ok());
    assert_eq!(with("iat", json!(NOW + 3600)), Err(IdTokenError::Claims));
    assert_eq!(with("sub", json!("")), Err(IdTokenError::Claims));
    assert_eq!(with("exp", json!("soon")), Err(IdTokenError::Claims));
    assert!(
        !with("email_verified", json!("false"))
            .unwrap()
            .email_verified
    );
}

#[test]
fn forged_none_hmac_and_unknown_keys_are_refused() {
    let p = provider(SigningAlg::Es256, "k1");
    let token = sign(&p, Some("k1"), &claims());
    let (head, rest) = token.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    // alg none, with and without a signature.
    let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1"}"#);
    assert_eq!(
        check(&format!("{none}.{payload}."), &p),
        Err(IdTokenError::Algorithm)
    );
    assert_eq!(
        check(&format!("{none}.{payload}.{sig}"), &p),
        Err(IdTokenError::Algorithm)
    );
    // HS256 "signed" with anything (the public key as a secret, the classic confusion).
    let hs = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k1"}"#);
    assert_eq!(
        check(&format!("{hs}.{payload}.{sig}"), &p),
        Err(IdTokenError::Algorithm)
    );
    // Another claim set under the same signature.
    let mut other = claims();
    other["sub"] = json!("someone-else");
    let forged = URL_SAFE_NO_PAD.encode(other.to_string());
    assert_eq!(
        check(&format!("{head}.{forged}.{sig}"), &p),
        Err(IdTokenError::Signature)
    );
    // Signed by another key under the provider's kid; an unknown kid.
    let stranger = provider(SigningAlg::Es256, "k1");
    assert_eq!(
        check(&sign(&stranger, Some("k1"), &claims()), &p),
        Err(IdTokenError::Signature)
    );
    assert_eq!(
        check(&sign(&p, Some("k2"), &claims()), &p),
        Err(IdTokenError::UnknownKey)
    );
    // An algorithm the provider does not advertise.
    let rsa = provider(SigningAlg::Rs256, "r1");
    let token = sign(&rsa, Some("r1"), &claims());
    assert_eq!(
        check_advertised(&token, &rsa, &["ES256"]),
        Err(IdTokenError::Algorithm)
    );
    // HMAC stays refused even where a provider advertises it.
    assert_eq!(
        check_advertised(&format!("{hs}.{payload}.{sig}"), &p, &["HS256", "ES256"]),
        Err(IdTokenError::Algorithm)
    );
    for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
        assert_eq!(check(junk, &p), Err(IdTokenError::Malformed), "{junk}");
    }
}

#[test]
fn a_jwks_keeps_its_usable_signing_keys_only() {
    let p = provider(SigningAlg::Rs256, "r1");
    let mut jwks = p.jwks.clone();
    let keys = jwks["keys"].as_array_mut().unwrap();
    let mut enc = keys[0].clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("e1");
    keys.push(enc);
    keys.push(json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h1"}));
    keys.push(json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "x1"}));
    let set = ProviderKeys::from_jwks(&jwks);
    assert_eq!(set.len(), 1);
    assert!(ProviderKeys::from_jwks(&json!({})).is_empty());
}

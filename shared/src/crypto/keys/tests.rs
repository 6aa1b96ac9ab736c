use super::*;

fn pair(alg: SigningAlg) -> (jsonwebtoken::EncodingKey, VerifyKey, SecretSlice<u8>) {
    let der = generate(alg).unwrap();
    let (enc, key) = check_private_key(alg, der.expose_secret()).unwrap();
    (enc, key, der)
}

#[test]
fn generated_keys_sign_tokens_their_public_jwk_verifies() {
    crate::crypto::jwt_crypto::install();
    for alg in [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa] {
        let (enc, key, _) = pair(alg);
        let s = jsonwebtoken::crypto::sign(b"a.b", &enc, super::super::jwt_crypto::algorithm(alg))
            .unwrap();
        let s = URL_SAFE_NO_PAD.decode(s).unwrap();
        let from_jwk = VerifyKey::from_jwk(alg, &key.jwk().unwrap()).unwrap();
        assert_eq!(from_jwk.kid, key.kid, "{alg}");
        assert!(from_jwk.verify(b"a.b", &s), "{alg}");
        assert!(!from_jwk.verify(b"a.c", &s), "{alg}");
        let (_, other, _) = pair(alg);
        assert!(!other.verify(b"a.b", &s), "{alg}: another key");
    }
}

#[test]
fn the_kid_is_the_rfc7638_thumbprint() {
    // RFC 7638 §3.1's example key and thumbprint.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let key = VerifyKey::from_jwk(
        SigningAlg::Rs256,
        &json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256"}),
    )
    .unwrap();
    assert_eq!(key.kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

#[test]
fn keys_of_another_type_or_size_are_refused_with_a_reason() {
    let es = generate(SigningAlg::Es256).unwrap();
    let ed = generate(SigningAlg::EdDsa).unwrap();
    let rs = generate(SigningAlg::Rs256).unwrap();
    for (alg, der) in [
        (SigningAlg::Rs256, &es),
        (SigningAlg::Es256, &ed),
        (SigningAlg::EdDsa, &rs),
        (SigningAlg::Es256, &rs),
    ] {
        let e = check_private_key(alg, der.expose_secret()).unwrap_err();
        assert!(e.to_string().contains(alg.as_str()), "{e}");
    }
    // A public JWK of the wrong kind, a small RSA modulus, private members, a lying kid.
    let (_, es_key, _) = pair(SigningAlg::Es256);
    let (_, rs_key, _) = pair(SigningAlg::Rs256);
    let es_jwk = es_key.jwk().unwrap();
    assert!(VerifyKey::from_jwk(SigningAlg::Rs256, &es_jwk).is_err());
    let mut p384 = es_jwk.clone();
    p384["crv"] = "P-384".into();
    assert!(VerifyKey::from_jwk(SigningAlg::Es256, &p384).is_err());
    let mut small = rs_key.jwk().unwrap();
    small["n"] = URL_SAFE_NO_PAD.encode([0xc5u8; 128]).into();
    small.as_object_mut().unwrap().remove("kid");
    let e = VerifyKey::from_jwk(SigningAlg::Rs256, &small).unwrap_err();
    assert!(e.to_string().contains("1024 bits"), "{e}");
    let mut private = es_jwk.clone();
    private["d"] = "AAAA".into();
    assert!(VerifyKey::from_jwk(SigningAlg::Es256, &private).is_err());
    let mut lying = es_jwk.clone();
    lying["kid"] = rs_key.kid.clone().into();
    assert!(VerifyKey::from_jwk(SigningAlg::Es256, &lying).is_err());
}

#[test]
fn pem_round_trips_and_other_pem_kinds_are_refused() {
    let der = generate(SigningAlg::Es256).unwrap();
    let pem = to_pem(&der);
    assert!(pem
        .expose_secret()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = from_pem(SigningAlg::Es256, pem.expose_secret()).unwrap();
    assert_eq!(back.expose_secret(), der.expose_secret());
    let pkcs1 = pem.expose_secret().replace("PRIVATE KEY", "EC PRIVATE KEY");
    let e = from_pem(SigningAlg::Es256, &pkcs1).unwrap_err();
    assert!(e.to_string().contains("pkcs8 -topk8"), "{e}");
    assert!(from_pem(SigningAlg::Es256, "not pem").is_err());
}

#[test]
fn jwks_publish_public_members_only() {
    for alg in [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa] {
        let (_, key, _) = pair(alg);
        let jwk = key.jwk().unwrap();
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "{alg} {private}");
        }
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], alg.as_str());
    }
    let hmac = VerifyKey::hmac("v1".into(), &[1; 32]).unwrap();
    assert!(hmac.jwk().is_none());
    assert!(matches!(
        VerifyKey::hmac("v1".into(), &[1; 31]),
        Err(KeyError::TooShort(31))
    ));
}

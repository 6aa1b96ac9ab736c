//! RS256, ES256 and EdDSA: the authorizer as deployed in an asymmetric mode (a key ring over
//! the published JWKS only) against forged tokens, per algorithm: `alg` confusion (HS256
//! keyed with the public key's PEM, DER and JWK bytes), `alg: none`, another key under the
//! right `kid`, the wrong curve, keys of the right type but too small, and every algorithm
//! the configuration did not choose. No engines: the public keys come from an in-memory source
//! whose loads are counted.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use ring::signature as sig;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::adapters::memory::{FakeClock, StaticJwks};
use shared::config::{Config, SigningAlg};
use shared::crypto::keyring::{KeyRing, SigningKey};
use shared::crypto::keys;
use shared::crypto::tokens::{mint_access_token, TokenSettings};
use shared::domain::{User, Username};
use shared::error::KeyError;
use shared::ports::{Clock, KeyMaterial, SystemClock};
use shared::service::authorizer::Authorizer;

const ASYMMETRIC: [SigningAlg; 3] = [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa];

fn user() -> User {
    User::new(
        "5f0c6d1e-1111-4222-8333-944455556666",
        Username::parse("alice").unwrap(),
        String::new(),
        vec!["admin".into()],
        0,
    )
}

fn signing_key(alg: SigningAlg) -> (SigningKey, Vec<u8>) {
    let der = keys::generate(alg).unwrap();
    let key = SigningKey::new(
        alg,
        &KeyMaterial {
            kid: "version-id".into(),
            secret: der.clone(),
        },
    )
    .unwrap();
    (key, der.expose_secret().to_vec())
}

struct Fixture {
    alg: SigningAlg,
    cfg: Config,
    clock: Arc<FakeClock>,
    key: SigningKey,
    pkcs8: Vec<u8>,
    jwks: Arc<StaticJwks>,
    authorizer: Authorizer,
}

fn fixture(alg: SigningAlg) -> Fixture {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.signing.alg = alg;
    let (key, pkcs8) = signing_key(alg);
    let jwks = Arc::new(StaticJwks::new(
        json!({ "keys": [key.verify.jwk().unwrap()] }).to_string(),
    ));
    let clock = Arc::new(FakeClock::new(SystemClock.now()));
    let ring = Arc::new(KeyRing::public(
        jwks.clone(),
        alg,
        clock.clone(),
        cfg.signing.cache_ttl,
    ));
    let authorizer = Authorizer::new(&cfg, ring, clock.clone());
    Fixture {
        alg,
        cfg,
        clock,
        key,
        pkcs8,
        jwks,
        authorizer,
    }
}

impl Fixture {
    fn token(&self) -> String {
        mint_access_token(
            &self.key,
            &TokenSettings::from(&self.cfg),
            &user(),
            "0123456789abcdef0123456789abcdef",
            &[],
            self.clock.now(),
        )
        .unwrap()
        .0
    }

    fn claims(&self) -> Value {
        let now = self.clock.now();
        json!({
            "iss": self.cfg.tokens.issuer, "aud": self.cfg.tokens.audience, "sub": user().user_id,
            "username": "alice", "roles": ["admin"],
            "sid": "0123456789abcdef0123456789abcdef",
            "iat": now, "nbf": now, "exp": now + 900, "jti": "j1",
        })
    }

    /// A token with this header alg and the right kid, signed by `sign`.
    fn forged(&self, alg: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": self.key.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(self.claims().to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
        format!("{input}.{signature}")
    }

    async fn allowed(&self, token: &str) -> bool {
        let mut event: Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../events/authorizer-v2.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let authorization = format!("Bearer {token}");
        event["headers"]["authorization"] = json!(authorization);
        event["identitySource"] = json!([authorization]);
        let answer = self.authorizer.handle_json(&event).await.unwrap();
        answer["isAuthorized"] == true
    }

    /// The public key as SubjectPublicKeyInfo DER, as `openssl pkey -pubout` writes it.
    fn spki_der(&self) -> Vec<u8> {
        let jwk = self.key.verify.jwk().unwrap();
        let b = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
        match self.alg {
            SigningAlg::Rs256 => {
                let rsa_public = der(0x30, &[der_uint(&b("n")), der_uint(&b("e"))].concat());
                let algorithm = hex("300d06092a864886f70d0101010500");
                der(0x30, &[algorithm, der_bits(&rsa_public)].concat())
            }
            SigningAlg::Es256 => {
                let point = [vec![4u8], b("x"), b("y")].concat();
                [
                    hex("3059301306072a8648ce3d020106082a8648ce3d030107034200"),
                    point,
                ]
                .concat()
            }
            SigningAlg::EdDsa => [hex("302a300506032b6570032100"), b("x")].concat(),
            SigningAlg::Hs256 => unreachable!(),
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match body.len() {
        n if n < 128 => out.push(n as u8),
        n if n < 256 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(body);
    out
}

fn der_uint(b: &[u8]) -> Vec<u8> {
    let body = if b[0] & 0x80 != 0 {
        [&[0u8][..], b].concat()
    } else {
        b.to_vec()
    };
    der(0x02, &body)
}

fn der_bits(b: &[u8]) -> Vec<u8> {
    der(0x03, &[&[0u8][..], b].concat())
}

fn hs256(key: &[u8]) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |input| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    }
}

/// A ring signer for `alg` over a PKCS#8 key (another key than the fixture's).
type Signer = Box<dyn Fn(&[u8]) -> Vec<u8>>;

fn ring_signer(alg: SigningAlg, pkcs8: &[u8]) -> Signer {
    let rng = ring::rand::SystemRandom::new();
    match alg {
        SigningAlg::Rs256 => {
            let pair = sig::RsaKeyPair::from_pkcs8(pkcs8).unwrap();
            Box::new(move |input| {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(&sig::RSA_PKCS1_SHA256, &rng, input, &mut out)
                    .unwrap();
                out
            })
        }
        SigningAlg::Es256 => {
            let pair =
                sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .unwrap();
            Box::new(move |input| pair.sign(&rng, input).unwrap().as_ref().to_vec())
        }
        SigningAlg::EdDsa => {
            let pair = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).unwrap();
            Box::new(move |input| pair.sign(input).as_ref().to_vec())
        }
        SigningAlg::Hs256 => unreachable!(),
    }
}

#[tokio::test]
async fn a_token_signed_by_the_published_key_is_allowed() {
    for alg in ASYMMETRIC {
        let f = fixture(alg);
        assert!(f.allowed(&f.token()).await, "{alg}");
        // The fixture's own forging path signs correctly (so the refusals below are real).
        let own = ring_signer(alg, &f.pkcs8);
        assert!(f.allowed(&f.forged(alg.as_str(), own)).await, "{alg}");
    }
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_is_refused_before_any_key_is_read() {
    for alg in ASYMMETRIC {
        let f = fixture(alg);
        assert!(f.allowed(&f.token()).await);
        let spki = f.spki_der();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD
                .encode(&spki)
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let jwk = f.key.verify.jwk().unwrap().to_string();
        for (what, secret) in [
            ("PEM", pem.as_bytes()),
            ("PEM without its last newline", pem.trim_end().as_bytes()),
            ("DER", spki.as_slice()),
            ("JWK", jwk.as_bytes()),
        ] {
            let token = f.forged("HS256", hs256(secret));
            assert!(
                !f.allowed(&token).await,
                "{alg}: HS256 keyed with the {what}"
            );
        }
        // Refused on the header alone: the key set was read once (the first, valid token).
        assert_eq!(f.jwks.loads(), 1, "{alg}");
    }
}

#[tokio::test]
async fn alg_none_and_every_other_algorithm_are_refused() {
    for alg in ASYMMETRIC {
        let f = fixture(alg);
        let own = ring_signer(alg, &f.pkcs8);
        let mut forged = vec![
            f.forged("none", |_| Vec::new()),
            f.forged("None", |_| Vec::new()),
            f.forged("none", &own),
        ];
        // The right signature under any other name (PS256/RS512/ES384/ed25519...).
        for other in [
            "PS256", "RS512", "ES384", "ES256K", "Ed25519", "HS256", "RS256", "ES256", "EdDSA",
        ] {
            if other != alg.as_str() {
                forged.push(f.forged(other, &own));
            }
        }
        for token in forged {
            assert!(!f.allowed(&token).await, "{alg}: {token}");
        }
    }
}

#[tokio::test]
async fn another_key_under_the_right_kid_is_refused() {
    for alg in ASYMMETRIC {
        let f = fixture(alg);
        let other = keys::generate(alg).unwrap();
        let token = f.forged(alg.as_str(), ring_signer(alg, other.expose_secret()));
        assert!(!f.allowed(&token).await, "{alg}");
    }
}

#[tokio::test]
async fn a_signature_on_the_wrong_curve_is_refused() {
    let rng = ring::rand::SystemRandom::new();
    // ES256 header, right kid, signed on P-384 (a 96-byte signature).
    let f = fixture(SigningAlg::Es256);
    let p384 =
        sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
    let pair =
        sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, p384.as_ref(), &rng)
            .unwrap();
    let token = f.forged("ES256", |input| {
        pair.sign(&rng, input).unwrap().as_ref().to_vec()
    });
    assert!(!f.allowed(&token).await);
    // A P-384 key cannot be the ES256 signing key, nor a published one.
    assert!(SigningKey::new(
        SigningAlg::Es256,
        &KeyMaterial {
            kid: "x".into(),
            secret: p384.as_ref().to_vec().into()
        }
    )
    .is_err());
    let mut jwk = f.key.verify.jwk().unwrap();
    jwk["crv"] = "P-384".into();
    assert!(keys::VerifyKey::from_jwk(SigningAlg::Es256, &jwk).is_err());
    // EdDSA: an ECDSA P-256 signature under the EdDSA header; an X25519 "key".
    let f = fixture(SigningAlg::EdDsa);
    let p256 = keys::generate(SigningAlg::Es256).unwrap();
    let token = f.forged(
        "EdDSA",
        ring_signer(SigningAlg::Es256, p256.expose_secret()),
    );
    assert!(!f.allowed(&token).await);
    let mut jwk = f.key.verify.jwk().unwrap();
    jwk["crv"] = "X25519".into();
    assert!(keys::VerifyKey::from_jwk(SigningAlg::EdDsa, &jwk).is_err());
}

/// An RSA-1024 key: refused as the signing key, ignored in a published key set, and a token
/// it signs is refused even when its public key was slipped into the set.
#[tokio::test]
async fn an_rsa_key_below_2048_bits_is_refused_everywhere() {
    use rsa::pkcs8::EncodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
    let pkcs8 = small.to_pkcs8_der().unwrap().as_bytes().to_vec();
    let err = SigningKey::new(
        SigningAlg::Rs256,
        &KeyMaterial {
            kid: "x".into(),
            secret: pkcs8.into(),
        },
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::Unusable { .. }), "{err}");

    let f = fixture(SigningAlg::Rs256);
    let small_jwk = json!({
        "kty": "RSA", "alg": "RS256", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(small.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(small.e().to_bytes_be()),
    });
    let e = keys::VerifyKey::from_jwk(SigningAlg::Rs256, &small_jwk).unwrap_err();
    assert!(e.to_string().contains("1024 bits"), "{e}");
    // Published next to the real key (under its own thumbprint): ignored, the real key works.
    let mut thumb = serde_json::Map::new();
    for m in ["e", "kty", "n"] {
        thumb.insert(m.into(), small_jwk[m].clone());
    }
    let small_kid = URL_SAFE_NO_PAD.encode(Sha256::digest(Value::Object(thumb).to_string()));
    f.jwks
        .set(json!({"keys": [f.key.verify.jwk().unwrap(), small_jwk]}).to_string());
    f.clock.advance(f.cfg.signing.cache_ttl);
    assert!(f.allowed(&f.token()).await);
    // A PKCS#1 v1.5 SHA-256 signature by the small key, under its own kid.
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": small_kid});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(f.claims().to_string())
    );
    let digest_info = [
        hex("3031300d060960864801650304020105000420"),
        Sha256::digest(input.as_bytes()).to_vec(),
    ]
    .concat();
    let signature = small
        .sign(rsa::Pkcs1v15Sign::new_unprefixed(), &digest_info)
        .unwrap();
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
    assert!(!f.allowed(&token).await);
}

#[tokio::test]
async fn a_key_set_with_no_key_of_the_configured_algorithm_fails_loudly() {
    // The ES256 fixture's set, read by an RS256 verifier: nothing usable, an error (not an
    // empty ring that refuses everything in silence).
    let f = fixture(SigningAlg::Es256);
    let ring = KeyRing::public(f.jwks.clone(), SigningAlg::Rs256, f.clock.clone(), 60);
    let e = ring.load().await.unwrap_err();
    assert!(e.to_string().contains("RS256"), "{e}");
    assert!(ring.current().await.is_err());
    // And a verify-only ring never signs.
    let ring = KeyRing::public(f.jwks.clone(), SigningAlg::Es256, f.clock.clone(), 60);
    assert!(matches!(ring.current().await, Err(KeyError::NoSigningKey)));
}

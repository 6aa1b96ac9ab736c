//! Authorizer cost per event, against two baselines measured in the same run:
//! (a) the whole handler: event JSON parse, header extraction, verify, response;
//! (b) `jsonwebtoken::decode` alone, key and `Validation` built once;
//! (c) a hand-rolled floor: HMAC-SHA256 over the signing input, base64url decode, JSON parse.
//! Not baselines: (d) the event parse alone, (e) the handler on an already-parsed request.
//! Per asymmetric algorithm (group `authorizer_alg`): the handler per event over a public-keys
//! ring (what the deployed authorizer holds) vs that algorithm's bare signature verify (ring,
//! key parsed once), and minting one token.
//! `scripts/bench.sh` turns the estimates into the ratios docs/performance.md reports.

use secrecy::ExposeSecret;
use std::hint::black_box;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shared::adapters::memory::{key_set, material, StaticJwks, StaticKeySource};
use shared::config::{Config, SigningAlg};
use shared::crypto::keyring::{KeyRing, SigningKey};
use shared::domain::{Claims, User, Username};
use shared::http::authorizer_event::AuthorizerRequest;
use shared::ports::{KeyMaterial, SystemClock};
use shared::service::authorizer::Authorizer;

fn bench(c: &mut Criterion) {
    // The production subscriber (JSON, level from RUST_LOG, default info) into a sink, so any
    // log line on the allowed path is paid for here as it would be in Lambda.
    shared::telemetry::init_with_writer(std::io::sink);
    let cfg = Config::from_lookup(|_| None).unwrap();
    let material = material("v1", 7);
    let key = SigningKey::new(SigningAlg::Hs256, &material).unwrap();
    let user = User::new(
        "5f0c6d1e-1111-4222-8333-944455556666",
        Username::parse("alice").unwrap(),
        String::new(),
        vec!["admin".into(), "reader".into()],
        0,
    );
    let now = shared::ports::Clock::now(&SystemClock);
    let (token, _) = shared::crypto::tokens::mint_access_token(
        &key,
        &shared::crypto::tokens::TokenSettings::from(&cfg),
        &user,
        "0123456789abcdef0123456789abcdef",
        &[],
        now,
    )
    .unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ring = Arc::new(KeyRing::new(
        Arc::new(StaticKeySource::new(key_set(("v1", 7), None))),
        SigningAlg::Hs256,
        Arc::new(SystemClock),
        3600,
    ));
    let authorizer = Authorizer::new(&cfg, ring, Arc::new(SystemClock));
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/authorizer-v2.json"),
    )
    .unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&template).unwrap();
    event["headers"]["authorization"] = serde_json::json!(format!("Bearer {token}"));
    event["identitySource"] = serde_json::json!([format!("Bearer {token}")]);
    let event_text = event.to_string();
    // Warm the key ring, and check the handler really allows.
    let warm = rt.block_on(authorizer.handle_json(&event)).unwrap();
    assert_eq!(warm["isAuthorized"], true);

    let mut group = c.benchmark_group("authorizer");
    group.bench_function("a_handler_per_event", |b| {
        b.to_async(&rt).iter(|| async {
            let event: AuthorizerRequest = serde_json::from_str(black_box(&event_text)).unwrap();
            let resp = authorizer.handle(&event).await.unwrap();
            black_box(serde_json::to_string(&resp).unwrap())
        })
    });

    shared::crypto::jwt_crypto::install(); // the same HMAC-SHA256 code as the handler's
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[cfg.tokens.issuer.as_str()]);
    validation.set_audience(&[cfg.tokens.audience.as_str()]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 30;
    let decoding = jsonwebtoken::DecodingKey::from_secret(material.secret.expose_secret());
    group.bench_function("b_jsonwebtoken_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation).unwrap()
        })
    });

    // Not a baseline: the handler on an already-parsed request, as the dev server calls it.
    let request: AuthorizerRequest = serde_json::from_str(&event_text).unwrap();
    group.bench_function("e_handler_parsed_request", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(authorizer.handle(black_box(&request)).await.unwrap()) })
    });

    // Not a baseline: how much of (a) is parsing the API Gateway event itself.
    group.bench_function("d_event_parse_only", |b| {
        b.iter(|| serde_json::from_str::<AuthorizerRequest>(black_box(&event_text)).unwrap())
    });
    let mac_key = Hmac::<Sha256>::new_from_slice(material.secret.expose_secret()).unwrap();
    group.bench_function("c_hand_rolled_floor", |b| {
        b.iter(|| {
            let t = black_box(&token);
            let (input, sig) = t.rsplit_once('.').unwrap();
            let mut mac = mac_key.clone();
            mac.update(input.as_bytes());
            let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
            mac.verify_slice(&sig).unwrap();
            let payload = input.split('.').nth(1).unwrap();
            let claims: Claims =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
            black_box(claims)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("authorizer_alg");
    let mut tokens = Vec::new();
    for alg in [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa] {
        let material = KeyMaterial {
            kid: "v1".into(),
            secret: shared::crypto::keys::generate(alg).unwrap(),
        };
        let key = SigningKey::new(alg, &material).unwrap();
        let settings = shared::crypto::tokens::TokenSettings::from(&cfg);
        let mint = || {
            shared::crypto::tokens::mint_access_token(
                &key,
                &settings,
                &user,
                "0123456789abcdef0123456789abcdef",
                &[],
                now,
            )
            .unwrap()
            .0
        };
        let token = mint();
        let jwks = serde_json::json!({ "keys": [key.verify.jwk().unwrap()] }).to_string();
        let ring = Arc::new(KeyRing::public(
            Arc::new(StaticJwks::new(jwks)),
            alg,
            Arc::new(SystemClock),
            3600,
        ));
        let authorizer = Authorizer::new(&cfg, ring, Arc::new(SystemClock));
        let mut event = event.clone();
        event["headers"]["authorization"] = serde_json::json!(format!("Bearer {token}"));
        event["identitySource"] = serde_json::json!([format!("Bearer {token}")]);
        let event_text = event.to_string();
        let warm = rt.block_on(authorizer.handle_json(&event)).unwrap();
        assert_eq!(warm["isAuthorized"], true, "{alg}");
        group.bench_function(format!("{alg}_a_handler_per_event"), |b| {
            b.to_async(&rt).iter(|| async {
                let event: AuthorizerRequest =
                    serde_json::from_str(black_box(&event_text)).unwrap();
                let resp = authorizer.handle(&event).await.unwrap();
                black_box(serde_json::to_string(&resp).unwrap())
            })
        });
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let verify = key.verify.clone();
        group.bench_function(format!("{alg}_f_bare_verify"), |b| {
            b.iter(|| assert!(verify.verify(black_box(input.as_bytes()), black_box(&signature))))
        });
        group.bench_function(format!("{alg}_g_mint"), |b| b.iter(|| black_box(mint())));
        tokens.push((alg, input.to_string(), signature, key.verify.jwk().unwrap()));
    }
    group.finish();

    let mut group = c.benchmark_group("verify_provider");
    let b64 = |jwk: &serde_json::Value, name: &str| {
        URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap()
    };
    for (alg, input, signature, jwk) in &tokens {
        let ring_key = shared::crypto::keys::VerifyKey::from_jwk(*alg, jwk).unwrap();
        group.bench_function(format!("{alg}_ring"), |b| {
            b.iter(|| assert!(ring_key.verify(black_box(input.as_bytes()), black_box(signature))))
        });
        match alg {
            SigningAlg::Rs256 => {
                use rsa::signature::Verifier;
                let public = rsa::RsaPublicKey::new(
                    rsa::BigUint::from_bytes_be(&b64(jwk, "n")),
                    rsa::BigUint::from_bytes_be(&b64(jwk, "e")),
                )
                .unwrap();
                let key = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(public);
                group.bench_function(format!("{alg}_rustcrypto"), |b| {
                    b.iter(|| {
                        let sig =
                            rsa::pkcs1v15::Signature::try_from(black_box(signature.as_slice()))
                                .unwrap();
                        key.verify(black_box(input.as_bytes()), &sig).unwrap()
                    })
                });
            }
            SigningAlg::Es256 => {
                use p256::ecdsa::signature::Verifier;
                let point = [vec![4u8], b64(jwk, "x"), b64(jwk, "y")].concat();
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
                group.bench_function(format!("{alg}_rustcrypto"), |b| {
                    b.iter(|| {
                        let sig = p256::ecdsa::Signature::from_slice(black_box(signature)).unwrap();
                        key.verify(black_box(input.as_bytes()), &sig).unwrap()
                    })
                });
            }
            SigningAlg::EdDsa => {
                use ed25519_dalek::Verifier;
                let x: [u8; 32] = b64(jwk, "x").try_into().unwrap();
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
                group.bench_function(format!("{alg}_rustcrypto"), |b| {
                    b.iter(|| {
                        let sig =
                            ed25519_dalek::Signature::from_slice(black_box(signature)).unwrap();
                        key.verify(black_box(input.as_bytes()), &sig).unwrap()
                    })
                });
            }
            SigningAlg::Hs256 => {}
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

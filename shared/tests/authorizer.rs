//! The authorizer over the sample events in `events/`, an attack suite, key rotation, and
//! proof that verification makes no key-source call per request. No engines needed: the key
//! source is the in-memory fake whose calls are counted.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use shared::adapters::memory::{key_set, material, FakeClock, StaticKeySource};
use shared::config::{Config, SigningAlg};
use shared::crypto::keyring::{KeyRing, SigningKey};
use shared::crypto::tokens::{mint_access_token, TokenSettings};
use shared::domain::{User, Username};
use shared::http::authorizer_event::Unauthorized;
use shared::ports::{Clock, KeyMaterial, SystemClock};
use shared::service::authorizer::Authorizer;

struct Fixture {
    cfg: Config,
    source: Arc<StaticKeySource>,
    clock: Arc<FakeClock>,
    authorizer: Authorizer,
}

fn fixture() -> Fixture {
    let cfg = Config::from_lookup(|_| None).unwrap();
    let source = Arc::new(StaticKeySource::new(key_set(("v1", 1), None)));
    let clock = Arc::new(FakeClock::new(SystemClock.now()));
    let ring = Arc::new(KeyRing::new(
        source.clone(),
        SigningAlg::Hs256,
        clock.clone(),
        cfg.signing.cache_ttl,
    ));
    let authorizer = Authorizer::new(&cfg, ring, clock.clone());
    Fixture {
        cfg,
        source,
        clock,
        authorizer,
    }
}

fn user() -> User {
    User::new(
        "5f0c6d1e-1111-4222-8333-944455556666",
        Username::parse("alice").unwrap(),
        String::new(),
        vec!["admin".into(), "reader".into()],
        0,
    )
}

impl Fixture {
    fn token_with(&self, material: &KeyMaterial) -> String {
        let k = SigningKey::new(SigningAlg::Hs256, material).unwrap();
        mint_access_token(
            &k,
            &TokenSettings::from(&self.cfg),
            &user(),
            "0123456789abcdef0123456789abcdef",
            &["pwd".to_string(), "otp".to_string(), "mfa".to_string()],
            self.clock.now(),
        )
        .unwrap()
        .0
    }

    fn token(&self) -> String {
        self.token_with(&material("v1", 1))
    }

    fn claims(&self) -> Value {
        let now = self.clock.now();
        json!({
            "iss": self.cfg.tokens.issuer, "aud": self.cfg.tokens.audience, "sub": user().user_id,
            "username": "alice", "roles": ["admin", "reader"],
            "sid": "0123456789abcdef0123456789abcdef",
            "iat": now, "nbf": now, "exp": now + 900, "jti": "j1",
        })
    }

    async fn v2(&self, authorization: &str) -> Value {
        let mut event = load("authorizer-v2.json");
        event["headers"]["authorization"] = json!(authorization);
        event["identitySource"] = json!([authorization]);
        self.authorizer
            .handle_json(&event)
            .await
            .expect("v2 always answers")
    }

    async fn rest_token(&self, authorization: &str) -> Result<Value, Unauthorized> {
        let mut event = load("authorizer-rest-token.json");
        event["authorizationToken"] = json!(authorization);
        self.authorizer.handle_json(&event).await
    }

    async fn rest_request(&self, authorization: &str) -> Result<Value, Unauthorized> {
        let mut event = load("authorizer-rest-request.json");
        event["headers"]["Authorization"] = json!(authorization);
        self.authorizer.handle_json(&event).await
    }
}

fn load(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A JWT signed by hand: any header and payload, HMAC-SHA256 under `secret`.
fn hand_signed(header: &Value, payload: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Like [`hand_signed`] with the header and payload JSON given as text (duplicate keys etc.).
fn hand_signed_text(header: &str, payload: &str, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn good_header() -> Value {
    json!({"alg": "HS256", "typ": "at+jwt", "kid": "v1"})
}

#[tokio::test]
async fn http_api_v2_event_allows_with_the_identity_context() {
    let f = fixture();
    let resp = f.v2(&format!("Bearer {}", f.token())).await;
    assert_eq!(
        resp,
        json!({
            "isAuthorized": true,
            "context": {
                "sub": user().user_id,
                "username": "alice",
                "roles": "admin,reader",
                "session_id": "0123456789abcdef0123456789abcdef",
                "amr": "pwd,otp,mfa",
            }
        })
    );
    // A token minted before `amr` existed: allowed, with an empty `amr`.
    let mut claims = f.claims();
    claims.as_object_mut().unwrap().remove("amr");
    let old = hand_signed(&good_header(), &claims, &[1u8; 32]);
    let resp = f.v2(&format!("Bearer {old}")).await;
    assert_eq!(resp["context"]["amr"], "", "{resp}");
}

#[tokio::test]
async fn rest_token_and_request_events_get_a_stage_wide_allow_policy() {
    let f = fixture();
    let bearer = format!("bearer {}", f.token());
    for resp in [
        f.rest_token(&bearer).await.unwrap(),
        f.rest_request(&bearer).await.unwrap(),
    ] {
        assert_eq!(resp["principalId"], user().user_id.as_str());
        assert_eq!(
            resp["policyDocument"],
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": "arn:aws:execute-api:eu-west-1:123456789012:abc123xyz0/prod/*/*",
                }],
            })
        );
        assert_eq!(resp["context"]["roles"], "admin,reader");
        assert_eq!(resp["context"]["username"], "alice");
    }
}

#[tokio::test]
async fn the_sample_events_as_shipped_are_refused() {
    // The placeholders in events/ are not valid tokens: each flavour refuses them.
    let f = fixture();
    let v2 = f.authorizer.handle_json(&load("authorizer-v2.json")).await;
    assert_eq!(v2, Ok(json!({"isAuthorized": false})));
    for name in ["authorizer-rest-token.json", "authorizer-rest-request.json"] {
        assert_eq!(
            f.authorizer.handle_json(&load(name)).await,
            Err(Unauthorized)
        );
    }
    assert_eq!(
        f.authorizer.handle_json(&json!({"hello": 1})).await,
        Err(Unauthorized)
    );
}

#[tokio::test]
async fn attack_suite_every_forgery_is_refused_in_every_flavour() {
    let f = fixture();
    let right = [1u8; 32];
    let good = f.token();
    let parts: Vec<&str> = good.split('.').collect();
    let now = f.clock.now();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = f.claims();
        change(&mut c);
        hand_signed(&good_header(), &c, &right)
    };
    let header_with = |change: &dyn Fn(&mut Value)| {
        let mut h = good_header();
        change(&mut h);
        hand_signed(&h, &f.claims(), &right)
    };
    let mut tampered_claims = f.claims();
    tampered_claims["roles"] = json!(["superadmin"]);
    let refresh_token =
        "rt1.YWxpY2U.0123456789abcdef0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    let unsigned = |alg: &str| {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": "v1"});
        format!("{}.{}.", b64(&header), b64(&f.claims()))
    };
    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned("none")),
        ("alg None", unsigned("None")),
        ("alg NONE", unsigned("NONE")),
        (
            "wrong key",
            hand_signed(&good_header(), &f.claims(), &[2u8; 32]),
        ),
        ("HS512 with the right key", {
            let header = json!({"alg": "HS512", "typ": "at+jwt", "kid": "v1"});
            let input = format!("{}.{}", b64(&header), b64(&f.claims()));
            let mut mac = Hmac::<sha2::Sha512>::new_from_slice(&right).unwrap();
            mac.update(input.as_bytes());
            format!(
                "{input}.{}",
                URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
            )
        }),
        ("RS256 header", header_with(&|h| h["alg"] = json!("RS256"))),
        (
            "expired beyond leeway",
            with(&|c| c["exp"] = json!(now - 31)),
        ),
        ("nbf in the future", with(&|c| c["nbf"] = json!(now + 120))),
        ("wrong iss", with(&|c| c["iss"] = json!("someone-else"))),
        ("wrong aud", with(&|c| c["aud"] = json!("other-api"))),
        (
            "missing typ",
            header_with(&|h| {
                h.as_object_mut().unwrap().remove("typ");
            }),
        ),
        ("typ JWT", header_with(&|h| h["typ"] = json!("JWT"))),
        (
            "exp as string",
            with(&|c| c["exp"] = json!((now + 900).to_string())),
        ),
        (
            "nbf as string",
            with(&|c| c["nbf"] = json!(now.to_string())),
        ),
        (
            "missing exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "missing sub",
            with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
        ),
        (
            "missing nbf",
            with(&|c| {
                c.as_object_mut().unwrap().remove("nbf");
            }),
        ),
        ("roles not an array", with(&|c| c["roles"] = json!("admin"))),
        ("unknown kid", header_with(&|h| h["kid"] = json!("v9"))),
        (
            "missing kid",
            header_with(&|h| {
                h.as_object_mut().unwrap().remove("kid");
            }),
        ),
        (
            "kid path traversal",
            header_with(&|h| h["kid"] = json!("../../../../etc/passwd")),
        ),
        (
            "tampered payload",
            format!("{}.{}.{}", parts[0], b64(&tampered_claims), parts[2]),
        ),
        ("stripped signature", format!("{}.{}.", parts[0], parts[1])),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        ("trailing segment", format!("{good}.AAAA")),
        ("huge token", format!("{good}{}", "A".repeat(100_000))),
        (
            "non-ASCII",
            format!("{}.{}é.{}", parts[0], parts[1], parts[2]),
        ),
        ("a refresh token", refresh_token.to_string()),
        ("empty", String::new()),
        ("crit header", header_with(&|h| h["crit"] = json!(["exp"]))),
        (
            "duplicate alg",
            hand_signed_text(
                r#"{"alg":"none","alg":"HS256","typ":"at+jwt","kid":"v1"}"#,
                &f.claims().to_string(),
                &right,
            ),
        ),
        (
            "duplicate exp",
            hand_signed_text(
                &good_header().to_string(),
                &f.claims()
                    .to_string()
                    .replacen('{', &format!("{{\"exp\":{},", now + 99_999), 1),
                &right,
            ),
        ),
        (
            "aud as array",
            with(&|c| c["aud"] = json!([f.cfg.tokens.audience])),
        ),
        ("empty sub", with(&|c| c["sub"] = json!(""))),
        ("padded signature", format!("{good}=")),
    ];
    for (what, token) in &cases {
        let header = format!("Bearer {token}");
        assert_eq!(
            f.v2(&header).await,
            json!({"isAuthorized": false}),
            "v2: {what}"
        );
        assert_eq!(
            f.rest_token(&header).await,
            Err(Unauthorized),
            "TOKEN: {what}"
        );
        assert_eq!(
            f.rest_request(&header).await,
            Err(Unauthorized),
            "REQUEST: {what}"
        );
    }
    // Malformed headers around a good token.
    for header in [
        good.clone(),
        format!("Basic {good}"),
        format!("Bearer {good} extra"),
        "Bearer".into(),
    ] {
        assert_eq!(
            f.v2(&header).await,
            json!({"isAuthorized": false}),
            "{header:.30}"
        );
        assert_eq!(f.rest_token(&header).await, Err(Unauthorized));
    }
    // And the control: the genuine token passes.
    assert_eq!(f.v2(&format!("Bearer {good}")).await["isAuthorized"], true);
}

#[tokio::test]
async fn leeway_is_thirty_seconds_at_most() {
    let f = fixture();
    let now = f.clock.now();
    let mut claims = f.claims();
    claims["exp"] = json!(now - 29);
    let inside = hand_signed(&good_header(), &claims, &[1u8; 32]);
    assert_eq!(
        f.v2(&format!("Bearer {inside}")).await["isAuthorized"],
        true
    );
    claims["exp"] = json!(now - 30);
    let outside = hand_signed(&good_header(), &claims, &[1u8; 32]);
    assert_eq!(
        f.v2(&format!("Bearer {outside}")).await["isAuthorized"],
        false
    );
}

#[tokio::test]
async fn tokens_of_the_previous_key_verify_until_it_rotates_out() {
    let f = fixture();
    let old = f.token_with(&material("v1", 1));
    f.source.set(key_set(("v2", 2), Some(("v1", 1))));
    f.clock.advance(f.cfg.signing.cache_ttl);
    let new = f.token_with(&material("v2", 2));
    assert_eq!(f.v2(&format!("Bearer {old}")).await["isAuthorized"], true);
    assert_eq!(f.v2(&format!("Bearer {new}")).await["isAuthorized"], true);

    f.source.set(key_set(("v3", 3), Some(("v2", 2))));
    f.clock.advance(f.cfg.signing.cache_ttl);
    assert_eq!(f.v2(&format!("Bearer {old}")).await["isAuthorized"], false);
    assert_eq!(f.v2(&format!("Bearer {new}")).await["isAuthorized"], true);
}

#[tokio::test]
async fn a_new_kid_is_picked_up_before_the_cache_expires() {
    let f = fixture();
    f.v2(&format!("Bearer {}", f.token())).await;
    f.source.set(key_set(("v2", 2), Some(("v1", 1))));
    let new = f.token_with(&material("v2", 2));
    assert_eq!(f.v2(&format!("Bearer {new}")).await["isAuthorized"], true);
}

#[tokio::test]
async fn verification_makes_no_key_source_call_per_request() {
    let f = fixture();
    let token = f.token();
    for _ in 0..1_000 {
        assert_eq!(f.v2(&format!("Bearer {token}")).await["isAuthorized"], true);
    }
    assert_eq!(
        f.source.loads(),
        1,
        "loaded once, then served from the cache"
    );
    // With the source down, cached keys keep working.
    f.source.fail(true);
    f.clock.advance(f.cfg.signing.cache_ttl + 1);
    assert_eq!(f.v2(&format!("Bearer {token}")).await["isAuthorized"], true);
}

#[tokio::test]
async fn a_flood_of_forged_kids_reloads_the_key_ring_at_most_once() {
    let f = fixture();
    f.v2(&format!("Bearer {}", f.token())).await;
    for i in 0..500 {
        let forged = hand_signed(
            &json!({"alg": "HS256", "typ": "at+jwt", "kid": format!("forged-{i}")}),
            &f.claims(),
            &[1u8; 32],
        );
        assert_eq!(
            f.v2(&format!("Bearer {forged}")).await["isAuthorized"],
            false
        );
    }
    assert_eq!(f.source.loads(), 2);
}

#[tokio::test]
async fn with_no_key_at_all_everything_is_denied() {
    let f = fixture();
    f.source.fail(true);
    assert_eq!(
        f.v2(&format!("Bearer {}", f.token())).await["isAuthorized"],
        false
    );
    assert_eq!(
        f.rest_token(&format!("Bearer {}", f.token())).await,
        Err(Unauthorized)
    );
}

//! POST /auth/login against DynamoDB Local and moto, through real API Gateway v2 events.

use base64::Engine;
use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;
use shared::ports::UserStore;

async fn post_login(env: &TestEnv, body: &str) -> Value {
    env.invoke(Endpoint::Login, login_event(body)).await
}

#[tokio::test]
async fn login_returns_tokens_and_the_refresh_cookie_in_the_cookies_array() {
    let env = TestEnv::new().await;
    env.create_user("alice", "correct horse battery", &["admin", "reader"])
        .await;

    let resp = env.login("alice", "correct horse battery").await;

    assert_eq!(status(&resp), 200, "{resp}");
    assert_eq!(header(&resp, "content-type"), Some("application/json"));
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let b = body(&resp);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 900);
    assert_eq!(b["refresh_expires_in"], 1_209_600);
    let refresh = b["refresh_token"].as_str().unwrap();
    assert!(b["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(b["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    let device = b["device_token"].as_str().unwrap();
    // HTTP API payload 2.0: cookies travel in the `cookies` array, not as a header.
    assert_eq!(
        cookies(&resp),
        vec![
            format!(
                "refresh_token={refresh}; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=1209600"
            ),
            format!(
                "device_token={device}; HttpOnly; Secure; SameSite=Strict; Path=/auth/login; Max-Age=2592000"
            ),
        ]
    );
    assert!(resp["headers"].get("set-cookie").is_none());
}

#[tokio::test]
async fn the_access_token_header_and_claims_match_the_contract() {
    let env = TestEnv::new().await;
    let user = env.create_user("alice", "pw-123456", &["reader"]).await;
    let (current_version, key) = env.current_key().await;

    let resp = env.login("ALICE", "pw-123456").await;
    assert_eq!(status(&resp), 200, "{resp}");
    let b = body(&resp);
    let token = b["access_token"].as_str().unwrap();

    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid.as_deref(), Some(current_version.as_str()));

    shared::crypto::jwt_crypto::install();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&[env.cfg.tokens.audience.as_str()]);
    validation.set_issuer(&[env.cfg.tokens.issuer.as_str()]);
    let claims: Value = jsonwebtoken::decode(
        token,
        &jsonwebtoken::DecodingKey::from_secret(&key),
        &validation,
    )
    .expect("signed with AWSCURRENT")
    .claims;
    assert_eq!(claims["iss"], env.cfg.tokens.issuer.as_str());
    assert_eq!(claims["aud"], env.cfg.tokens.audience.as_str());
    assert_eq!(claims["sub"], user.user_id.as_str(), "sub is the stable id");
    assert_eq!(claims["username"], "alice");
    assert_eq!(claims["roles"], json!(["reader"]));
    assert_eq!(claims["sid"], b["session_id"]);
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["nbf"].as_u64(), Some(iat));
    assert_eq!(claims["exp"].as_u64(), Some(iat + 900));
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert_eq!(claims["amr"], json!(["pwd"]), "RFC 8176: a password");
    let mut names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["amr", "aud", "exp", "iat", "iss", "jti", "nbf", "roles", "sid", "sub", "username"]
    );
    // Kept across a refresh (the session item carries it).
    let refreshed = env
        .refresh_with_body(b["refresh_token"].as_str().unwrap())
        .await;
    let again = body(&refreshed)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let claims: Value = jsonwebtoken::decode(
        &again,
        &jsonwebtoken::DecodingKey::from_secret(&key),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["amr"], json!(["pwd"]));
}

#[tokio::test]
async fn the_sessions_table_stores_only_the_hash_of_the_refresh_token() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    let b = body(&env.login("alice", "pw-123456").await);
    let token = b["refresh_token"].as_str().unwrap();

    let items = env.session_items().await;
    assert_eq!(items.len(), 1);
    let dump = format!("{:?}", items[0]);
    let secret = token.rsplit('.').next().unwrap();
    assert!(!dump.contains(secret), "the token's secret is not stored");
    let expected = shared::domain::RefreshToken::parse(token)
        .unwrap()
        .hash()
        .to_hex();
    assert_eq!(items[0]["token_hash"].as_s().unwrap(), &expected);
    let ttl: u64 = items[0]["ttl"].as_n().unwrap().parse().unwrap();
    let now = shared::ports::Clock::now(&shared::ports::SystemClock);
    assert!(
        (now + 1_209_600 - 5..=now + 1_209_600 + 5).contains(&ttl),
        "ttl {ttl}"
    );
}

#[tokio::test]
async fn every_malformed_request_is_a_400_invalid_request() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    let long_name = "a".repeat(129);
    let long_password = "p".repeat(1025);
    let huge = format!(
        "{{\"username\":\"alice\",\"password\":\"pw-123456\",\"pad\":\"{}\"}}",
        "x".repeat(16 * 1024)
    );
    let cases: Vec<(&str, String)> = vec![
        ("not JSON", "username=alice&password=x".into()),
        ("truncated JSON", "{\"username\":\"alice\"".into()),
        ("JSON array", "[\"alice\",\"pw\"]".into()),
        ("JSON string", "\"alice\"".into()),
        (
            "missing username",
            json!({"password": "pw-123456"}).to_string(),
        ),
        ("missing password", json!({"username": "alice"}).to_string()),
        (
            "empty username",
            json!({"username": "", "password": "pw"}).to_string(),
        ),
        (
            "empty password",
            json!({"username": "alice", "password": ""}).to_string(),
        ),
        (
            "numeric username",
            json!({"username": 7, "password": "pw"}).to_string(),
        ),
        (
            "null password",
            json!({"username": "alice", "password": null}).to_string(),
        ),
        (
            "array password",
            json!({"username": "alice", "password": ["pw"]}).to_string(),
        ),
        (
            "oversized username",
            json!({"username": long_name, "password": "pw"}).to_string(),
        ),
        (
            "oversized password",
            json!({"username": "alice", "password": long_password}).to_string(),
        ),
        (
            "oversized device_id",
            json!({"username": "alice", "password": "pw-123456", "device_id": "d".repeat(129)})
                .to_string(),
        ),
        (
            "numeric device_id",
            json!({"username": "alice", "password": "pw-123456", "device_id": 5}).to_string(),
        ),
        ("body over 16 KiB", huge),
        ("empty body", String::new()),
    ];
    for (what, body_text) in cases {
        let resp = post_login(&env, &body_text).await;
        assert_eq!(status(&resp), 400, "{what}: {resp}");
        let b = body(&resp);
        assert_eq!(b["error"], "invalid_request", "{what}");
        assert!(b["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
        assert!(cookies(&resp).is_empty(), "{what}");
    }
    let no_body = env
        .invoke(
            Endpoint::Login,
            with_body(load_event("login-ok.json"), None),
        )
        .await;
    assert_eq!(status(&no_body), 400);
}

#[tokio::test]
async fn limits_are_inclusive() {
    let env = TestEnv::new().await;
    let name = "a".repeat(128);
    let password = "p".repeat(1024);
    env.create_user(&name, &password, &[]).await;
    let resp = env.login(&name, &password).await;
    assert_eq!(status(&resp), 200, "{resp}");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_are_indistinguishable() {
    let env = TestEnv::with_user("alice", "pw-123456").await;

    let wrong = env.login("alice", "pw-1234567").await;
    let unknown = env.login("mallory", "pw-123456").await;

    assert_eq!(status(&wrong), 401);
    assert_eq!(status(&unknown), 401);
    assert_eq!(wrong["body"], unknown["body"]);
    assert_eq!(wrong["headers"], unknown["headers"]);
    assert_eq!(body(&wrong)["error"], "invalid_credentials");
    assert!(cookies(&wrong).is_empty());
}

#[tokio::test]
async fn a_disabled_user_gets_403_only_with_the_right_password() {
    let env = TestEnv::new().await;
    let user = env.create_user("alice", "pw-123456", &[]).await;
    env.app
        .store
        .set_disabled(&user.username, true)
        .await
        .unwrap();

    let right = env.login("alice", "pw-123456").await;
    assert_eq!(status(&right), 403);
    assert_eq!(body(&right)["error"], "account_disabled");
    assert!(cookies(&right).is_empty());

    let wrong = env.login("alice", "nope-nope").await;
    assert_eq!(status(&wrong), 401);
}

#[tokio::test]
async fn a_base64_encoded_body_is_accepted() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    let mut event = login_event("");
    event["body"] = Value::String(
        base64::engine::general_purpose::STANDARD
            .encode(json!({"username": "alice", "password": "pw-123456"}).to_string()),
    );
    event["isBase64Encoded"] = Value::Bool(true);
    let resp = env.invoke(Endpoint::Login, event).await;
    assert_eq!(status(&resp), 200, "{resp}");
}

#[tokio::test]
async fn device_id_defaults_to_the_user_agent() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    env.login("alice", "pw-123456").await;
    let resp = post_login(
        &env,
        &json!({"username": "alice", "password": "pw-123456", "device_id": "phone"}).to_string(),
    )
    .await;
    assert_eq!(status(&resp), 200);
    let sessions = shared::ports::SessionStore::list_sessions(
        env.app.store.as_ref(),
        &shared::domain::Username::parse("alice").unwrap(),
    )
    .await
    .unwrap();
    let mut devices: Vec<String> = sessions.into_iter().map(|s| s.device_id).collect();
    devices.sort();
    assert_eq!(devices, ["curl/8.5.0", "phone"]);
}

/// `COOKIE_SAMESITE=None` (with an allowed origin) and `COOKIE_DOMAIN`: login's, refresh's and
/// logout's cookies carry them; the cleared cookie too, so the browser matches it.
#[tokio::test]
async fn cookies_follow_cookie_samesite_and_cookie_domain() {
    let env = TestEnv::with(|c| {
        c.cors.allow_origins = vec!["https://app.example.org".into()];
        c.cookies = shared::config::CookiePolicy {
            same_site: shared::config::CookieSameSite::None,
            domain: Some("example.com".into()),
        };
    })
    .await;
    env.create_user("alice", "pw-123456", &[]).await;
    let login = env.login("alice", "pw-123456").await;
    let refresh = refresh_token_of(&login);
    let device = body(&login)["device_token"].as_str().unwrap().to_string();
    assert_eq!(
        cookies(&login),
        vec![
            format!("refresh_token={refresh}; HttpOnly; Secure; SameSite=None; Path=/auth; Domain=example.com; Max-Age=1209600"),
            format!("device_token={device}; HttpOnly; Secure; SameSite=None; Path=/auth/login; Domain=example.com; Max-Age=2592000"),
        ]
    );
    let rotated = env.refresh_with_body(&refresh).await;
    assert!(cookies(&rotated)[0].contains("; SameSite=None; Path=/auth; Domain=example.com; "));
    let out = env
        .invoke(
            shared::http::handlers::Endpoint::Logout,
            logout_event(None, &[]),
        )
        .await;
    assert_eq!(
        cookies(&out),
        vec!["refresh_token=; HttpOnly; Secure; SameSite=None; Path=/auth; Domain=example.com; Max-Age=0".to_string()]
    );
}

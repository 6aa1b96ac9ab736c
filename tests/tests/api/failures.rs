//! Backing services failing mid-run: DynamoDB or Secrets Manager cut off or hanging → 503
//! `temporarily_unavailable` with `Retry-After`, within the time budget, with nothing internal
//! in the body; the authorizer keeps verifying with its cached key.

use std::time::{Duration, Instant};

use integration_tests::proxy::Mode;
use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;
use shared::service::authorizer::Authorizer;

/// The SDK's operation timeout plus slack: no request may wait longer.
const BUDGET: Duration = Duration::from_secs(6);

fn assert_503(resp: &Value, env: &TestEnv) {
    assert_eq!(status(resp), 503, "{resp}");
    let b = body(resp);
    assert_eq!(b["error"], "temporarily_unavailable");
    assert_eq!(b.as_object().unwrap().len(), 2);
    let retry: u64 = header(resp, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let text = resp["body"].as_str().unwrap().to_ascii_lowercase();
    for leak in [
        "dynamodb",
        "arn:",
        "secret",
        "sdk",
        "dispatch",
        "timeout",
        "connection",
        &env.cfg.tables.users,
    ] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
}

async fn timed(f: impl std::future::Future<Output = Value>) -> (Value, Duration) {
    let started = Instant::now();
    let v = f.await;
    (v, started.elapsed())
}

#[tokio::test]
async fn dynamodb_cut_off_mid_run_is_a_503_for_every_endpoint() {
    let (env, ddb, _sm) = TestEnv::through_proxies().await;
    env.create_user("alice", "pw-123456", &[]).await;
    let token = env.login_token("alice", "pw-123456").await;

    ddb.set(Mode::Cut);

    let (login, took) = timed(env.login("alice", "pw-123456")).await;
    assert_503(&login, &env);
    assert!(took < BUDGET, "{took:?}");
    let (refresh, took) = timed(env.refresh_with_body(&token)).await;
    assert_503(&refresh, &env);
    assert!(took < BUDGET, "{took:?}");
    let logout = env
        .invoke(
            Endpoint::Logout,
            logout_event(Some(&json!({ "refresh_token": token }).to_string()), &[]),
        )
        .await;
    assert_503(&logout, &env);

    // And it recovers when DynamoDB is back; nothing was lost.
    ddb.set(Mode::Forward);
    assert_eq!(status(&env.refresh_with_body(&token).await), 200);
}

#[tokio::test]
async fn a_hanging_dynamodb_is_a_503_within_the_time_budget() {
    let (env, ddb, _sm) = TestEnv::through_proxies().await;
    env.create_user("alice", "pw-123456", &[]).await;
    env.login_token("alice", "pw-123456").await;
    ddb.set(Mode::BlackHole);
    let (login, took) = timed(env.login("alice", "pw-123456")).await;
    assert_503(&login, &env);
    assert!(took < BUDGET, "{took:?}");
}

#[tokio::test]
async fn with_secrets_manager_down_cached_keys_keep_working() {
    let (env, _ddb, sm) = TestEnv::through_proxies().await;
    env.create_user("alice", "pw-123456", &[]).await;
    let access = body(&env.login("alice", "pw-123456").await)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let authorizer = Authorizer::new(&env.cfg, env.app.keys.clone(), env.app.clock.clone());

    sm.set(Mode::Cut);
    env.clock.advance(env.cfg.signing.cache_ttl + 1);

    let mut event = load_event("authorizer-v2.json");
    event["headers"]["authorization"] = json!(format!("Bearer {access}"));
    assert_eq!(
        authorizer.handle_json(&event).await.unwrap()["isAuthorized"],
        true
    );
    assert_eq!(status(&env.login("alice", "pw-123456").await), 200);
}

#[tokio::test]
async fn with_no_key_at_all_login_is_503_and_the_authorizer_denies() {
    let (env, _ddb, sm) = TestEnv::through_proxies().await;
    env.create_user("alice", "pw-123456", &[]).await;
    sm.set(Mode::Cut);
    let (login, took) = timed(env.login("alice", "pw-123456")).await;
    assert_503(&login, &env);
    assert!(took < BUDGET, "{took:?}");
    let authorizer = Authorizer::new(&env.cfg, env.app.keys.clone(), env.app.clock.clone());
    let mut event = load_event("authorizer-v2.json");
    event["headers"]["authorization"] = json!("Bearer a.b.c");
    assert_eq!(
        authorizer.handle_json(&event).await.unwrap()["isAuthorized"],
        false
    );
}

//! POST /auth/logout against DynamoDB Local: one device, all devices, and no oracle.

use integration_tests::*;
use serde_json::json;
use shared::http::handlers::Endpoint;

async fn logout(env: &TestEnv, body: Option<&str>, cookies: &[&str]) -> serde_json::Value {
    env.invoke(Endpoint::Logout, logout_event(body, cookies))
        .await
}

fn assert_204_cleared(resp: &serde_json::Value) {
    assert_eq!(status(resp), 204, "{resp}");
    assert!(clears_cookie(resp), "{resp}");
    assert!(resp["body"].is_null() || resp["body"] == "", "{resp}");
}

#[tokio::test]
async fn logout_revokes_only_this_session() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    let laptop = env.login_token("alice", "pw-123456").await;
    let phone = env.login_token("alice", "pw-123456").await;

    let resp = logout(&env, None, &[&format!("refresh_token={laptop}")]).await;

    assert_204_cleared(&resp);
    assert_eq!(status(&env.refresh_with_body(&laptop).await), 401);
    assert_eq!(status(&env.refresh_with_body(&phone).await), 200);
}

#[tokio::test]
async fn logout_all_devices_revokes_every_session_of_the_user() {
    let env = TestEnv::with(|c| c.sessions.max_per_user = 50).await;
    env.create_user("alice", "pw-123456", &[]).await;
    env.create_user("bob", "pw-123456", &[]).await;
    let mut alice = Vec::new();
    for _ in 0..30 {
        alice.push(env.login_token("alice", "pw-123456").await);
    }
    let bob = env.login_token("bob", "pw-123456").await;
    env.dynamodb_calls.reset();

    let resp = logout(
        &env,
        Some(&json!({"refresh_token": alice[0], "all_devices": true}).to_string()),
        &[],
    )
    .await;

    assert_204_cleared(&resp);
    // Conditional delete + one Query + one BatchWriteItem per 25 sessions.
    assert_eq!(env.dynamodb_calls.get(), 1 + 1 + 2);
    for t in &alice {
        assert_eq!(status(&env.refresh_with_body(t).await), 401);
    }
    assert_eq!(status(&env.refresh_with_body(&bob).await), 200);
}

#[tokio::test]
async fn logout_answers_204_whatever_it_is_sent() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    let live = env.login_token("alice", "pw-123456").await;
    for (body, cookies) in [
        (None, vec![]),
        (Some("{not json"), vec![]),
        (
            Some(r#"{"refresh_token": "garbage", "all_devices": true}"#),
            vec![],
        ),
        (None, vec!["refresh_token=garbage"]),
        (Some(r#"{"refresh_token": 7}"#), vec![]),
    ] {
        let resp = logout(&env, body, &cookies).await;
        assert_204_cleared(&resp);
    }
    assert_eq!(status(&env.refresh_with_body(&live).await), 200);
}

#[tokio::test]
async fn a_single_logout_is_one_round_trip() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    let t = env.login_token("alice", "pw-123456").await;
    env.dynamodb_calls.reset();
    assert_204_cleared(&logout(&env, None, &[&format!("refresh_token={t}")]).await);
    assert_eq!(env.dynamodb_calls.get(), 1);
}

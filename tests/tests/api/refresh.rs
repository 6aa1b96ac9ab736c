//! POST /auth/refresh against DynamoDB Local: rotation, reuse detection, grace window,
//! lifetimes, concurrency, round trips.

use integration_tests::*;
use serde_json::json;
use shared::http::handlers::Endpoint;
use shared::ports::UserStore;

async fn env_with_user() -> TestEnv {
    let env = TestEnv::new().await;
    env.create_user("alice", "pw-123456", &["reader"]).await;
    env
}

#[tokio::test]
async fn refresh_rotates_the_token_and_sets_the_new_cookie() {
    let env = env_with_user().await;
    let t0 = env.login_token("alice", "pw-123456").await;

    let resp = env.refresh_with_cookie(&t0).await;

    let t1 = refresh_token_of(&resp);
    assert_ne!(t1, t0);
    let b = body(&resp);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 900);
    assert!(b["access_token"].as_str().is_some());
    assert_eq!(
        cookies(&resp),
        vec![format!(
            "refresh_token={t1}; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age={}",
            b["refresh_expires_in"]
        )]
    );
    let t2 = refresh_token_of(&env.refresh_with_body(&t1).await);
    assert_ne!(t2, t1);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_session_and_its_later_tokens() {
    let env = env_with_user().await;
    let t0 = env.login_token("alice", "pw-123456").await;
    let t1 = refresh_token_of(&env.refresh_with_body(&t0).await);
    env.clock.advance(env.cfg.sessions.reuse_grace_secs + 1);

    let reuse = env.refresh_with_body(&t0).await;
    assert_eq!(status(&reuse), 401);
    assert_eq!(body(&reuse)["error"], "invalid_grant");
    assert!(clears_cookie(&reuse));

    let later = env.refresh_with_body(&t1).await;
    assert_eq!(status(&later), 401, "the live token died with the session");
}

#[tokio::test]
async fn reuse_inside_the_grace_window_gets_the_same_successor() {
    let env = env_with_user().await;
    let t0 = env.login_token("alice", "pw-123456").await;
    let first = refresh_token_of(&env.refresh_with_body(&t0).await);
    // The grace window is measured in milliseconds: its last one still counts.
    env.clock
        .advance_ms(env.cfg.sessions.reuse_grace_secs * 1000 - 1);

    let again = refresh_token_of(&env.refresh_with_cookie(&t0).await);

    assert_eq!(again, first);
    refresh_token_of(&env.refresh_with_body(&again).await);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_converge_on_one_live_branch() {
    let env = std::sync::Arc::new(env_with_user().await);
    let t0 = env.login_token("alice", "pw-123456").await;

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let env = env.clone();
            let t0 = t0.clone();
            tokio::spawn(async move { env.refresh_with_body(&t0).await })
        })
        .collect();
    let mut successors = Vec::new();
    for task in tasks {
        let resp = task.await.unwrap();
        assert_eq!(status(&resp), 200, "{resp}");
        successors.push(refresh_token_of(&resp));
    }
    successors.dedup();
    assert_eq!(successors.len(), 1, "every tab holds the same token");
    let next = refresh_token_of(&env.refresh_with_body(&successors[0]).await);
    assert_ne!(next, successors[0]);
}

#[tokio::test]
async fn a_grandparent_token_inside_the_grace_window_revokes_the_session() {
    let env = env_with_user().await;
    let t0 = env.login_token("alice", "pw-123456").await;
    let t1 = refresh_token_of(&env.refresh_with_body(&t0).await);
    let t2 = refresh_token_of(&env.refresh_with_body(&t1).await);

    assert_eq!(status(&env.refresh_with_body(&t0).await), 401);
    assert_eq!(status(&env.refresh_with_body(&t2).await), 401);
}

#[tokio::test]
async fn the_absolute_session_lifetime_is_never_extended() {
    let env = TestEnv::with(|c| {
        c.sessions.refresh_ttl = 1_000;
        c.sessions.max_age = 2_500;
    })
    .await;
    env.create_user("alice", "pw-123456", &[]).await;
    let mut t = env.login_token("alice", "pw-123456").await;
    for _ in 0..2 {
        env.clock.advance(900);
        t = refresh_token_of(&env.refresh_with_body(&t).await);
    }
    env.clock.advance(700);
    assert_eq!(status(&env.refresh_with_body(&t).await), 401);
}

#[tokio::test]
async fn an_expired_session_still_in_the_table_is_refused() {
    let env = env_with_user().await;
    let t0 = env.login_token("alice", "pw-123456").await;
    env.clock.advance(env.cfg.sessions.refresh_ttl);

    let resp = env.refresh_with_body(&t0).await;

    assert_eq!(status(&resp), 401);
    assert_eq!(
        env.session_items().await.len(),
        1,
        "the item is still there (TTL is lazy)"
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_refresh() {
    let env = env_with_user().await;
    let t0 = env.login_token("alice", "pw-123456").await;
    env.app
        .store
        .set_disabled(&shared::domain::Username::parse("alice").unwrap(), true)
        .await
        .unwrap();
    let resp = env.refresh_with_body(&t0).await;
    assert_eq!(status(&resp), 401);
    assert_eq!(body(&resp)["error"], "invalid_grant");
}

#[tokio::test]
async fn the_body_token_wins_over_the_cookie() {
    let env = env_with_user().await;
    let good = env.login_token("alice", "pw-123456").await;
    let event = refresh_event(
        Some(&json!({ "refresh_token": good }).to_string()),
        &["refresh_token=garbage"],
    );
    assert_eq!(status(&env.invoke(Endpoint::Refresh, event).await), 200);

    let good = env.login_token("alice", "pw-123456").await;
    let event = refresh_event(
        Some(&json!({ "refresh_token": "garbage" }).to_string()),
        &[&format!("refresh_token={good}")],
    );
    assert_eq!(status(&env.invoke(Endpoint::Refresh, event).await), 401);
}

#[tokio::test]
async fn missing_token_or_unparseable_body_is_400() {
    let env = env_with_user().await;
    for event in [
        refresh_event(None, &[]),
        refresh_event(Some("{}"), &[]),
        refresh_event(Some("{not json"), &["refresh_token=x"]),
        refresh_event(Some("[1]"), &[]),
        refresh_event(Some(r#"{"refresh_token": 5}"#), &[]),
    ] {
        let resp = env.invoke(Endpoint::Refresh, event).await;
        assert_eq!(status(&resp), 400, "{resp}");
        assert_eq!(body(&resp)["error"], "invalid_request");
    }
}

#[tokio::test]
async fn garbage_oversized_and_unknown_tokens_are_401_with_the_cookie_cleared() {
    let env = env_with_user().await;
    let real = env.login_token("alice", "pw-123456").await;
    let unknown_session = format!(
        "{}.{}.{}",
        real.splitn(3, '.').take(2).collect::<Vec<_>>().join("."),
        "0123456789abcdef0123456789abcdef",
        real.rsplit('.').next().unwrap()
    );
    for token in [
        "garbage".to_string(),
        "x".repeat(10_000),
        unknown_session,
        format!("{real}x"),
        "rt1.....".into(),
    ] {
        let resp = env.refresh_with_body(&token).await;
        assert_eq!(status(&resp), 401, "{token:.40}");
        assert_eq!(body(&resp)["error"], "invalid_grant");
        assert!(clears_cookie(&resp));
    }
    let big_cookie = env
        .invoke(
            Endpoint::Refresh,
            refresh_event(None, &[&format!("refresh_token={}", "y".repeat(4_000))]),
        )
        .await;
    assert_eq!(
        status(&big_cookie),
        401,
        "an oversized token is just not ours"
    );
    let huge_cookie_header = env
        .invoke(
            Endpoint::Refresh,
            refresh_event(None, &[&format!("refresh_token={}", "y".repeat(9_000))]),
        )
        .await;
    assert_eq!(status(&huge_cookie_header), 400, "{huge_cookie_header}");
    // None of that touched the real session.
    assert_eq!(status(&env.refresh_with_body(&real).await), 200);
}

#[tokio::test]
async fn a_refresh_is_one_read_and_one_conditional_write() {
    let env = env_with_user().await;
    let t0 = env.login_token("alice", "pw-123456").await;
    env.dynamodb_calls.reset();

    let t1 = refresh_token_of(&env.refresh_with_body(&t0).await);
    assert_eq!(
        env.dynamodb_calls.get(),
        2,
        "BatchGetItem + conditional PutItem"
    );

    env.dynamodb_calls.reset();
    refresh_token_of(&env.refresh_with_body(&t0).await);
    assert_eq!(env.dynamodb_calls.get(), 1, "a grace repeat only reads");
    let _ = t1;
}

#[tokio::test]
async fn a_login_beyond_the_cap_evicts_the_oldest_session() {
    let env = TestEnv::with(|c| c.sessions.max_per_user = 3).await;
    env.create_user("alice", "pw-123456", &[]).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(env.login_token("alice", "pw-123456").await);
        env.clock.advance(1);
    }
    assert_eq!(status(&env.refresh_with_body(&tokens[0]).await), 401);
    for t in &tokens[1..] {
        assert_eq!(status(&env.refresh_with_body(t).await), 200);
    }
    let left = shared::ports::SessionStore::list_sessions(
        env.app.store.as_ref(),
        &shared::domain::Username::parse("alice").unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(left.len(), 3);
}

#[tokio::test]
async fn a_rotation_from_a_stale_read_loses_the_conditional_write() {
    use shared::ports::SessionStore;
    let env = env_with_user().await;
    let t0 = env.login_token("alice", "pw-123456").await;
    let parsed = shared::domain::RefreshToken::parse(&t0).unwrap();
    let (read, _) = env
        .app
        .store
        .load_for_refresh(&parsed.username, &parsed.session_id)
        .await
        .unwrap();
    let read = read.unwrap();

    let mut winner = read.clone();
    winner.version += 1;
    winner.device_id = "winner".into();
    assert!(env.app.store.rotate(&winner, read.version).await.unwrap());
    let mut stale = read.clone();
    stale.version += 1;
    stale.device_id = "stale".into();
    assert!(!env.app.store.rotate(&stale, read.version).await.unwrap());

    let (now, _) = env
        .app
        .store
        .load_for_refresh(&parsed.username, &parsed.session_id)
        .await
        .unwrap();
    assert_eq!(now.unwrap().device_id, "winner");
}

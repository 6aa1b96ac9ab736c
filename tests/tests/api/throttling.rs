//! Login throttling against DynamoDB Local: the counter works across instances (it is in the
//! table), counts concurrent failures atomically, and locks with 429 + Retry-After.

use std::sync::Arc;

use integration_tests::*;

#[tokio::test]
async fn repeated_failures_give_429_with_retry_after_even_for_the_right_password() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    for _ in 0..env.cfg.lockout.max_failures {
        assert_eq!(status(&env.login("alice", "wrong-password").await), 401);
    }

    let locked = env.login("alice", "pw-123456").await;

    assert_eq!(status(&locked), 429, "{locked}");
    assert_eq!(body(&locked)["error"], "too_many_attempts");
    assert_eq!(header(&locked, "retry-after"), Some("30"));
    assert!(cookies(&locked).is_empty());

    env.clock.advance(30);
    assert_eq!(status(&env.login("alice", "pw-123456").await), 200);
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    let env = Arc::new(TestEnv::with(|c| c.lockout.max_failures = 8).await);
    env.create_user("alice", "pw-123456", &[]).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move { status(&env.login("alice", "wrong-password").await) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 401);
    }
    assert_eq!(status(&env.login("alice", "pw-123456").await), 429);
}

#[tokio::test]
async fn the_counter_is_shared_by_every_instance() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    // A second "Lambda instance": its own service over the same tables.
    let other = env.another_instance();
    for i in 0..env.cfg.lockout.max_failures {
        let svc = if i % 2 == 0 {
            &env.app.service
        } else {
            &other.service
        };
        let err = svc
            .login(shared::service::LoginInput {
                username: "alice".into(),
                password: "wrong".into(),
                device_id: "x".into(),
                device_tokens: Vec::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err, shared::AuthError::InvalidCredentials);
    }
    assert_eq!(status(&env.login("alice", "pw-123456").await), 429);
}

#[tokio::test]
async fn throttle_records_never_show_up_as_sessions() {
    let env = TestEnv::with_user("alice", "pw-123456").await;
    env.login("alice", "wrong-password").await;
    let sessions = shared::ports::SessionStore::list_sessions(
        env.app.store.as_ref(),
        &shared::domain::Username::parse("alice").unwrap(),
    )
    .await
    .unwrap();
    assert!(sessions.is_empty());
}

//! `AUTHORIZER_REVOCATION=session` against DynamoDB Local: every way a session ends makes its
//! access tokens refused at the next authorizer call, other sessions keep working, one round
//! trip per call, and what happens when DynamoDB is down (fail closed, or open if configured).

use integration_tests::proxy::Mode;
use integration_tests::*;
use serde_json::{json, Value};
use shared::config::{AuthorizerRevocation, RevocationFailMode};
use shared::domain::revocation::Revoked;
use shared::http::handlers::Endpoint;
use shared::service::authorizer::{Authorizer, Denied};

fn checking(env: &TestEnv) -> Authorizer {
    shared::app::authorizer(
        &env.cfg,
        env.verify_ring(),
        env.clock.clone(),
        Some(env.app.store.clone()),
    )
}

async fn session_env() -> TestEnv {
    TestEnv::with(|c| c.authorizer.revocation = AuthorizerRevocation::Session).await
}

fn access(login: &Value) -> String {
    format!("Bearer {}", body(login)["access_token"].as_str().unwrap())
}

async fn verdict(authorizer: &Authorizer, bearer: &str) -> Result<(), Denied> {
    authorizer.authorize(Some(bearer)).await.map(|_| ())
}

#[tokio::test]
async fn logout_refuses_that_sessions_access_token_at_once_and_not_the_others() {
    let env = session_env().await;
    env.create_user("ana", "ana-password-1", &[]).await;
    let (a, b) = (
        env.login("ana", "ana-password-1").await,
        env.login("ana", "ana-password-1").await,
    );
    let authorizer = checking(&env);
    assert_eq!(verdict(&authorizer, &access(&a)).await, Ok(()));
    assert_eq!(verdict(&authorizer, &access(&b)).await, Ok(()));

    let out = env
        .invoke(
            Endpoint::Logout,
            logout_event(
                Some(&json!({"refresh_token": refresh_token_of(&a)}).to_string()),
                &[],
            ),
        )
        .await;
    assert_eq!(status(&out), 204);
    assert_eq!(
        verdict(&authorizer, &access(&a)).await,
        Err(Denied::Revoked(Revoked::SessionGone))
    );
    assert_eq!(verdict(&authorizer, &access(&b)).await, Ok(()));
    // Today's offline authorizer still lets the logged-out token through (until it expires).
    let offline = Authorizer::new(&env.cfg, env.verify_ring(), env.clock.clone());
    assert!(offline.authorize(Some(&access(&a))).await.is_ok());
}

#[tokio::test]
async fn reuse_detection_refuses_the_whole_sessions_access_tokens() {
    let env = session_env().await;
    env.create_user("ben", "ben-password-1", &[]).await;
    let login = env.login("ben", "ben-password-1").await;
    let other = env.login("ben", "ben-password-1").await;
    let t0 = refresh_token_of(&login);
    let rotated = env.refresh_with_body(&t0).await;
    assert_eq!(status(&rotated), 200);
    let authorizer = checking(&env);
    assert_eq!(verdict(&authorizer, &access(&rotated)).await, Ok(()));

    env.clock.advance(env.cfg.sessions.reuse_grace_secs + 1);
    let replay = env.refresh_with_body(&t0).await;
    assert_eq!(status(&replay), 401);
    for token in [access(&login), access(&rotated)] {
        assert_eq!(
            verdict(&authorizer, &token).await,
            Err(Denied::Revoked(Revoked::SessionGone))
        );
    }
    assert_eq!(verdict(&authorizer, &access(&other)).await, Ok(()));
}

#[tokio::test]
async fn an_evicted_session_and_a_disabled_user_are_refused() {
    let env = TestEnv::with(|c| {
        c.authorizer.revocation = AuthorizerRevocation::Session;
        c.sessions.max_per_user = 2;
    })
    .await;
    env.create_user("cleo", "cleo-password-1", &[]).await;
    let first = env.login("cleo", "cleo-password-1").await;
    env.clock.advance_ms(5);
    let second = env.login("cleo", "cleo-password-1").await;
    env.clock.advance_ms(5);
    let third = env.login("cleo", "cleo-password-1").await;
    let authorizer = checking(&env);
    assert_eq!(
        verdict(&authorizer, &access(&first)).await,
        Err(Denied::Revoked(Revoked::SessionGone)),
        "the oldest session was evicted"
    );
    assert_eq!(verdict(&authorizer, &access(&second)).await, Ok(()));

    shared::service::admin::set_disabled(env.app.store.as_ref(), "cleo", true)
        .await
        .unwrap();
    for token in [access(&second), access(&third)] {
        assert_eq!(
            verdict(&authorizer, &token).await,
            Err(Denied::Revoked(Revoked::UserRefused))
        );
    }
    shared::service::admin::set_disabled(env.app.store.as_ref(), "cleo", false)
        .await
        .unwrap();
    assert_eq!(verdict(&authorizer, &access(&third)).await, Ok(()));
}

#[tokio::test]
async fn a_password_change_refuses_every_other_sessions_tokens_and_keeps_the_current() {
    let env = session_env().await;
    env.create_user("dora", "dora-password-1", &[]).await;
    let here = env.login("dora", "dora-password-1").await;
    let elsewhere = env.login("dora", "dora-password-1").await;
    let mut change = account_event("password-change.json", &identity_of(&here));
    change["body"] = json!(json!({
        "current_password": "dora-password-1",
        "new_password": "amber lantern quietly 77"
    })
    .to_string());
    let out = env.invoke(Endpoint::Account, change).await;
    assert_eq!(status(&out), 204, "{out}");
    let authorizer = checking(&env);
    assert_eq!(verdict(&authorizer, &access(&here)).await, Ok(()));
    assert!(verdict(&authorizer, &access(&elsewhere)).await.is_err());
    // An administrator's set-password (revoke-all): every session, the current one too.
    shared::service::admin::set_password(
        env.app.store.as_ref(),
        env.app.store.as_ref(),
        &shared::crypto::password::Passwords::default(),
        env.app.clock.as_ref(),
        None,
        "dora",
        "another long password 99".into(),
    )
    .await
    .unwrap();
    assert!(verdict(&authorizer, &access(&here)).await.is_err());
}

#[tokio::test]
async fn one_dynamodb_round_trip_per_call_and_none_offline() {
    let env = session_env().await;
    env.create_user("eve", "eve-password-1", &[]).await;
    let token = access(&env.login("eve", "eve-password-1").await);
    let authorizer = checking(&env);
    verdict(&authorizer, &token).await.unwrap(); // keys loaded
    env.dynamodb_calls.reset();
    verdict(&authorizer, &token).await.unwrap();
    assert_eq!(env.dynamodb_calls.get(), 1);
    let offline = Authorizer::new(&env.cfg, env.verify_ring(), env.clock.clone());
    offline.authorize(Some(&token)).await.unwrap();
    env.dynamodb_calls.reset();
    offline.authorize(Some(&token)).await.unwrap();
    assert_eq!(env.dynamodb_calls.get(), 0);
}

#[tokio::test]
async fn with_dynamodb_down_the_check_fails_closed_or_open_as_configured() {
    for (mode, allowed) in [
        (RevocationFailMode::Deny, false),
        (RevocationFailMode::Allow, true),
    ] {
        let (env, ddb, _sm) = TestEnv::through_proxies_with(|c| {
            c.authorizer.revocation = AuthorizerRevocation::Session;
            c.authorizer.on_error = mode;
        })
        .await;
        env.create_user("finn", "finn-password-1", &[]).await;
        let token = access(&env.login("finn", "finn-password-1").await);
        let authorizer = checking(&env);
        assert_eq!(verdict(&authorizer, &token).await, Ok(()));
        for cut in [Mode::Cut, Mode::BlackHole] {
            ddb.set(cut);
            let started = std::time::Instant::now();
            let got = verdict(&authorizer, &token).await;
            assert!(
                started.elapsed() < std::time::Duration::from_secs(6),
                "{mode:?} {cut:?}"
            );
            if allowed {
                assert_eq!(got, Ok(()), "{mode:?} {cut:?}");
            } else {
                assert_eq!(got, Err(Denied::StoreUnavailable), "{mode:?} {cut:?}");
            }
        }
        // A forged or expired token is refused whatever the mode: the offline checks come first.
        ddb.set(Mode::Forward);
        assert!(verdict(&authorizer, "Bearer not.a.token").await.is_err());
    }
}

#[tokio::test]
async fn a_password_reset_by_email_refuses_every_access_token_of_the_user_at_once() {
    let env = session_env().await;
    let user = env.create_user("ivy", "ivy-password-1", &[]).await;
    let address = fresh_email("ivy");
    env.set_email(&user, &address).await;
    let (a, b) = (
        env.login("ivy", "ivy-password-1").await,
        env.login("ivy", "ivy-password-1").await,
    );
    let authorizer = checking(&env);
    assert_eq!(verdict(&authorizer, &access(&a)).await, Ok(()));
    env.clock.advance(1);
    env.app
        .service
        .forgot_password(shared::domain::Email::parse(&address).unwrap())
        .await
        .unwrap();
    let token = mails_to(&address).await[0].token();
    env.app
        .service
        .reset_password(&token, "a fresh passphrase 55".into())
        .await
        .unwrap();
    for login in [&a, &b] {
        assert!(verdict(&authorizer, &access(login)).await.is_err());
    }
}

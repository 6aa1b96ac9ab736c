//! Unit tests of the email use cases over the in-memory store and the outbox (the same cases
//! run against DynamoDB Local and moto's SES in `tests/tests/api/email.rs`).

use std::sync::Arc;

use secrecy::SecretString;

use crate::adapters::memory::{hs256_ring, FakeClock, MemoryStore};
use crate::adapters::outbox::Outbox;
use crate::config::Config;
use crate::crypto::password::Passwords;
use crate::domain::Email;
use crate::error::AuthError;
use crate::service::accounts::RegisterInput;
use crate::service::{AuthService, Issued, Stores};

const T0: u64 = 1_700_000_000;
const STRONG: &str = "violet kettle orbit 42";

struct World {
    svc: AuthService,
    outbox: Arc<Outbox>,
    clock: Arc<FakeClock>,
}

fn world(change: impl FnOnce(&mut Config)) -> World {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.signup.enabled = true;
    cfg.email.from = Some("auth@example.com".into());
    cfg.email.app_url = Some("https://app.example.com".into());
    cfg.email.forgot_floor_ms = 0;
    change(&mut cfg);
    let clock = Arc::new(FakeClock::new(T0));
    let ring = hs256_ring(clock.clone());
    let outbox = Arc::new(Outbox::new(clock.clone()));
    let svc = AuthService::new(
        Arc::new(cfg),
        Stores::all_in(Arc::new(MemoryStore::new())),
        ring,
        clock.clone(),
        Passwords::with_params(8, 1, 1).unwrap(),
    )
    .with_mailer(outbox.clone());
    World { svc, outbox, clock }
}

impl World {
    async fn register(&self, name: &str, email: &str) -> Result<Issued, AuthError> {
        self.svc
            .register(RegisterInput {
                username: name.into(),
                password: STRONG.into(),
                device_id: "laptop".into(),
                email: Some(Email::parse(email).unwrap()),
            })
            .await
    }

    /// The token of the newest mail (its one link's fragment).
    fn last_token(&self) -> String {
        let text = self.outbox.messages().last().unwrap().text.clone();
        text.split("#token=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }
}

#[tokio::test]
async fn a_verify_link_works_once_and_a_newer_one_supersedes_it() {
    let w = world(|_| {});
    w.register("ana", "ana@example.com").await.unwrap();
    let first = w.last_token();
    let mail = w.outbox.messages()[0].clone();
    assert_eq!(mail.to, "ana@example.com");
    assert!(mail
        .text
        .contains("https://app.example.com/verify-email#token="));
    assert_eq!(w.svc.verify_email(&first).await, Ok(()));
    assert_eq!(
        w.svc.verify_email(&first).await,
        Err(AuthError::InvalidEmailToken)
    );
}

#[tokio::test]
async fn a_reset_is_refused_once_expired_and_a_weak_password_spends_nothing() {
    let w = world(|_| {});
    w.register("bo", "bo@example.com").await.unwrap();
    w.svc
        .forgot_password(Email::parse("bo@example.com").unwrap())
        .await
        .unwrap();
    let token = w.last_token();
    assert!(matches!(
        w.svc.reset_password(&token, SecretString::from("bo")).await,
        Err(AuthError::WeakPassword(_))
    ));
    assert_eq!(
        w.svc
            .reset_password(&token, "amber lantern quietly 77".into())
            .await,
        Ok(())
    );
    assert_eq!(
        w.svc
            .reset_password(&token, "amber lantern quietly 78".into())
            .await,
        Err(AuthError::InvalidEmailToken)
    );
    w.svc
        .forgot_password(Email::parse("bo@example.com").unwrap())
        .await
        .unwrap();
    let late = w.last_token();
    w.clock.advance(3600);
    assert_eq!(
        w.svc
            .reset_password(&late, "copper meadow whistle 8".into())
            .await,
        Err(AuthError::InvalidEmailToken)
    );
}

#[tokio::test]
async fn the_hourly_limit_counts_every_mail_to_an_address() {
    let w = world(|c| c.email.max_per_hour = 2);
    w.register("cy", "cy@example.com").await.unwrap(); // 1
    let email = Email::parse("cy@example.com").unwrap();
    for _ in 0..5 {
        w.svc.forgot_password(email.clone()).await.unwrap();
    }
    assert_eq!(w.outbox.messages().len(), 2);
    w.clock.advance(3600);
    w.svc.forgot_password(email).await.unwrap();
    assert_eq!(w.outbox.messages().len(), 3);
}

#[tokio::test]
async fn a_failed_verification_mail_undoes_the_sign_up() {
    let w = world(|_| {});
    w.outbox.fail(true);
    let refused = w.register("di", "di@example.com").await;
    assert_eq!(refused.unwrap_err().status(), 503);
    w.outbox.fail(false);
    assert!(
        w.register("di", "di@example.com").await.is_ok(),
        "the retry succeeds"
    );
}

#[tokio::test]
async fn without_email_from_nothing_is_mailed_and_the_routes_are_503() {
    let w = world(|c| c.email.from = None);
    let email = Email::parse("ed@example.com").unwrap();
    assert_eq!(
        w.svc.forgot_password(email).await.unwrap_err().status(),
        503
    );
    assert_eq!(
        w.register("ed", "ed@example.com")
            .await
            .unwrap_err()
            .status(),
        503
    );
    assert!(w.outbox.messages().is_empty());
}

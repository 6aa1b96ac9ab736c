//! Unit tests of the second factor over the in-memory store (the same flows run against
//! DynamoDB Local through the functions in `tests/tests/api/mfa.rs`).

use std::sync::Arc;

use secrecy::ExposeSecret;

use super::*;
use crate::adapters::memory::{hs256_ring, FakeClock, MemoryStore, StaticDataKeys};
use crate::config::Config;
use crate::crypto::password::Passwords;
use crate::crypto::tokens::{AccessTokenVerifier, TokenSettings};
use crate::domain::Username;
use crate::ports::{Clock, UserStore};
use crate::service::accounts::{Caller, RegisterInput};
use crate::service::{LoginInput, Stores};

const T0: u64 = 1_800_000_000;
const PASSWORD: &str = "violet kettle orbit 42";

struct World {
    svc: AuthService,
    store: Arc<MemoryStore>,
    clock: Arc<FakeClock>,
    cfg: Arc<Config>,
}

fn world() -> World {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.signup.enabled = true;
    let cfg = Arc::new(cfg);
    let clock = Arc::new(FakeClock::new(T0));
    let ring = hs256_ring(clock.clone());
    let store = Arc::new(MemoryStore::new());
    let svc = AuthService::new(
        cfg.clone(),
        Stores::all_in(store.clone()),
        ring,
        clock.clone(),
        Passwords::with_params(8, 1, 1).unwrap(),
    )
    .with_data_keys(Arc::new(StaticDataKeys::one()));
    World {
        svc,
        store,
        clock,
        cfg,
    }
}

impl World {
    /// Signs `name` up and returns the caller of its first session.
    async fn signed_up(&self, name: &str) -> Caller {
        let issued = self
            .svc
            .register(RegisterInput {
                username: name.into(),
                password: PASSWORD.into(),
                device_id: "laptop".into(),
                email: None,
            })
            .await
            .unwrap();
        let user = self.user(name).await;
        Caller {
            user_id: user.user_id,
            username: user.username,
            session_id: issued.session_id,
        }
    }

    async fn user(&self, name: &str) -> User {
        let username = Username::parse(name).unwrap();
        self.store.get_user(&username).await.unwrap().unwrap()
    }

    /// Enrols and confirms TOTP for `caller`: the secret and the recovery codes.
    async fn enrolled(&self, caller: &Caller) -> (TotpSecret, Vec<String>) {
        let enrolment = self.svc.begin_totp(caller, PASSWORD.into()).await.unwrap();
        let secret = secret_of(enrolment.secret.expose_secret());
        let codes = self
            .svc
            .confirm_totp(
                caller,
                &secret.code_at_step(totp::step_of(self.clock.now())),
            )
            .await
            .unwrap();
        // The next code must be of a later step than the confirming one.
        self.clock.advance(totp::STEP);
        (secret, codes.0)
    }

    async fn login(&self, name: &str, password: &str) -> Result<Issued, AuthError> {
        self.svc
            .login(LoginInput {
                username: name.into(),
                password: password.into(),
                device_id: "phone".into(),
                device_tokens: vec![],
            })
            .await
    }

    /// The right password of a user with TOTP: the `mfa_token` of the pending login.
    async fn mfa_token(&self, name: &str) -> String {
        match self.login(name, PASSWORD).await {
            Err(AuthError::MfaRequired(pending)) => {
                assert_eq!(pending.expires_in, 300);
                pending.mfa_token
            }
            other => panic!("expected mfa_required, got {other:?}"),
        }
    }

    async fn second_step(&self, token: &str, factor: SecondFactor) -> Result<Issued, AuthError> {
        self.svc
            .login_mfa(MfaLoginInput {
                mfa_token: token.into(),
                factor,
            })
            .await
    }

    fn now_code(&self, secret: &TotpSecret) -> SecondFactor {
        SecondFactor::Totp(secret.code_at_step(totp::step_of(self.clock.now())))
    }

    async fn amr_of(&self, issued: &Issued) -> Vec<String> {
        AccessTokenVerifier::new(&TokenSettings::from(self.cfg.as_ref()), self.clock.clone())
            .verify(&issued.access_token, self.svc.keys())
            .await
            .unwrap()
            .amr
    }
}

/// The secret back from the base32 an authenticator app is given.
fn secret_of(base32: &str) -> TotpSecret {
    TotpSecret::from_base32(base32).unwrap()
}

#[tokio::test]
async fn enrolment_seals_the_secret_and_a_confirming_code_turns_totp_on() {
    let w = world();
    let ana = w.signed_up("ana").await;
    let enrolment = w.svc.begin_totp(&ana, PASSWORD.into()).await.unwrap();
    let base32 = enrolment.secret.expose_secret().to_string();
    assert_eq!(base32.len(), 32, "160 bits");
    assert!(enrolment
        .otpauth_uri
        .expose_secret()
        .starts_with("otpauth://totp/"));
    assert!(enrolment
        .otpauth_uri
        .expose_secret()
        .contains(&format!("secret={base32}&")));
    // Pending and sealed: the stored form holds neither the base32 nor the raw secret.
    let stored = w.user("ana").await;
    let pending = stored.totp.pending.clone().unwrap();
    assert!(pending.starts_with("s1.k1."), "{pending}");
    assert!(!pending.contains(&base32));
    assert!(!stored.totp.enabled());
    // Still off: a login needs no second factor.
    assert!(w.login("ana", PASSWORD).await.is_ok());

    let secret = secret_of(&base32);
    let wrong = format!(
        "{:06}",
        (secret
            .code_at_step(totp::step_of(T0))
            .parse::<u32>()
            .unwrap()
            + 1)
            % 1_000_000
    );
    assert_eq!(
        w.svc.confirm_totp(&ana, &wrong).await.unwrap_err(),
        AuthError::InvalidEnrolmentCode
    );
    let codes = w
        .svc
        .confirm_totp(&ana, &secret.code_at_step(totp::step_of(T0)))
        .await
        .unwrap();
    assert_eq!(codes.0.len(), 10);
    let stored = w.user("ana").await;
    assert!(stored.totp.enabled() && stored.totp.pending.is_none());
    assert_eq!(stored.totp.last_step, totp::step_of(T0));
    for code in &codes.0 {
        assert!(!stored.totp.recovery_codes.contains(code), "stored hashed");
    }
    // On: a second enrolment is refused until it is turned off.
    assert_eq!(
        w.svc.begin_totp(&ana, PASSWORD.into()).await.unwrap_err(),
        AuthError::MfaAlreadyEnabled
    );
}

#[tokio::test]
async fn a_new_enrolment_replaces_a_pending_one_and_a_wrong_password_starts_none() {
    let w = world();
    let ana = w.signed_up("ana").await;
    assert_eq!(
        w.svc
            .begin_totp(&ana, "not the password".into())
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert!(w.user("ana").await.totp.pending.is_none());
    let first = w.svc.begin_totp(&ana, PASSWORD.into()).await.unwrap();
    let second = w.svc.begin_totp(&ana, PASSWORD.into()).await.unwrap();
    assert_ne!(first.secret.expose_secret(), second.secret.expose_secret());
    let stale = secret_of(first.secret.expose_secret());
    assert_eq!(
        w.svc
            .confirm_totp(&ana, &stale.code_at_step(totp::step_of(T0)))
            .await
            .unwrap_err(),
        AuthError::InvalidEnrolmentCode
    );
}

#[tokio::test]
async fn a_right_password_asks_for_the_second_factor_which_completes_the_login_once() {
    let w = world();
    let ana = w.signed_up("ana").await;
    let (secret, _) = w.enrolled(&ana).await;
    // A wrong password answers as for anyone.
    assert_eq!(
        w.login("ana", "wrong password").await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    let token = w.mfa_token("ana").await;
    let code = w.now_code(&secret);
    let issued = w.second_step(&token, code.clone()).await.unwrap();
    assert_eq!(w.amr_of(&issued).await, ["pwd", "otp", "mfa"]);
    assert!(issued.device_token.is_some());
    // The token is used once; the same code again (a new pending login) is a replay.
    assert_eq!(
        w.second_step(&token, w.now_code(&secret))
            .await
            .unwrap_err(),
        AuthError::InvalidMfaToken
    );
    let again = w.mfa_token("ana").await;
    assert_eq!(
        w.second_step(&again, code).await.unwrap_err(),
        AuthError::InvalidCode
    );
    // An earlier step's code is spent too; the next step's works (one step of skew).
    let step = totp::step_of(w.clock.now());
    let earlier = SecondFactor::Totp(secret.code_at_step(step - 1));
    assert_eq!(
        w.second_step(&again, earlier).await.unwrap_err(),
        AuthError::InvalidCode
    );
    let next = SecondFactor::Totp(secret.code_at_step(step + 1));
    assert!(w.second_step(&again, next).await.is_ok());
}

#[tokio::test]
async fn a_recovery_code_completes_a_login_once_and_new_codes_void_the_old() {
    let w = world();
    let ana = w.signed_up("ana").await;
    let (secret, codes) = w.enrolled(&ana).await;
    let token = w.mfa_token("ana").await;
    let typed = codes[0].to_uppercase();
    let issued = w
        .second_step(&token, SecondFactor::Recovery(typed.clone()))
        .await
        .unwrap();
    assert_eq!(w.amr_of(&issued).await, ["pwd", "mfa"]);
    assert_eq!(w.user("ana").await.totp.recovery_codes.len(), 9);
    let token = w.mfa_token("ana").await;
    assert_eq!(
        w.second_step(&token, SecondFactor::Recovery(typed))
            .await
            .unwrap_err(),
        AuthError::InvalidCode
    );
    let fresh = w
        .svc
        .regenerate_recovery_codes(&ana, secret.code_at_step(totp::step_of(w.clock.now())))
        .await
        .unwrap();
    assert_eq!(fresh.0.len(), 10);
    assert_eq!(
        w.second_step(&token, SecondFactor::Recovery(codes[1].clone()))
            .await
            .unwrap_err(),
        AuthError::InvalidCode
    );
    assert!(w
        .second_step(&token, SecondFactor::Recovery(fresh.0[0].clone()))
        .await
        .is_ok());
}

#[tokio::test]
async fn codes_count_against_the_lockout_and_a_right_password_does_not_reset_it() {
    let w = world();
    let max = w.cfg.lockout_policy().max_failures;
    let ana = w.signed_up("ana").await;
    let (secret, _) = w.enrolled(&ana).await;
    // The password step counts one attempt and, right as it is, leaves it counted.
    let token = w.mfa_token("ana").await;
    for _ in 1..max {
        assert_eq!(
            w.second_step(&token, SecondFactor::Totp("000000".into()))
                .await
                .unwrap_err(),
            AuthError::InvalidCode
        );
    }
    // Locked now: the right code is not even checked, nor is the right password.
    assert!(matches!(
        w.second_step(&token, w.now_code(&secret)).await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert!(matches!(
        w.login("ana", PASSWORD).await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    // After the lockout, a completed login clears the count.
    w.clock.advance(w.cfg.lockout_policy().cap + 1);
    let token = w.mfa_token("ana").await;
    w.second_step(&token, w.now_code(&secret)).await.unwrap();
    for _ in 1..max {
        let token = w.mfa_token("ana").await;
        let wrong = w.second_step(&token, SecondFactor::Totp("000000".into()));
        assert_eq!(wrong.await.unwrap_err(), AuthError::InvalidCode);
        // Password right and code wrong: two attempts a round, never a reset.
        if matches!(
            w.login("ana", PASSWORD).await,
            Err(AuthError::TooManyAttempts { .. })
        ) {
            return;
        }
    }
    panic!("alternating right passwords and wrong codes never locked the account");
}

#[tokio::test]
async fn a_pending_login_dies_with_expiry_a_password_change_or_an_mfa_reset() {
    let w = world();
    let ana = w.signed_up("ana").await;
    let (secret, _) = w.enrolled(&ana).await;
    for garbage in [
        "",
        "x",
        "not-a-token-at-all-but-long-enough-to-look-like-one",
    ] {
        assert_eq!(
            w.second_step(garbage, w.now_code(&secret))
                .await
                .unwrap_err(),
            AuthError::InvalidMfaToken
        );
    }
    let token = w.mfa_token("ana").await;
    w.clock.advance(301);
    assert_eq!(
        w.second_step(&token, w.now_code(&secret))
            .await
            .unwrap_err(),
        AuthError::InvalidMfaToken
    );
    let token = w.mfa_token("ana").await;
    w.clock.advance_ms(5);
    w.svc
        .change_password(&ana, PASSWORD.into(), "a wholly new passphrase 7".into())
        .await
        .unwrap();
    assert_eq!(
        w.second_step(&token, w.now_code(&secret))
            .await
            .unwrap_err(),
        AuthError::InvalidMfaToken
    );
    let token = match w.login("ana", "a wholly new passphrase 7").await {
        Err(AuthError::MfaRequired(p)) => p.mfa_token,
        other => panic!("{other:?}"),
    };
    let store = w.store.as_ref();
    let (_, was_on) = crate::service::admin::reset_mfa(store, store, "ana")
        .await
        .unwrap();
    assert!(was_on);
    assert_eq!(
        w.second_step(&token, w.now_code(&secret))
            .await
            .unwrap_err(),
        AuthError::InvalidMfaToken
    );
    // Reset: the password alone logs in again.
    assert!(w.login("ana", "a wholly new passphrase 7").await.is_ok());
}

#[tokio::test]
async fn turning_totp_off_takes_the_password_and_a_code() {
    let w = world();
    let ana = w.signed_up("ana").await;
    assert_eq!(
        w.svc
            .disable_totp(&ana, PASSWORD.into(), SecondFactor::Totp("123456".into()))
            .await
            .unwrap_err(),
        AuthError::MfaNotEnabled
    );
    let (secret, codes) = w.enrolled(&ana).await;
    assert_eq!(
        w.svc
            .disable_totp(&ana, "wrong".into(), w.now_code(&secret))
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        w.svc
            .disable_totp(&ana, PASSWORD.into(), SecondFactor::Totp("000000".into()))
            .await
            .unwrap_err(),
        AuthError::InvalidCode
    );
    assert!(w.user("ana").await.totp.enabled());
    w.svc
        .disable_totp(
            &ana,
            PASSWORD.into(),
            SecondFactor::Recovery(codes[3].clone()),
        )
        .await
        .unwrap();
    let stored = w.user("ana").await;
    assert_eq!(stored.totp, crate::domain::TotpState::default());
    assert!(w.login("ana", PASSWORD).await.is_ok());
}

#[tokio::test]
async fn without_data_keys_enrolment_and_the_totp_step_are_unavailable() {
    let w = world();
    let ana = w.signed_up("ana").await;
    let (secret, codes) = w.enrolled(&ana).await;
    let bare = AuthService::new(
        w.cfg.clone(),
        Stores::all_in(w.store.clone()),
        w.svc.keys().clone(),
        w.clock.clone(),
        Passwords::with_params(8, 1, 1).unwrap(),
    );
    let token = w.mfa_token("ana").await;
    let totp = bare.login_mfa(MfaLoginInput {
        mfa_token: token.clone(),
        factor: w.now_code(&secret),
    });
    assert_eq!(totp.await.unwrap_err().status(), 503);
    // A recovery code needs no key.
    let recovery = bare.login_mfa(MfaLoginInput {
        mfa_token: token,
        factor: SecondFactor::Recovery(codes[0].clone()),
    });
    assert!(recovery.await.is_ok());
    let bob = w.signed_up("bob").await;
    assert_eq!(
        bare.begin_totp(&bob, PASSWORD.into())
            .await
            .unwrap_err()
            .status(),
        503
    );
}

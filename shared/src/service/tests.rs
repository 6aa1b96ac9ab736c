//! Unit tests of the service over the in-memory fakes (the DynamoDB-backed behaviour is
//! covered again against DynamoDB Local in `tests/`).

use std::sync::Arc;

use super::*;
use crate::adapters::memory::{key_set, material};
use crate::adapters::memory::{FakeClock, MemoryStore, StaticKeySource};
use crate::crypto::tokens::{AccessTokenVerifier, TokenSettings};

struct Fixture {
    svc: Arc<AuthService>,
    store: Arc<MemoryStore>,
    clock: Arc<FakeClock>,
    keys: Arc<StaticKeySource>,
    cfg: Arc<Config>,
}

const T0: u64 = 1_700_000_000;

fn fixture_with(cfg: Config) -> Fixture {
    let cfg = Arc::new(cfg);
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(T0));
    let keys = Arc::new(StaticKeySource::new(key_set(("v1", 1), None)));
    let ring = Arc::new(KeyRing::new(
        keys.clone(),
        crate::domain::SigningAlg::Hs256,
        clock.clone(),
        cfg.signing.cache_ttl,
    ));
    let passwords = Passwords::with_params(8, 1, 1).unwrap();
    let svc = Arc::new(AuthService::new(
        cfg.clone(),
        Stores::all_in(store.clone()),
        ring,
        clock.clone(),
        passwords,
    ));
    Fixture {
        svc,
        store,
        clock,
        keys,
        cfg,
    }
}

fn fixture() -> Fixture {
    fixture_with(Config::from_lookup(|_| None).unwrap())
}

impl Fixture {
    async fn add_user(&self, name: &str, password: &str) -> User {
        let hash = Passwords::with_params(8, 1, 1)
            .unwrap()
            .hash_blocking(password)
            .unwrap();
        let user = User::new(
            uuid::Uuid::new_v4().to_string(),
            Username::parse(name).unwrap(),
            hash,
            vec!["reader".into()],
            T0,
        );
        self.store.create_user(&user).await.unwrap();
        user
    }

    /// The refresh token is refused (`invalid_grant`).
    async fn refresh_refused(&self, token: &str) {
        assert_eq!(
            self.svc.refresh(token).await.unwrap_err(),
            AuthError::InvalidGrant
        );
    }

    /// `user` changes the password from the session `from`.
    async fn change_password(
        &self,
        user: &User,
        from: &Issued,
        current: &str,
        new: &str,
    ) -> Result<(), AuthError> {
        self.svc
            .change_password(&caller_of(user, from), current.into(), new.into())
            .await
    }

    async fn login(&self, name: &str, password: &str) -> Result<Issued, AuthError> {
        self.svc
            .login(LoginInput {
                username: name.into(),
                password: password.into(),
                device_id: "test".into(),
                device_tokens: Vec::new(),
            })
            .await
    }
}

#[tokio::test]
async fn login_issues_an_access_token_for_the_stable_user_id() {
    let f = fixture();
    let user = f.add_user("alice", "pw-alice").await;
    let issued = f.login("Alice", "pw-alice").await.unwrap();
    let claims = AccessTokenVerifier::new(&TokenSettings::from(f.cfg.as_ref()), f.clock.clone())
        .verify(&issued.access_token, f.svc.keys())
        .await
        .unwrap();
    assert_eq!(claims.sub, user.user_id);
    assert_eq!(claims.username, "alice");
    assert_eq!(claims.sid, issued.session_id);
    assert_eq!(claims.exp, T0 + 900);
    assert_eq!(claims.amr, ["pwd"]);
    assert_eq!(issued.refresh_expires_in, 1_209_600);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_error() {
    let f = fixture();
    f.add_user("alice", "pw-alice").await;
    assert_eq!(
        f.login("alice", "wrong").await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        f.login("bob", "pw-alice").await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        f.login("not a name!", "x").await.unwrap_err(),
        AuthError::InvalidCredentials
    );
}

#[tokio::test]
async fn a_disabled_user_with_the_right_password_is_told_so() {
    let f = fixture();
    let user = f.add_user("alice", "pw").await;
    f.store.set_disabled(&user.username, true).await.unwrap();
    assert_eq!(
        f.login("alice", "pw").await.unwrap_err(),
        AuthError::AccountDisabled
    );
    assert_eq!(
        f.login("alice", "nope").await.unwrap_err(),
        AuthError::InvalidCredentials
    );
}

#[tokio::test]
async fn refresh_rotates_and_spends_the_old_token() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let first = f.login("alice", "pw").await.unwrap();
    f.clock.advance(60);
    let second = f.svc.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.session_id, first.session_id);
    let third = f.svc.refresh(&second.refresh_token).await.unwrap();
    assert_ne!(third.refresh_token, second.refresh_token);
    // How the session began is kept across refreshes (`amr`).
    let mut session = f
        .store
        .session(&Username::parse("alice").unwrap(), &third.session_id)
        .unwrap();
    assert_eq!(session.amr, ["pwd"]);
    session.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
    f.store.replace_session_for_test(&session);
    let fourth = f.svc.refresh(&third.refresh_token).await.unwrap();
    let claims = AccessTokenVerifier::new(&TokenSettings::from(f.cfg.as_ref()), f.clock.clone())
        .verify(&fourth.access_token, f.svc.keys())
        .await
        .unwrap();
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_whole_session() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let first = f.login("alice", "pw").await.unwrap();
    let second = f.svc.refresh(&first.refresh_token).await.unwrap();
    f.clock.advance(f.cfg.sessions.reuse_grace_secs + 1);
    f.refresh_refused(&first.refresh_token).await;
    // The live (later) token died with the session.
    f.refresh_refused(&second.refresh_token).await;
}

#[tokio::test]
async fn reuse_inside_the_grace_window_returns_the_same_successor() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let first = f.login("alice", "pw").await.unwrap();
    let a = f.svc.refresh(&first.refresh_token).await.unwrap();
    // The window is measured in milliseconds: its last one still counts.
    f.clock
        .advance_ms(f.cfg.sessions.reuse_grace_secs * 1000 - 1);
    let b = f.svc.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(a.refresh_token, b.refresh_token);
    // And that one token is live.
    f.svc.refresh(&b.refresh_token).await.unwrap();
}

#[tokio::test]
async fn the_grace_window_ends_on_its_millisecond() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let first = f.login("alice", "pw").await.unwrap();
    let next = f.svc.refresh(&first.refresh_token).await.unwrap();
    f.clock.advance_ms(f.cfg.sessions.reuse_grace_secs * 1000);
    f.refresh_refused(&first.refresh_token).await;
    assert_eq!(
        f.svc.refresh(&next.refresh_token).await.unwrap_err(),
        AuthError::InvalidGrant,
        "reuse revoked the session"
    );
}

#[tokio::test]
async fn a_zero_grace_window_honours_no_repeat_even_in_the_same_millisecond() {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.sessions.reuse_grace_secs = 0;
    let f = fixture_with(cfg);
    f.add_user("alice", "pw").await;
    let first = f.login("alice", "pw").await.unwrap();
    let next = f.svc.refresh(&first.refresh_token).await.unwrap();
    f.refresh_refused(&first.refresh_token).await;
    assert!(f.svc.refresh(&next.refresh_token).await.is_err());
}

#[tokio::test]
async fn a_grandparent_token_is_theft_even_inside_the_grace_window() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let t0 = f.login("alice", "pw").await.unwrap();
    let t1 = f.svc.refresh(&t0.refresh_token).await.unwrap();
    let t2 = f.svc.refresh(&t1.refresh_token).await.unwrap();
    f.refresh_refused(&t0.refresh_token).await;
    f.refresh_refused(&t2.refresh_token).await;
}

#[tokio::test]
async fn a_forged_token_for_a_real_session_is_refused_without_revoking_it() {
    let f = fixture();
    let user = f.add_user("alice", "pw").await;
    let t0 = f.login("alice", "pw").await.unwrap();
    let forged = RefreshToken::new(user.username.clone(), t0.session_id.clone(), [0u8; 32]);
    assert_eq!(
        f.svc.refresh(&forged.encode()).await.unwrap_err(),
        AuthError::InvalidGrant
    );
    f.svc.refresh(&t0.refresh_token).await.unwrap();
}

#[tokio::test]
async fn inactivity_expiry_is_checked_on_read() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let t0 = f.login("alice", "pw").await.unwrap();
    f.clock.advance(f.cfg.sessions.refresh_ttl);
    f.refresh_refused(&t0.refresh_token).await;
}

#[tokio::test]
async fn rotation_never_extends_the_absolute_lifetime() {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.sessions.refresh_ttl = 1000;
    cfg.sessions.max_age = 2500;
    let f = fixture_with(cfg);
    f.add_user("alice", "pw").await;
    let mut t = f.login("alice", "pw").await.unwrap();
    for _ in 0..2 {
        f.clock.advance(900);
        t = f.svc.refresh(&t.refresh_token).await.unwrap();
    }
    assert_eq!(t.refresh_expires_in, 700, "capped by the absolute lifetime");
    f.clock.advance(700);
    f.refresh_refused(&t.refresh_token).await;
}

#[tokio::test]
async fn a_disabled_user_cannot_refresh() {
    let f = fixture();
    let user = f.add_user("alice", "pw").await;
    let t0 = f.login("alice", "pw").await.unwrap();
    f.store.set_disabled(&user.username, true).await.unwrap();
    f.refresh_refused(&t0.refresh_token).await;
}

#[tokio::test]
async fn logout_revokes_one_session_or_all() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let a = f.login("alice", "pw").await.unwrap();
    let b = f.login("alice", "pw").await.unwrap();
    let c = f.login("alice", "pw").await.unwrap();
    f.svc.logout(Some(&a.refresh_token), false).await.unwrap();
    assert!(f.svc.refresh(&a.refresh_token).await.is_err());
    let b2 = f.svc.refresh(&b.refresh_token).await.unwrap();
    f.svc.logout(Some(&b2.refresh_token), true).await.unwrap();
    assert!(f.svc.refresh(&c.refresh_token).await.is_err());
    assert!(f
        .store
        .list_sessions(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn logout_all_with_an_invalid_token_revokes_nothing() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let a = f.login("alice", "pw").await.unwrap();
    f.svc.logout(Some("garbage"), true).await.unwrap();
    f.svc.logout(None, true).await.unwrap();
    f.svc.refresh(&a.refresh_token).await.unwrap();
}

#[tokio::test]
async fn a_login_beyond_the_cap_evicts_the_oldest_session() {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.sessions.max_per_user = 2;
    let f = fixture_with(cfg);
    f.add_user("alice", "pw").await;
    let oldest = f.login("alice", "pw").await.unwrap();
    f.clock.advance(1);
    let middle = f.login("alice", "pw").await.unwrap();
    f.clock.advance(1);
    let newest = f.login("alice", "pw").await.unwrap();
    assert!(f.svc.refresh(&oldest.refresh_token).await.is_err());
    f.svc.refresh(&middle.refresh_token).await.unwrap();
    f.svc.refresh(&newest.refresh_token).await.unwrap();
}

#[tokio::test]
async fn eviction_is_strictly_oldest_first_within_one_second() {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.sessions.max_per_user = 3;
    let f = fixture_with(cfg);
    f.add_user("alice", "pw").await;
    // Ten rounds: with whole seconds (and random ids breaking the tie) one would fail.
    for _ in 0..10 {
        let mut logins = Vec::new();
        for _ in 0..4 {
            logins.push(f.login("alice", "pw").await.unwrap());
            f.clock.advance_ms(1);
        }
        assert!(f.svc.refresh(&logins[0].refresh_token).await.is_err());
        for later in &logins[1..] {
            f.svc.refresh(&later.refresh_token).await.unwrap();
        }
        f.clock.advance(1);
    }
}

#[tokio::test]
async fn concurrent_guesses_check_at_most_max_failures_passwords() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let svc = f.svc.clone();
            tokio::spawn(async move {
                svc.login(LoginInput {
                    username: "alice".into(),
                    password: format!("wrong-{i}").into(),
                    device_id: "x".into(),
                    device_tokens: Vec::new(),
                })
                .await
            })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(AuthError::TooManyAttempts { .. }) => {}
            Err(AuthError::InvalidCredentials) => checked += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(checked, f.cfg.lockout.max_failures);
}

#[tokio::test]
async fn logout_all_needs_a_live_token() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let t0 = f.login("alice", "pw").await.unwrap();
    let _t1 = f.svc.refresh(&t0.refresh_token).await.unwrap();
    let other = f.login("alice", "pw").await.unwrap();
    f.clock.advance(f.cfg.sessions.reuse_grace_secs);
    f.svc.logout(Some(&t0.refresh_token), true).await.unwrap();
    f.svc.refresh(&other.refresh_token).await.unwrap();
}

#[tokio::test]
async fn a_device_token_gets_past_a_lockout_of_its_username() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    let device = f.login("alice", "pw").await.unwrap().device_token.unwrap();
    assert_eq!(device.max_age, f.cfg.sessions.max_age);
    for _ in 0..f.cfg.lockout.max_failures {
        f.login("alice", "wrong").await.unwrap_err();
    }
    let with = |password: &str| LoginInput {
        username: "alice".into(),
        password: password.into(),
        device_id: "x".into(),
        device_tokens: vec![device.token.clone()],
    };
    let again = f.svc.login(with("pw")).await.unwrap();
    // The same device keeps its id (and so its own counter).
    assert_eq!(
        again.device_token.unwrap().token.split('.').nth(1),
        device.token.split('.').nth(1)
    );
    assert!(matches!(
        f.login("alice", "pw").await.unwrap_err(),
        AuthError::TooManyAttempts { .. }
    ));
    // Its own failures lock it too.
    for _ in 0..f.cfg.lockout.max_failures {
        f.svc.login(with("wrong")).await.unwrap_err();
    }
    assert!(matches!(
        f.svc.login(with("pw")).await.unwrap_err(),
        AuthError::TooManyAttempts { .. }
    ));
}

#[tokio::test]
async fn tokens_signed_before_a_rotation_keep_verifying() {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.signing.cache_ttl = 0;
    let f = fixture_with(cfg);
    f.add_user("alice", "pw").await;
    let before = f.login("alice", "pw").await.unwrap();
    f.keys.set(key_set(("v2", 2), Some(("v1", 1))));
    let after = f.svc.refresh(&before.refresh_token).await.unwrap();
    let verifier = AccessTokenVerifier::new(&TokenSettings::from(f.cfg.as_ref()), f.clock.clone());
    verifier
        .verify(&before.access_token, f.svc.keys())
        .await
        .unwrap();
    verifier
        .verify(&after.access_token, f.svc.keys())
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&after.access_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("v2"));
}

#[tokio::test]
async fn repeated_failures_lock_the_username_even_for_the_right_password() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    for _ in 0..f.cfg.lockout.max_failures {
        assert_eq!(
            f.login("alice", "wrong").await.unwrap_err(),
            AuthError::InvalidCredentials
        );
    }
    assert_eq!(
        f.login("alice", "pw").await.unwrap_err(),
        AuthError::TooManyAttempts { retry_after: 30 }
    );
    f.clock.advance(30);
    // One more failure after the lockout doubles it.
    assert_eq!(
        f.login("alice", "wrong").await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        f.login("alice", "pw").await.unwrap_err(),
        AuthError::TooManyAttempts { retry_after: 60 }
    );
    f.clock.advance(60);
    f.login("alice", "pw").await.unwrap();
    // Success reset the counter.
    assert_eq!(
        f.login("alice", "wrong").await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    f.login("alice", "pw").await.unwrap();
}

#[tokio::test]
async fn unknown_usernames_are_throttled_like_known_ones() {
    let f = fixture();
    for _ in 0..f.cfg.lockout.max_failures {
        f.login("ghost", "x").await.unwrap_err();
    }
    assert!(matches!(
        f.login("ghost", "x").await.unwrap_err(),
        AuthError::TooManyAttempts { .. }
    ));
}

#[tokio::test]
async fn failures_outside_the_window_start_the_count_again() {
    let f = fixture();
    f.add_user("alice", "pw").await;
    for _ in 0..f.cfg.lockout.max_failures - 1 {
        f.login("alice", "wrong").await.unwrap_err();
    }
    f.clock.advance(f.cfg.lockout.window + 1);
    f.login("alice", "wrong").await.unwrap_err();
    f.login("alice", "pw").await.unwrap();
}

#[tokio::test]
async fn a_user_whose_token_the_verifier_would_refuse_gets_no_session() {
    let f = fixture();
    let mut user = f.add_user("alice", "pw").await;
    // 80 roles of 60 characters: a ~6 KB payload, past the verifier's 2048-byte segment limit.
    user.roles = (0..80)
        .map(|i| format!("{i:02}{}", "r".repeat(58)))
        .collect();
    f.store.set_roles_for_test(&user);

    let err = f.login("alice", "pw").await.unwrap_err();
    assert!(matches!(err, AuthError::Internal(_)), "{err:?}");
    // The cause travels to the edge, which logs it once.
    assert!(crate::error::Chain(&err).to_string().len() > "internal error".len());
    assert!(f
        .store
        .list_sessions(&user.username)
        .await
        .unwrap()
        .is_empty());
}

#[test]
fn minted_tokens_stay_within_the_verifiers_limits() {
    let cfg = Config::from_lookup(|_| None).unwrap();
    let key = SigningKey::new(crate::domain::SigningAlg::Hs256, &material("v1", 1)).unwrap();
    let mut user = User::new(
        "u",
        Username::parse("alice").unwrap(),
        String::new(),
        Vec::new(),
        0,
    );
    // Grow the roles until minting refuses; every token it did hand out verifies.
    let verifier =
        AccessTokenVerifier::new(&TokenSettings::from(&cfg), Arc::new(FakeClock::new(T0)));
    let mut refused = false;
    for i in 0..100 {
        user.roles.push(format!("{i:02}{}", "r".repeat(58)));
        match crate::crypto::tokens::mint_access_token(
            &key,
            &TokenSettings::from(&cfg),
            &user,
            "sid",
            &[],
            T0,
        ) {
            Ok((token, _)) => {
                verifier.verify_with(&token, &key).unwrap();
            }
            Err(crate::crypto::tokens::MintError::TooLarge { .. }) => {
                refused = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused, "100 long roles must exceed the limit");
}

// --- accounts: sign-up, self-service sessions, password change, rehash ---

use crate::service::accounts::{Caller, RegisterInput};

const STRONG: &str = "violet kettle orbit 42";
const STRONGER: &str = "amber lantern quietly 77";

fn signup_fixture() -> Fixture {
    fixture_with(Config::from_lookup(|k| (k == "SIGNUP_ENABLED").then(|| "true".into())).unwrap())
}

fn register_input(name: &str, password: &str) -> RegisterInput {
    RegisterInput {
        username: name.into(),
        password: password.into(),
        device_id: "laptop".into(),
        email: None,
    }
}

fn caller_of(user: &User, issued: &Issued) -> Caller {
    Caller {
        user_id: user.user_id.clone(),
        username: user.username.clone(),
        session_id: issued.session_id.clone(),
    }
}

#[tokio::test]
async fn register_is_refused_unless_signup_is_enabled() {
    let f = fixture();
    let refused = f.svc.register(register_input("erin", STRONG)).await;
    assert_eq!(refused.unwrap_err(), AuthError::SignupDisabled);
    assert!(f
        .store
        .get_user(&Username::parse("erin").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn register_creates_a_logged_in_user_once() {
    let f = signup_fixture();
    let issued = f
        .svc
        .register(register_input("Erin", STRONG))
        .await
        .unwrap();
    let user = f
        .store
        .get_user(&Username::parse("erin").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.roles, vec!["user".to_string()]);
    assert!(issued.device_token.is_some());
    assert!(f
        .store
        .session(&user.username, &issued.session_id)
        .is_some());
    // The refresh token works, and so does the password at login.
    f.svc.refresh(&issued.refresh_token).await.unwrap();
    f.login("erin", STRONG).await.unwrap();
    // The name is taken now, in any case.
    let again = f.svc.register(register_input("ERIN", STRONGER)).await;
    assert_eq!(again.unwrap_err(), AuthError::UsernameTaken);
}

#[tokio::test]
async fn a_weak_password_or_bad_name_registers_nothing() {
    let f = signup_fixture();
    for (name, password) in [
        ("frank", "password1"),
        ("frank", "frank-is-me-2024"),
        ("frank", "short"),
    ] {
        assert!(
            matches!(
                f.svc.register(register_input(name, password)).await,
                Err(AuthError::WeakPassword(_))
            ),
            "{password}"
        );
    }
    assert!(matches!(
        f.svc.register(register_input("frank smith", STRONG)).await,
        Err(AuthError::InvalidRequest(_))
    ));
    assert!(f
        .store
        .get_user(&Username::parse("frank").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn sessions_lists_the_callers_live_sessions_newest_first() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    f.add_user("bob", "pw-bob").await;
    let first = f.login("alice", "pw-alice").await.unwrap();
    f.clock.advance(1);
    let second = f.login("alice", "pw-alice").await.unwrap();
    let bobs = f.login("bob", "pw-bob").await.unwrap();
    let me = caller_of(&alice, &second);
    let listed = f.svc.sessions_of(&me).await.unwrap();
    let ids: Vec<_> = listed
        .iter()
        .map(|v| v.session.session_id.clone())
        .collect();
    assert_eq!(
        ids,
        vec![second.session_id.clone(), first.session_id.clone()]
    );
    assert_eq!(
        listed.iter().map(|v| v.current).collect::<Vec<_>>(),
        vec![true, false]
    );
    // Another user's session id is "not found", like an unknown one; nothing is revoked.
    assert_eq!(
        f.svc
            .revoke_own_session(&me, &bobs.session_id)
            .await
            .unwrap_err(),
        AuthError::NotFound
    );
    f.svc.refresh(&bobs.refresh_token).await.unwrap();
    // Revoking one of mine ends it at once.
    f.svc
        .revoke_own_session(&me, &first.session_id)
        .await
        .unwrap();
    f.refresh_refused(&first.refresh_token).await;
    assert_eq!(
        f.svc
            .revoke_own_session(&me, &first.session_id)
            .await
            .unwrap_err(),
        AuthError::NotFound
    );
}

#[tokio::test]
async fn revoke_others_keeps_only_the_current_session() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    let mut old = Vec::new();
    for _ in 0..3 {
        old.push(f.login("alice", "pw-alice").await.unwrap());
    }
    let current = f.login("alice", "pw-alice").await.unwrap();
    let revoked = f
        .svc
        .revoke_other_sessions(&caller_of(&alice, &current))
        .await
        .unwrap();
    assert_eq!(revoked, 3);
    for o in &old {
        assert_eq!(
            f.svc.refresh(&o.refresh_token).await.unwrap_err(),
            AuthError::InvalidGrant
        );
    }
    f.svc.refresh(&current.refresh_token).await.unwrap();
}

#[tokio::test]
async fn a_password_change_keeps_the_current_session_and_ends_the_others() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    let other = f.login("alice", "pw-alice").await.unwrap();
    let current = f.login("alice", "pw-alice").await.unwrap();
    f.clock.advance(1);
    f.change_password(&alice, &current, "pw-alice", STRONG)
        .await
        .unwrap();
    f.refresh_refused(&other.refresh_token).await;
    f.svc.refresh(&current.refresh_token).await.unwrap();
    assert_eq!(
        f.login("alice", "pw-alice").await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    f.login("alice", STRONG).await.unwrap();
}

#[tokio::test]
async fn a_session_written_by_a_login_that_began_before_the_change_is_refused() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    let current = f.login("alice", "pw-alice").await.unwrap();
    // A login that checked the old password before the change, and stores its session
    // only after the change listed and deleted the others: dated from its start.
    let racing = f.login("alice", "pw-alice").await.unwrap();
    let racing_session = f
        .store
        .session(&alice.username, &racing.session_id)
        .unwrap();
    f.store
        .delete_session(&alice.username, &racing.session_id)
        .await
        .unwrap();
    f.clock.advance(1);
    f.change_password(&alice, &current, "pw-alice", STRONG)
        .await
        .unwrap();
    f.store.create_session(&racing_session).await.unwrap();
    f.refresh_refused(&racing.refresh_token).await;
    let me = caller_of(&alice, &current);
    let listed = f.svc.sessions_of(&me).await.unwrap();
    assert_eq!(listed.len(), 1, "the cut-off session is not listed as live");
}

#[tokio::test]
async fn a_wrong_current_password_counts_as_a_failed_login() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    let current = f.login("alice", "pw-alice").await.unwrap();
    let me = caller_of(&alice, &current);
    for _ in 0..f.cfg.lockout.max_failures {
        assert_eq!(
            f.svc
                .change_password(&me, "wrong".into(), STRONG.into())
                .await
                .unwrap_err(),
            AuthError::InvalidCredentials
        );
    }
    assert!(matches!(
        f.svc
            .change_password(&me, "pw-alice".into(), STRONG.into())
            .await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert!(matches!(
        f.login("alice", "pw-alice").await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    // Nothing changed: the old hash, and the session.
    let stored = f.store.get_user(&alice.username).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, alice.password_hash);
    f.svc.refresh(&current.refresh_token).await.unwrap();
}

#[tokio::test]
async fn a_weak_new_password_changes_nothing_and_costs_no_attempt() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    let current = f.login("alice", "pw-alice").await.unwrap();
    let me = caller_of(&alice, &current);
    for weak in ["password1", "pw-alice"] {
        assert!(matches!(
            f.svc
                .change_password(&me, "pw-alice".into(), weak.into())
                .await,
            Err(AuthError::WeakPassword(_))
        ));
    }
    let stored = f.store.get_user(&alice.username).await.unwrap().unwrap();
    assert_eq!(stored, alice);
}

#[tokio::test]
async fn a_hash_with_other_parameters_is_upgraded_at_the_next_login() {
    let f = fixture();
    let mut user = f.add_user("alice", "pw-alice").await;
    user.user_id = uuid::Uuid::new_v4().to_string();
    user.username = Username::parse("olduser").unwrap();
    user.password_hash = Passwords::with_params(16, 2, 1)
        .unwrap()
        .hash_blocking("pw-old")
        .unwrap();
    f.store.create_user(&user).await.unwrap();
    assert!(user.password_hash.contains("m=16,t=2"));
    f.login("olduser", "pw-old").await.unwrap();
    let stored = f.store.get_user(&user.username).await.unwrap().unwrap();
    assert!(
        stored.password_hash.contains("m=8,t=1,p=1"),
        "{}",
        stored.password_hash
    );
    // Same password, still.
    f.login("olduser", "pw-old").await.unwrap();
    // A wrong password upgrades nothing.
    let again = f.store.get_user(&user.username).await.unwrap().unwrap();
    assert_eq!(again.password_hash, stored.password_hash);
}

#[tokio::test]
async fn an_ended_session_acts_on_nothing_through_the_account_routes() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    let owner = f.login("alice", "pw-alice").await.unwrap();
    let thief = f.login("alice", "pw-alice").await.unwrap();
    f.clock.advance(1);
    // The owner changes the password: the thief's session is cut off, but its access token
    // (offline-verified) still reaches the account routes.
    f.svc
        .change_password(&caller_of(&alice, &owner), "pw-alice".into(), STRONG.into())
        .await
        .unwrap();
    let thief = caller_of(&alice, &thief);
    assert_eq!(
        f.svc.revoke_other_sessions(&thief).await.unwrap_err(),
        AuthError::InvalidToken
    );
    assert_eq!(
        f.svc.sessions_of(&thief).await.unwrap_err(),
        AuthError::InvalidToken
    );
    assert_eq!(
        f.svc
            .revoke_own_session(&thief, &owner.session_id)
            .await
            .unwrap_err(),
        AuthError::InvalidToken
    );
    assert_eq!(
        f.svc
            .change_password(&thief, STRONG.into(), "another violet kettle 7".into())
            .await
            .unwrap_err(),
        AuthError::InvalidToken
    );
    // Nothing changed: the owner's session lives on, the password is the owner's.
    f.svc.refresh(&owner.refresh_token).await.unwrap();
    f.login("alice", STRONG).await.unwrap();
}

#[tokio::test]
async fn a_logged_out_or_disabled_caller_gets_invalid_token_and_costs_no_attempt() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    let kept = f.login("alice", "pw-alice").await.unwrap();
    let gone = f.login("alice", "pw-alice").await.unwrap();
    f.svc
        .logout(Some(&gone.refresh_token), false)
        .await
        .unwrap();
    let gone = caller_of(&alice, &gone);
    assert_eq!(
        f.svc.revoke_other_sessions(&gone).await.unwrap_err(),
        AuthError::InvalidToken
    );
    // Wrong guesses from an ended session are refused before any password is checked: they
    // count nothing against the user.
    for _ in 0..f.cfg.lockout.max_failures + 1 {
        assert_eq!(
            f.svc
                .change_password(&gone, "wrong".into(), STRONG.into())
                .await
                .unwrap_err(),
            AuthError::InvalidToken
        );
    }
    f.login("alice", "pw-alice").await.unwrap();
    f.svc.refresh(&kept.refresh_token).await.unwrap();
    // A disabled user: every route, even from a live session.
    f.store.set_disabled(&alice.username, true).await.unwrap();
    let kept = caller_of(&alice, &kept);
    assert_eq!(
        f.svc.sessions_of(&kept).await.unwrap_err(),
        AuthError::InvalidToken
    );
    assert_eq!(
        f.svc
            .change_password(&kept, "pw-alice".into(), STRONG.into())
            .await
            .unwrap_err(),
        AuthError::InvalidToken
    );
}

#[tokio::test]
async fn device_tokens_minted_before_a_password_change_add_no_guesses() {
    let f = fixture();
    let alice = f.add_user("alice", "pw-alice").await;
    let current = f.login("alice", "pw-alice").await.unwrap();
    let mut devices = Vec::new();
    for _ in 0..3 {
        devices.push(
            f.login("alice", "pw-alice")
                .await
                .unwrap()
                .device_token
                .unwrap(),
        );
    }
    f.clock.advance(1);
    f.change_password(&alice, &current, "pw-alice", STRONG)
        .await
        .unwrap();
    // Every old device guesses as much as it can: all of them share the username's budget.
    let mut checked = 0;
    for device in devices
        .iter()
        .cycle()
        .take(4 * f.cfg.lockout.max_failures as usize)
    {
        let attempt = f
            .svc
            .login(LoginInput {
                username: "alice".into(),
                password: "wrong".into(),
                device_id: "x".into(),
                device_tokens: vec![device.token.clone()],
            })
            .await
            .unwrap_err();
        if attempt == AuthError::InvalidCredentials {
            checked += 1;
        }
    }
    assert_eq!(checked, f.cfg.lockout.max_failures);
    // A device that logged in after the change keeps its own budget.
    let f2 = fixture();
    let bob = f2.add_user("bob", "pw-bob").await;
    let current = f2.login("bob", "pw-bob").await.unwrap();
    f2.clock.advance(1);
    f2.svc
        .change_password(&caller_of(&bob, &current), "pw-bob".into(), STRONG.into())
        .await
        .unwrap();
    let fresh = f2.login("bob", STRONG).await.unwrap().device_token.unwrap();
    for _ in 0..f2.cfg.lockout.max_failures {
        f2.login("bob", "wrong").await.unwrap_err();
    }
    f2.svc
        .login(LoginInput {
            username: "bob".into(),
            password: STRONG.into(),
            device_id: "x".into(),
            device_tokens: vec![fresh.token],
        })
        .await
        .unwrap();
}

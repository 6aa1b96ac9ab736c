//! The authentication service over the ports: its inputs and outputs, and what its use cases
//! share (new sessions, issuing tokens, the failure counter). The use cases are one file each:
//! [`auth`] (login, logout), [`refresh`], [`accounts`] (sign-up and self-service), [`admin`].
//! Every function handler and the dev server call this one implementation.

pub mod accounts;
pub mod admin;
mod attempts;
mod auth;
pub mod authorizer;
pub mod email;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
pub mod password_rules;
mod refresh;

use secrecy::SecretString;
use std::sync::Arc;

use rand::RngCore;

use crate::config::Config;
use crate::crypto::device_token;
use crate::crypto::keyring::{KeyRing, SigningKey};
use crate::crypto::password::Passwords;
use crate::crypto::sealed::DataKeySource;
use crate::crypto::tokens::{mint_access_token, TokenSettings};
use crate::domain::{
    PasswordReplacement, RefreshToken, Session, ThrottleKey, User, Username, SPENT_HISTORY,
};
use crate::error::{AuthError, Cause, Chain};
use crate::ports::{
    BreachedPasswords, Clock, EmailStore, IdentityStore, Mailer, MfaStore, PasskeyStore,
    RelyingParty, Reservation, SessionStore, ThrottleStore, UserStore,
};

/// What a successful login or refresh hands back.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
    pub session_id: String,
    /// Login only: proof that this device has logged in as this user (see [`device_token`]).
    pub device_token: Option<DeviceToken>,
}

/// A device token and its lifetime in seconds.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken {
    pub token: String,
    pub max_age: u64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("session_id", &self.session_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

pub struct LoginInput {
    pub username: String,
    pub password: SecretString,
    pub device_id: String,
    /// Device tokens presented (the body's first, then each cookie); any may be invalid.
    pub device_tokens: Vec<String>,
}

/// How often a refresh re-reads and retries after losing a rotation race.
const ROTATION_ATTEMPTS: usize = 4;

pub struct AuthService {
    cfg: Arc<Config>,
    tokens: TokenSettings,
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    throttle: Arc<dyn ThrottleStore>,
    keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    passwords: Passwords,
    /// `PWNED_PASSWORDS_URL`: where new passwords are looked up; `None`, no breach check.
    breaches: Option<Arc<dyn BreachedPasswords>>,
    emails: Arc<dyn EmailStore>,
    /// Where mail goes (`None`: the email routes answer 503).
    mailer: Option<Arc<dyn Mailer>>,
    mfa: Arc<dyn MfaStore>,
    passkeys: Arc<dyn PasskeyStore>,
    /// The keys that seal TOTP secrets (`None`: enrolment and a TOTP user's login answer 503).
    data_keys: Option<Arc<dyn DataKeySource>>,
    /// The WebAuthn relying party (`None`: the passkey ceremonies answer 503; only the passkeys
    /// function and the dev server have one).
    relying_party: Option<Arc<dyn RelyingParty>>,
    identities: Arc<dyn IdentityStore>,
    /// The OpenID providers' client (`None`: the oauth routes answer 503; only the oauth
    /// function and the dev server have one).
    oauth: Option<Arc<oauth::OauthClient>>,
}

/// The stores the service uses (one DynamoDB adapter implements all seven).
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub throttle: Arc<dyn ThrottleStore>,
    pub emails: Arc<dyn EmailStore>,
    pub mfa: Arc<dyn MfaStore>,
    pub passkeys: Arc<dyn PasskeyStore>,
    pub identities: Arc<dyn IdentityStore>,
}

impl Stores {
    pub fn all_in<S>(store: Arc<S>) -> Self
    where
        S: UserStore
            + SessionStore
            + ThrottleStore
            + EmailStore
            + MfaStore
            + PasskeyStore
            + IdentityStore
            + 'static,
    {
        Stores {
            users: store.clone(),
            sessions: store.clone(),
            throttle: store.clone(),
            emails: store.clone(),
            mfa: store.clone(),
            passkeys: store.clone(),
            identities: store,
        }
    }
}

impl AuthService {
    pub fn new(
        cfg: Arc<Config>,
        stores: Stores,
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        passwords: Passwords,
    ) -> Self {
        AuthService {
            tokens: TokenSettings::from(cfg.as_ref()),
            cfg,
            users: stores.users,
            sessions: stores.sessions,
            throttle: stores.throttle,
            keys,
            clock,
            passwords,
            breaches: None,
            emails: stores.emails,
            mailer: None,
            mfa: stores.mfa,
            passkeys: stores.passkeys,
            data_keys: None,
            relying_party: None,
            identities: stores.identities,
            oauth: None,
        }
    }

    /// Runs passkey ceremonies with `rp` (without it, they answer 503).
    pub fn set_relying_party(&mut self, rp: Arc<dyn RelyingParty>) {
        self.relying_party = Some(rp);
    }

    /// Seals and opens TOTP secrets with `keys` (without them, MFA routes answer 503).
    pub fn with_data_keys(mut self, keys: Arc<dyn DataKeySource>) -> Self {
        self.data_keys = Some(keys);
        self
    }

    /// Sends mail through `mailer` (with `EMAIL_FROM` set; otherwise the email routes stay 503).
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Checks every new password against `breaches` too (see [`password_rules`]).
    pub fn with_breach_check(mut self, breaches: Arc<dyn BreachedPasswords>) -> Self {
        self.breaches = Some(breaches);
        self
    }

    /// [`password_rules::check_new_password`] with this service's breach corpus.
    async fn check_new_password(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<(), AuthError> {
        password_rules::check_new_password(self.breaches.as_deref(), username, password)
            .await
            .map_err(AuthError::WeakPassword)
    }

    /// [`password_rules::check_breach`] with this service's breach corpus.
    async fn check_breach(&self, password: &SecretString) -> Result<(), AuthError> {
        password_rules::check_breach(self.breaches.as_deref(), password)
            .await
            .map_err(AuthError::WeakPassword)
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    /// A new password session for `user` and its first refresh token, dated `started_ms`
    /// (when the request that authenticated began).
    fn new_session(
        &self,
        user: &User,
        device_id: String,
        started_ms: u64,
        now: u64,
    ) -> (Session, RefreshToken) {
        let amr = vec![crate::domain::AMR_PASSWORD.to_string()];
        self.new_session_with(user, device_id, started_ms, now, amr)
    }

    /// As [`AuthService::new_session`], begun by the methods `amr` (RFC 8176).
    fn new_session_with(
        &self,
        user: &User,
        device_id: String,
        started_ms: u64,
        now: u64,
        amr: Vec<String>,
    ) -> (Session, RefreshToken) {
        let session_id = uuid::Uuid::new_v4().simple().to_string();
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let token = RefreshToken::new(user.username.clone(), session_id.clone(), secret);
        let absolute = now.saturating_add(self.cfg.sessions.max_age);
        let session = Session {
            username: user.username.clone(),
            session_id,
            user_id: user.user_id.clone(),
            device_id,
            created_at_ms: started_ms,
            last_used_at: now,
            expires_at: now
                .saturating_add(self.cfg.sessions.refresh_ttl)
                .min(absolute),
            absolute_expires_at: absolute,
            token_hash: token.hash(),
            prev_hash: None,
            rotated_at_ms: self.clock.now_ms(),
            successor_kid: None,
            spent: Vec::new(),
            version: 0,
            amr,
        };
        (session, token)
    }

    /// The device token login (and sign-up) hands out, dated `started_ms` (when the login
    /// began, as its session is); a known device keeps its id.
    fn device_token(
        &self,
        key: &SigningKey,
        user: &User,
        device: Option<String>,
        started_ms: u64,
        now: u64,
    ) -> DeviceToken {
        let device_id = device.unwrap_or_else(device_token::new_device_id);
        let max_age = self.cfg.sessions.max_age;
        DeviceToken {
            token: device_token::mint(
                key,
                &user.username,
                &device_id,
                started_ms,
                now.saturating_add(max_age),
            ),
            max_age,
        }
    }

    fn grace_ms(&self) -> u64 {
        self.cfg.sessions.reuse_grace_secs.saturating_mul(1000)
    }

    fn issue(
        &self,
        key: &SigningKey,
        user: &User,
        session: &Session,
        refresh: &RefreshToken,
        now: u64,
    ) -> Result<Issued, AuthError> {
        let (access_token, expires_in) = mint_access_token(
            key,
            &self.tokens,
            user,
            &session.session_id,
            &session.amr,
            now,
        )
        .map_err(AuthError::internal)?;
        Ok(Issued {
            access_token,
            expires_in,
            refresh_token: refresh.encode(),
            refresh_expires_in: session.ends_at().saturating_sub(now),
            session_id: session.session_id.clone(),
            device_token: None,
        })
    }
}

/// Sessions of one user ended other than by expiry: counted under `cause`, and one security
/// event each (who, which session, why).
pub(crate) fn record_revoked(user_id: &str, session_ids: &[String], cause: &'static str) {
    crate::telemetry::count_by(
        crate::telemetry::Metric::SessionRevoked(cause),
        session_ids.len(),
    );
    for id in session_ids {
        crate::security_event!(
            info,
            "session_revoked",
            user_id = Some(user_id),
            session_id = Some(id.as_str()),
            reason = cause,
            "session revoked"
        );
    }
}

#[cfg(test)]
mod tests;

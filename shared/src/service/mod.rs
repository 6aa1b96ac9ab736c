//! The authentication service: login, refresh (rotation with reuse detection) and logout,
//! over the ports. Every function handler and the dev server call this one implementation.

pub mod accounts;
pub mod admin;
pub mod authorizer;
pub mod password_rules;

use secrecy::SecretString;
use std::sync::Arc;

use rand::RngCore;

use crate::config::Config;
use crate::crypto::device_token;
use crate::crypto::keyring::{KeyRing, SigningKey};
use crate::crypto::password::Passwords;
use crate::crypto::tokens::{mint_access_token, TokenSettings};
use crate::domain::{RefreshToken, Session, ThrottleKey, User, Username, SPENT_HISTORY};
use crate::error::{AuthError, Chain, UNAVAILABLE_RETRY_AFTER};
use crate::ports::{BreachedPasswords, Clock, Reservation, SessionStore, ThrottleStore, UserStore};

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
}

/// The stores the service uses (one DynamoDB adapter implements all three).
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub throttle: Arc<dyn ThrottleStore>,
}

impl Stores {
    pub fn all_in<S: UserStore + SessionStore + ThrottleStore + 'static>(store: Arc<S>) -> Self {
        Stores {
            users: store.clone(),
            sessions: store.clone(),
            throttle: store,
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
        }
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

    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn login(&self, input: LoginInput) -> Result<Issued, AuthError> {
        // The session is dated from here, before the password is read: a password change that
        // lands while this login runs revokes it (see `User::honours`).
        let started_ms = self.clock.now_ms();
        // The key first: with no key there is nothing to issue, so fail before any work.
        let key = self.keys.current().await?;
        let now = self.clock.now();
        let policy = self.cfg.lockout_policy();
        // A name that cannot be valid cannot exist: treat it as unknown (same answer, same work).
        let username = Username::parse(&input.username).ok();
        let (user, throttle) = match &username {
            Some(u) => {
                let device =
                    device_token::verified_device(&self.keys, &input.device_tokens, u, now).await;
                let mut key = ThrottleKey {
                    username: u.clone(),
                    device: device.as_ref().map(|d| d.id.clone()),
                };
                // The attempt is counted before the password is looked at, atomically: of any
                // number of concurrent attempts, at most LOGIN_MAX_FAILURES get this far.
                let (user, mut reservation) = tokio::try_join!(
                    self.users.get_user(u),
                    self.throttle.reserve_attempt(&key, now, &policy)
                )?;
                // A device token minted before the password last changed proves only that
                // its holder knew an old password: the attempt counts against the username,
                // like any other (the device's own reservation, counted on a budget no valid
                // token can reach any more, is left to expire).
                let changed_ms = user.as_ref().and_then(User::password_changed_at_ms);
                if device.is_some_and(|d| d.predates(changed_ms)) {
                    tracing::info!(
                        event = "device_token_stale",
                        "device token predates the last password change"
                    );
                    key.device = None;
                    reservation = self.throttle.reserve_attempt(&key, now, &policy).await?;
                }
                (user, Some((key, reservation)))
            }
            None => (None, None),
        };
        if let Some(u) = &user {
            tracing::Span::current().record("user_id", u.user_id.as_str());
        }
        let (throttle_key, failures) = match throttle {
            Some((key, Reservation::Granted { failures })) => (Some(key), failures),
            // Locked: refused before the password is even looked at, right or wrong.
            Some((key, Reservation::Refused { until })) => {
                crate::telemetry::count(crate::telemetry::Metric::LoginLocked);
                crate::security_event!(
                    info,
                    "login_locked",
                    user_id = user.as_ref().map(|u| u.user_id.as_str()),
                    session_id = None::<&str>,
                    known_device = key.device.is_some(),
                    "login refused: too many failures"
                );
                return Err(AuthError::TooManyAttempts {
                    retry_after: until.saturating_sub(now).max(1),
                });
            }
            None => (None, 0),
        };
        // Hashed with other argon2 parameters than configured: upgraded once verified.
        let rehash_with = user
            .as_ref()
            .filter(|u| self.passwords.needs_rehash(&u.password_hash))
            .map(|_| input.password.clone());
        let verified = self
            .passwords
            .verify(
                input.password,
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await;
        let user = match (verified, user) {
            (true, Some(user)) => user,
            (_, user) => {
                crate::telemetry::count(crate::telemetry::Metric::LoginFailed);
                tracing::info!(
                    event = "login_failed",
                    known_user = user.is_some(),
                    "login failed"
                );
                if let Some(key) = &throttle_key {
                    let user_id = user.as_ref().map(|u| u.user_id.as_str());
                    self.lock_if_due(key, user_id, failures, now).await;
                }
                return Err(AuthError::InvalidCredentials);
            }
        };
        let Some(throttle_key) = throttle_key else {
            // Unreachable: a verified password belongs to a parsed username.
            return Err(AuthError::Internal);
        };
        if user.disabled {
            self.clear_failures(&throttle_key).await;
            crate::telemetry::count(crate::telemetry::Metric::LoginFailed);
            tracing::info!(event = "login_failed", reason = "disabled", "login refused");
            return Err(AuthError::AccountDisabled);
        }

        let (session, token) = self.new_session(&user, input.device_id, started_ms, now);
        // Everything the answer holds is made before anything is stored: a token that cannot
        // be minted (the verifier would refuse it) leaves no session behind.
        let mut issued = self.issue(&key, &user, &session, &token, now)?;
        // The count starts again (this device's, or the username's), beside the new session.
        let (created, ()) = tokio::join!(
            self.sessions.create_session(&session),
            self.clear_failures(&throttle_key)
        );
        created?;
        // The login has happened; a failed clean-up must not turn it into an error.
        if let Err(e) = self.enforce_session_cap(&session, now).await {
            tracing::warn!(error = %Chain(&e), "could not enforce the session cap");
        }
        crate::telemetry::count(crate::telemetry::Metric::LoginSucceeded);
        tracing::info!(event = "login_succeeded", session_id = %session.session_id, "login");
        if let Some(password) = rehash_with {
            self.upgrade_hash(&user, password).await;
        }
        // The same device keeps its id (and so its counter); a new one gets a new id.
        issued.device_token =
            Some(self.device_token(&key, &user, throttle_key.device, started_ms, now));
        Ok(issued)
    }

    /// A new session for `user` and its first refresh token, dated `started_ms` (when the
    /// request that authenticated began).
    fn new_session(
        &self,
        user: &User,
        device_id: String,
        started_ms: u64,
        now: u64,
    ) -> (Session, RefreshToken) {
        let session_id = uuid::Uuid::new_v4().simple().to_string();
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let token = RefreshToken::new(user.username.clone(), session_id.clone(), secret);
        let absolute = now.saturating_add(self.cfg.session_max_age);
        let session = Session {
            username: user.username.clone(),
            session_id,
            user_id: user.user_id.clone(),
            device_id,
            created_at_ms: started_ms,
            last_used_at: now,
            expires_at: now.saturating_add(self.cfg.refresh_token_ttl).min(absolute),
            absolute_expires_at: absolute,
            token_hash: token.hash(),
            prev_hash: None,
            rotated_at_ms: self.clock.now_ms(),
            successor_kid: None,
            spent: Vec::new(),
            version: 0,
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
        let max_age = self.cfg.session_max_age;
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

    /// Re-hashes a just-verified password with the configured argon2 parameters, replacing
    /// the stored hash only if it is still the one verified. Best effort: the login stands.
    async fn upgrade_hash(&self, user: &User, password: SecretString) {
        let result = match self.passwords.hash(password).await {
            Ok(new_hash) => self
                .users
                .replace_password(&user.username, &user.password_hash, &new_hash, None)
                .await
                .map_err(|e| Chain(&e).to_string()),
            Err(e) => Err(Chain(&e).to_string()),
        };
        match result {
            Ok(()) => tracing::info!(event = "password_rehashed", "password hash upgraded"),
            Err(error) => tracing::warn!(%error, "could not upgrade the password hash"),
        }
    }

    /// After a failed check: locks the key if this failure reached the threshold. A store
    /// failure here is logged, not surfaced (the caller gets the same 401 either way; the
    /// attempt was already counted when it was reserved).
    async fn lock_if_due(&self, key: &ThrottleKey, user_id: Option<&str>, failures: u32, now: u64) {
        let Some(lockout) = self.cfg.lockout_policy().lockout(failures) else {
            return;
        };
        match self
            .throttle
            .lock_until(key, now.saturating_add(lockout))
            .await
        {
            Ok(()) => crate::security_event!(
                warn,
                "login_locked",
                user_id = user_id,
                session_id = None::<&str>,
                failures,
                known_device = key.device.is_some(),
                "login locked after repeated failures"
            ),
            Err(e) => tracing::error!(error = %Chain(&e), "could not record a lockout"),
        }
    }

    async fn clear_failures(&self, key: &ThrottleKey) {
        if let Err(e) = self.throttle.clear(key).await {
            tracing::warn!(error = %Chain(&e), "could not reset the failure counter");
        }
    }

    /// Evicts expired sessions and the oldest live ones beyond `MAX_SESSIONS_PER_USER`.
    async fn enforce_session_cap(
        &self,
        new: &Session,
        now: u64,
    ) -> Result<(), crate::error::StoreError> {
        let all = self.sessions.list_sessions(&new.username).await?;
        let (expired, live): (Vec<_>, Vec<_>) = all
            .into_iter()
            .filter(|s| s.session_id != new.session_id)
            .partition(|s| now >= s.expires_at);
        let max_others = (self.cfg.max_sessions_per_user as usize).saturating_sub(1);
        let excess = live.len().saturating_sub(max_others);
        let evict: Vec<String> = expired
            .iter()
            .chain(live.iter().take(excess))
            .map(|s| s.session_id.clone())
            .collect();
        if !evict.is_empty() {
            self.sessions.delete_sessions(&new.username, &evict).await?;
            for id in live.iter().take(excess) {
                crate::telemetry::count(crate::telemetry::Metric::SessionRevoked("session_cap"));
                crate::security_event!(
                    info,
                    "session_revoked",
                    user_id = Some(new.user_id.as_str()),
                    session_id = Some(id.session_id.as_str()),
                    reason = "session_cap",
                    "session evicted"
                );
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id, session_id))]
    pub async fn refresh(&self, raw_token: &str) -> Result<Issued, AuthError> {
        let token = RefreshToken::parse(raw_token).ok_or(AuthError::InvalidGrant)?;
        let presented = token.hash();
        tracing::Span::current().record("session_id", token.session_id.as_str());
        for _ in 0..ROTATION_ATTEMPTS {
            let (session, user) = self
                .sessions
                .load_for_refresh(&token.username, &token.session_id)
                .await?;
            let Some(session) = session else {
                tracing::info!(
                    event = "refresh_failed",
                    reason = "unknown_session",
                    "refresh refused"
                );
                return Err(AuthError::InvalidGrant);
            };
            tracing::Span::current().record("user_id", session.user_id.as_str());
            let now = self.clock.now();
            // DynamoDB's TTL deletes lazily: an expired item may still be there.
            if session.is_expired(now) {
                tracing::info!(
                    event = "refresh_failed",
                    reason = "expired",
                    "refresh refused"
                );
                return Err(AuthError::InvalidGrant);
            }

            if session.token_hash.matches(&presented) {
                let user = active_user(user, &session)?;
                let key = self.keys.current().await?;
                let next_token = RefreshToken::new(
                    session.username.clone(),
                    session.session_id.clone(),
                    key.successor(token.secret()),
                );
                let mut next = session.clone();
                if let Some(prev) = session.prev_hash {
                    next.spent.push(prev);
                    let overflow = next.spent.len().saturating_sub(SPENT_HISTORY);
                    next.spent.drain(..overflow);
                }
                next.prev_hash = Some(presented);
                next.token_hash = next_token.hash();
                next.rotated_at_ms = self.clock.now_ms();
                next.last_used_at = now;
                next.expires_at = now
                    .saturating_add(self.cfg.refresh_token_ttl)
                    .min(session.absolute_expires_at);
                next.successor_kid = Some(key.kid.clone());
                next.version = session.version + 1;
                // Minted before the rotation is written: no spent token without a successor.
                let issued = self.issue(&key, &user, &next, &next_token, now)?;
                if self.sessions.rotate(&next, session.version).await? {
                    crate::telemetry::count(crate::telemetry::Metric::RefreshRotated);
                    return Ok(issued);
                }
                // Another presentation of this token rotated first: read again, and this
                // presentation is now the grace-window repeat of the winner.
                continue;
            }

            if session.prev_hash.is_some_and(|p| p.matches(&presented)) {
                if session.in_grace(self.clock.now_ms(), self.grace_ms()) {
                    return self.repeat_within_grace(&token, &session, user, now).await;
                }
                self.revoke_for_reuse(&session).await;
                return Err(AuthError::InvalidGrant);
            }

            if session.spent.iter().any(|h| h.matches(&presented)) {
                self.revoke_for_reuse(&session).await;
                return Err(AuthError::InvalidGrant);
            }
            // Not a token this session ever issued (or one older than its memory): refuse,
            // but do not let a forged token revoke somebody's session.
            tracing::info!(
                event = "refresh_failed",
                reason = "unknown_token",
                "refresh refused"
            );
            return Err(AuthError::InvalidGrant);
        }
        tracing::warn!("refresh lost the rotation race repeatedly");
        Err(AuthError::Unavailable {
            retry_after: UNAVAILABLE_RETRY_AFTER,
        })
    }

    /// A repeat of the token just rotated, inside the grace window: answer with the same
    /// successor the first presentation got, so every tab ends up with the one live token.
    async fn repeat_within_grace(
        &self,
        token: &RefreshToken,
        session: &Session,
        user: Option<User>,
        now: u64,
    ) -> Result<Issued, AuthError> {
        let user = active_user(user, session)?;
        let derived_with = match &session.successor_kid {
            Some(kid) => self.keys.key_for(kid).await?,
            None => None,
        };
        let Some(derived_with) = derived_with else {
            tracing::warn!("grace repeat: the successor's key version is gone");
            return Err(AuthError::InvalidGrant);
        };
        let successor = RefreshToken::new(
            session.username.clone(),
            session.session_id.clone(),
            derived_with.successor(token.secret()),
        );
        if !successor.hash().matches(&session.token_hash) {
            tracing::warn!("grace repeat: derived successor does not match the live token");
            return Err(AuthError::InvalidGrant);
        }
        let key = self.keys.current().await?;
        tracing::info!(
            event = "refresh_grace_repeat",
            "repeat inside the grace window"
        );
        self.issue(&key, &user, session, &successor, now)
    }

    async fn revoke_for_reuse(&self, session: &Session) {
        crate::telemetry::count(crate::telemetry::Metric::RefreshReuseDetected);
        crate::security_event!(
            warn,
            "refresh_reuse_detected",
            user_id = Some(session.user_id.as_str()),
            session_id = Some(session.session_id.as_str()),
            "spent refresh token presented again: revoking the session"
        );
        match self
            .sessions
            .delete_session(&session.username, &session.session_id)
            .await
        {
            Ok(()) => {
                crate::telemetry::count(crate::telemetry::Metric::SessionRevoked("reuse"));
                crate::security_event!(
                    info,
                    "session_revoked",
                    user_id = Some(session.user_id.as_str()),
                    session_id = Some(session.session_id.as_str()),
                    reason = "reuse",
                    "session revoked"
                )
            }
            Err(e) => {
                tracing::error!(error = %Chain(&e), "could not revoke the session after reuse")
            }
        }
    }

    /// Revokes the session of `raw_token` (if it is its live or just-replaced token and the
    /// session has not expired), and with `all_devices` every session of its user.
    /// Anything that is not a valid token is silently ignored: logout is no oracle.
    #[tracing::instrument(skip_all, fields(session_id))]
    pub async fn logout(
        &self,
        raw_token: Option<&str>,
        all_devices: bool,
    ) -> Result<(), AuthError> {
        let Some(token) = raw_token.and_then(RefreshToken::parse) else {
            return Ok(());
        };
        tracing::Span::current().record("session_id", token.session_id.as_str());
        let presented = token.hash();
        let deleted = self
            .sessions
            .delete_session_if_token(
                &token.username,
                &token.session_id,
                &presented,
                self.clock.now(),
            )
            .await?;
        let Some(session) = deleted else {
            return Ok(());
        };
        crate::telemetry::count(crate::telemetry::Metric::SessionRevoked("logout"));
        crate::security_event!(
            info,
            "session_revoked",
            user_id = Some(session.user_id.as_str()),
            session_id = Some(session.session_id.as_str()),
            reason = "logout",
            "session revoked"
        );
        if !all_devices {
            return Ok(());
        }
        // Every device only on the word of a live token: the current one, or the one it just
        // replaced inside the grace window. A long-spent token ended its own session (it is
        // no longer to be trusted with it) but speaks for nothing more.
        if !session.honours(&presented, self.clock.now_ms(), self.grace_ms()) {
            tracing::info!(
                event = "logout_all_refused",
                reason = "spent_token",
                "logout of all devices refused: the token was spent"
            );
            return Ok(());
        }
        let ids: Vec<String> = self
            .sessions
            .list_sessions(&token.username)
            .await?
            .into_iter()
            .map(|s| s.session_id)
            .collect();
        self.sessions.delete_sessions(&token.username, &ids).await?;
        crate::telemetry::count_by(
            crate::telemetry::Metric::SessionRevoked("logout_all"),
            ids.len(),
        );
        crate::security_event!(
            info,
            "session_revoked",
            user_id = Some(session.user_id.as_str()),
            session_id = Some(session.session_id.as_str()),
            reason = "logout_all",
            count = ids.len(),
            "all sessions revoked"
        );
        Ok(())
    }

    fn grace_ms(&self) -> u64 {
        self.cfg.reuse_grace_secs.saturating_mul(1000)
    }

    fn issue(
        &self,
        key: &SigningKey,
        user: &User,
        session: &Session,
        refresh: &RefreshToken,
        now: u64,
    ) -> Result<Issued, AuthError> {
        let (access_token, expires_in) =
            mint_access_token(key, &self.tokens, user, &session.session_id, now).map_err(|e| {
                tracing::error!(error = %Chain(&e), "could not sign an access token");
                AuthError::Internal
            })?;
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

/// The session's user, if it still exists, is the same account and is enabled.
fn active_user(user: Option<User>, session: &Session) -> Result<User, AuthError> {
    match user {
        Some(u) if u.user_id == session.user_id && !u.disabled && u.honours(session) => Ok(u),
        Some(u) if u.user_id == session.user_id && !u.disabled => {
            tracing::info!(
                event = "refresh_failed",
                reason = "password_changed",
                "refresh refused"
            );
            Err(AuthError::InvalidGrant)
        }
        Some(u) if u.disabled => {
            tracing::info!(
                event = "refresh_failed",
                reason = "disabled",
                "refresh refused"
            );
            Err(AuthError::InvalidGrant)
        }
        _ => {
            tracing::info!(
                event = "refresh_failed",
                reason = "unknown_user",
                "refresh refused"
            );
            Err(AuthError::InvalidGrant)
        }
    }
}

#[cfg(test)]
mod tests;

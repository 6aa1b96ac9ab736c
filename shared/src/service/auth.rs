//! Login and logout (with the session cap and the hash upgrade a login does); refresh is
//! [`super::refresh`].

use secrecy::SecretString;

use super::*;

/// A login whose every factor has been checked, about to become a session.
pub(super) struct PendingLogin {
    /// The session's device id (the login body's `device_id`).
    pub device_id: String,
    /// The counter the login's attempts were reserved on (cleared now).
    pub throttle_key: ThrottleKey,
    /// When the login began (epoch ms): the session is dated from it.
    pub started_ms: u64,
    /// How the user authenticated (RFC 8176).
    pub amr: Vec<String>,
}

impl AuthService {
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
                // A user without a password (signed up through an OpenID provider) is checked
                // as an unknown one: the dummy hash, the same work, never a match.
                user.as_ref().and_then(|u| u.password().map(str::to_string)),
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
            return Err(AuthError::Internal(Cause::msg(
                "a verified password without a parsed username",
            )));
        };
        if user.disabled {
            self.clear_failures(&throttle_key).await;
            crate::telemetry::count(crate::telemetry::Metric::LoginFailed);
            tracing::info!(event = "login_failed", reason = "disabled", "login refused");
            return Err(AuthError::AccountDisabled);
        }

        if user.totp.enabled() {
            // The password was right, so it is upgraded now; the failure counter is not
            // cleared (a right password alone proves nothing while a second factor is due).
            if let Some(password) = rehash_with {
                self.upgrade_hash(&user, password).await;
            }
            let challenge = self
                .start_second_step(&user, &throttle_key, input.device_id, started_ms, now)
                .await?;
            return Err(challenge);
        }
        let amr = vec![crate::domain::AMR_PASSWORD.to_string()];
        let pending = PendingLogin {
            device_id: input.device_id,
            throttle_key,
            started_ms,
            amr,
        };
        let issued = self.complete_login(&key, &user, pending, now).await?;
        if let Some(password) = rehash_with {
            self.upgrade_hash(&user, password).await;
        }
        Ok(issued)
    }

    /// The end of every login (a password alone, or a password and its second factor): the
    /// session, its tokens, the failure count cleared, the session cap, the device token.
    pub(super) async fn complete_login(
        &self,
        key: &SigningKey,
        user: &User,
        pending: PendingLogin,
        now: u64,
    ) -> Result<Issued, AuthError> {
        let PendingLogin {
            device_id,
            throttle_key,
            started_ms,
            amr,
        } = pending;
        let (session, token) = self.new_session_with(user, device_id, started_ms, now, amr);
        // Everything the answer holds is made before anything is stored: a token that cannot
        // be minted (the verifier would refuse it) leaves no session behind.
        let mut issued = self.issue(key, user, &session, &token, now)?;
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
        // The same device keeps its id (and so its counter); a new one gets a new id.
        issued.device_token =
            Some(self.device_token(key, user, throttle_key.device, started_ms, now));
        Ok(issued)
    }

    /// Re-hashes a just-verified password with the configured argon2 parameters, replacing
    /// the stored hash only if it is still the one verified. Best effort: the login stands.
    async fn upgrade_hash(&self, user: &User, password: SecretString) {
        let result = match self.passwords.hash(password).await {
            Ok(new_hash) => self
                .users
                .replace_password(PasswordReplacement {
                    username: &user.username,
                    expected: &user.password_hash,
                    new_hash: &new_hash,
                    cutoff: None,
                })
                .await
                .map_err(|e| Chain(&e).to_string()),
            Err(e) => Err(Chain(&e).to_string()),
        };
        match result {
            Ok(()) => tracing::info!(event = "password_rehashed", "password hash upgraded"),
            Err(error) => tracing::warn!(%error, "could not upgrade the password hash"),
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
        let max_others = (self.cfg.sessions.max_per_user as usize).saturating_sub(1);
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
}

//! The failed-login counter, as every check of a secret uses it: an attempt is reserved (counted
//! as a failure) before the password or code is looked at, a failure that reaches the
//! threshold locks the key, a success clears it. Login reserves its own way (device tokens);
//! the account routes and the second factor use [`AuthService::reserve`] here.

use secrecy::SecretString;

use super::accounts::Caller;
use super::AuthService;
use crate::domain::{ThrottleKey, User};
use crate::error::{AuthError, Chain};
use crate::ports::Reservation;

impl AuthService {
    /// After a failed check: locks the key if this failure reached the threshold. A store
    /// failure here is logged, not surfaced (the caller gets the same 401 either way; the
    /// attempt was already counted when it was reserved).
    pub(super) async fn lock_if_due(
        &self,
        key: &ThrottleKey,
        user_id: Option<&str>,
        failures: u32,
        now: u64,
    ) {
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

    pub(super) async fn clear_failures(&self, key: &ThrottleKey) {
        if let Err(e) = self.throttle.clear(key).await {
            tracing::warn!(error = %Chain(&e), "could not reset the failure counter");
        }
    }

    /// The current password of a caller whose session stands, checked against the lockout as
    /// a login is: at most `LOGIN_MAX_FAILURES` checked per window, a wrong one counted (and
    /// logged as `failed_event`), a right one clearing the count.
    pub(super) async fn check_current_password(
        &self,
        caller: &Caller,
        user: &User,
        current: SecretString,
        failed_event: &'static str,
    ) -> Result<(), AuthError> {
        self.check_password_keep_counting(caller, user, current, failed_event)
            .await?;
        self.clear_failures(&Self::caller_key(caller)).await;
        Ok(())
    }

    /// As [`AuthService::check_current_password`], but a right password leaves the count as
    /// it is: a second factor is still to be checked, and only both right clear it.
    pub(super) async fn check_password_keep_counting(
        &self,
        caller: &Caller,
        user: &User,
        current: SecretString,
        failed_event: &'static str,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        let key = Self::caller_key(caller);
        let failures = self
            .reserve(&key, &caller.user_id, Some(&caller.session_id), now)
            .await?;
        let verified = self
            .passwords
            .verify(current, user.password().map(str::to_string))
            .await;
        if !verified {
            tracing::info!(event = failed_event, "wrong current password");
            self.lock_if_due(&key, Some(&caller.user_id), failures, now)
                .await;
            return Err(AuthError::InvalidCredentials);
        }
        Ok(())
    }

    /// The failure counter a signed-in caller's checks count on: the username's.
    pub(super) fn caller_key(caller: &Caller) -> ThrottleKey {
        ThrottleKey {
            username: caller.username.clone(),
            device: None,
        }
    }

    /// Reserves one attempt on `key` (see [`crate::ports::ThrottleStore`]): the failures it
    /// makes, or [`AuthError::TooManyAttempts`] while locked (counted and logged).
    pub(super) async fn reserve(
        &self,
        key: &ThrottleKey,
        user_id: &str,
        session_id: Option<&str>,
        now: u64,
    ) -> Result<u32, AuthError> {
        let policy = self.cfg.lockout_policy();
        match self.throttle.reserve_attempt(key, now, &policy).await? {
            Reservation::Granted { failures } => Ok(failures),
            Reservation::Refused { until } => {
                crate::telemetry::count(crate::telemetry::Metric::LoginLocked);
                crate::security_event!(
                    info,
                    "login_locked",
                    user_id = Some(user_id),
                    session_id = session_id,
                    known_device = key.device.is_some(),
                    "refused unchecked: locked"
                );
                Err(AuthError::TooManyAttempts {
                    retry_after: until.saturating_sub(now).max(1),
                })
            }
        }
    }
}

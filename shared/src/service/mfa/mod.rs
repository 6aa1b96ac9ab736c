//! The second factor (TOTP, RFC 6238, with recovery codes): the login's second step here;
//! enrolment, turning it off and new recovery codes in [`enrol`].
//!
//! Every code is checked as a password is: an attempt is reserved on the user's failure
//! counter first (at most `LOGIN_MAX_FAILURES` checked per window, however many arrive at
//! once), a wrong one is a failed login, and only a completed login clears the count (a right
//! password of a user with TOTP does not). A TOTP code is good once: the step it matched, and
//! every earlier one, is spent by one conditional write. Secrets are sealed
//! ([`crate::crypto::sealed`]) under data keys kept in Secrets Manager; recovery codes are
//! stored hashed.

use std::sync::Arc;

use secrecy::SecretString;

use super::auth::PendingLogin;
use super::{AuthService, Issued};
use crate::crypto::sealed::{DataKeySource, DataKeys, SealError};
use crate::crypto::totp::{self, TotpSecret};
use crate::domain::{
    email_token_hash, new_email_token, MfaChallenge, MfaPending, SecondFactor, ThrottleKey, User,
    MFA_TOKEN_TTL,
};
use crate::error::{AuthError, Cause};

/// `POST /auth/login/mfa`: the pending login's token and the second factor.
pub struct MfaLoginInput {
    pub mfa_token: String,
    pub factor: SecondFactor,
}

/// A secret being set up: what the authenticator app is given. `Debug` hides both.
pub struct TotpEnrolment {
    pub secret: SecretString,
    pub otpauth_uri: SecretString,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(..)")
    }
}

/// Fresh recovery codes, shown once. `Debug` hides them.
pub struct RecoveryCodes(pub Vec<String>);

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.0.len())
    }
}

impl RecoveryCodes {
    fn generate() -> (Self, Vec<String>) {
        let codes = totp::new_recovery_codes();
        let hashes = codes
            .iter()
            .filter_map(|c| totp::recovery_code_hash(c))
            .collect();
        (RecoveryCodes(codes), hashes)
    }
}

impl AuthService {
    fn data_key_source(&self) -> Result<&Arc<dyn DataKeySource>, AuthError> {
        self.data_keys.as_ref().ok_or_else(|| {
            AuthError::unavailable(Cause::msg("no data keys configured for TOTP secrets"))
        })
    }

    /// `secret` sealed for `user` under the current data key.
    async fn seal(&self, user: &User, secret: &TotpSecret) -> Result<String, AuthError> {
        let keys = self.data_key_source()?.data_keys().await?;
        keys.seal(secret.as_bytes(), &user.user_id)
            .map_err(AuthError::internal)
    }

    /// The secret `sealed` holds for `user`; a key the cached set lacks (rotated since) is
    /// read again once.
    async fn open(&self, user: &User, sealed: &str) -> Result<TotpSecret, AuthError> {
        let source = self.data_key_source()?;
        let open = |keys: &DataKeys| keys.open(sealed, &user.user_id).map(TotpSecret::from_bytes);
        match open(&*source.data_keys().await?) {
            Err(SealError::UnknownKey) => open(&*source.reload().await?),
            other => other,
        }
        .map_err(AuthError::internal)
    }

    /// The login's first step succeeded for a user with TOTP: a pending login (its token, the
    /// session's device, the failure counter it reserved on), stored; the caller answers 403
    /// `mfa_required` with the token.
    pub(super) async fn start_second_step(
        &self,
        user: &User,
        throttle_key: &ThrottleKey,
        device_id: String,
        started_ms: u64,
        now: u64,
    ) -> Result<AuthError, AuthError> {
        let token = new_email_token();
        let hash = email_token_hash(&token)
            .ok_or_else(|| AuthError::Internal(Cause::msg("a fresh mfa token does not parse")))?;
        let challenge = MfaChallenge {
            hash,
            username: user.username.clone(),
            user_id: user.user_id.clone(),
            device_id,
            known_device: throttle_key.device.clone(),
            started_ms,
            expires_at: now.saturating_add(MFA_TOKEN_TTL),
        };
        self.mfa.put_challenge(&challenge).await?;
        crate::telemetry::count(crate::telemetry::Metric::MfaChallenged);
        tracing::info!(event = "mfa_required", "password right; second factor due");
        Ok(AuthError::MfaRequired(MfaPending {
            mfa_token: token,
            expires_in: MFA_TOKEN_TTL,
        }))
    }

    /// `POST /auth/login/mfa`: the second step of a pending login. The token is spent only by
    /// a right code (a wrong one may be corrected within the token's five minutes, each try a
    /// failed login); the session is the one the password step would have made, dated from it.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn login_mfa(&self, input: MfaLoginInput) -> Result<Issued, AuthError> {
        let key = self.keys.current().await?;
        let hash = email_token_hash(&input.mfa_token).ok_or(AuthError::InvalidMfaToken)?;
        let now = self.clock.now();
        let challenge = self
            .mfa
            .get_challenge(&hash)
            .await?
            .filter(|c| now < c.expires_at)
            .ok_or(AuthError::InvalidMfaToken)?;
        tracing::Span::current().record("user_id", challenge.user_id.as_str());
        // The same user still, with TOTP still on, and no password change (or reset) since
        // the password step: that change may have been made to shut this very login out.
        let user = self
            .users
            .get_user(&challenge.username)
            .await?
            .filter(|u| {
                u.user_id == challenge.user_id
                    && u.totp.enabled()
                    && u.honours_session(challenge.started_ms, "")
            })
            .ok_or(AuthError::InvalidMfaToken)?;
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        let throttle_key = ThrottleKey {
            username: user.username.clone(),
            device: challenge.known_device.clone(),
        };
        self.check_factor(&user, &input.factor, &throttle_key, None)
            .await?;
        if !self.mfa.spend_challenge(&hash).await? {
            // Another request completed this login first (with another right code).
            return Err(AuthError::InvalidMfaToken);
        }
        let pending = PendingLogin {
            device_id: challenge.device_id,
            throttle_key,
            started_ms: challenge.started_ms,
            amr: input.factor.amr(),
        };
        self.complete_login(&key, &user, pending, now).await
    }

    /// Checks a second factor of `user` as a password is checked: an attempt reserved on
    /// `key` first (429 while locked), a wrong code counted (and the key locked when due). A
    /// right one is spent before this returns (the TOTP step, or the recovery code), by a
    /// conditional write: of two requests with the same code, one gets through.
    async fn check_factor(
        &self,
        user: &User,
        factor: &SecondFactor,
        key: &ThrottleKey,
        session_id: Option<&str>,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        // The secret first: a data key that cannot be read is a 503 that counts no attempt.
        let secret = match (factor, &user.totp.secret) {
            (SecondFactor::Totp(_), Some(sealed)) => Some(self.open(user, sealed).await?),
            _ => None,
        };
        let failures = self.reserve(key, &user.user_id, session_id, now).await?;
        if self
            .spend_factor(user, factor, secret.as_ref(), now)
            .await?
        {
            crate::telemetry::count(crate::telemetry::Metric::MfaSucceeded(factor.kind()));
            return Ok(());
        }
        crate::telemetry::count(crate::telemetry::Metric::MfaFailed(factor.kind()));
        crate::security_event!(
            info,
            "mfa_failed",
            user_id = Some(user.user_id.as_str()),
            session_id = session_id,
            factor = factor.kind(),
            failures,
            "wrong or spent second factor"
        );
        self.lock_if_due(key, Some(&user.user_id), failures, now)
            .await;
        Err(AuthError::InvalidCode)
    }

    /// Whether `factor` is right for `user` now, and spent (false: wrong, replayed, or TOTP
    /// off); `secret` is the user's opened TOTP secret, for a TOTP code.
    async fn spend_factor(
        &self,
        user: &User,
        factor: &SecondFactor,
        secret: Option<&TotpSecret>,
        now: u64,
    ) -> Result<bool, AuthError> {
        if !user.totp.enabled() {
            return Ok(false);
        }
        match factor {
            SecondFactor::Totp(code) => {
                let Some(secret) = secret else {
                    return Ok(false);
                };
                let last = Some(user.totp.last_step);
                match totp::verify(secret, code, now, last) {
                    Some(step) => Ok(self.mfa.spend_totp_step(user, step).await?),
                    None => Ok(false),
                }
            }
            SecondFactor::Recovery(code) => {
                let Some(hash) = totp::recovery_code_hash(code) else {
                    return Ok(false);
                };
                let spent = self.mfa.spend_recovery_code(user, &hash).await?;
                if spent {
                    let left = user.totp.recovery_codes.len().saturating_sub(1);
                    crate::security_event!(
                        warn,
                        "recovery_code_used",
                        user_id = Some(user.user_id.as_str()),
                        session_id = None::<&str>,
                        recovery_codes_left = left,
                        "a recovery code was used"
                    );
                }
                Ok(spent)
            }
        }
    }
}

mod enrol;

#[cfg(test)]
mod tests;

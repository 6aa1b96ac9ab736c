//! Setting the second factor up and taking it down: `POST /auth/mfa/totp` (a pending secret),
//! `/auth/mfa/totp/confirm` (on, with recovery codes), `DELETE /auth/mfa/totp`,
//! `POST /auth/mfa/recovery-codes`. Each code checked here counts as a login attempt too.

use secrecy::SecretString;

use super::{RecoveryCodes, TotpEnrolment};
use crate::crypto::totp::{self, TotpSecret};
use crate::domain::SecondFactor;
use crate::error::{AuthError, StoreError};
use crate::service::accounts::Caller;
use crate::service::AuthService;

impl AuthService {
    /// `POST /auth/mfa/totp`: a new secret, pending until a code confirms it (replacing any
    /// pending one). The current password is checked as for a password change.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn begin_totp(
        &self,
        caller: &Caller,
        current: SecretString,
    ) -> Result<TotpEnrolment, AuthError> {
        self.data_key_source()?;
        let user = self.caller_user(caller).await?;
        self.check_current_password(caller, &user, current, "mfa_enrol_failed")
            .await?;
        if user.totp.enabled() {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let secret = TotpSecret::generate();
        let sealed = self.seal(&user, &secret).await?;
        match self.mfa.set_pending_totp(&user, &sealed).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(AuthError::MfaAlreadyEnabled),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(event = "mfa_enrolment_started", "TOTP secret pending");
        let issuer = self.cfg.tokens.issuer.as_str();
        let label = issuer
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or(rest))
            .unwrap_or(issuer);
        Ok(TotpEnrolment {
            secret: secret.base32().into(),
            otpauth_uri: secret.otpauth_uri(label, user.username.as_str()).into(),
        })
    }

    /// `POST /auth/mfa/totp/confirm`: a code of the pending secret turns TOTP on (its step
    /// spent) and returns ten recovery codes, shown this once. Codes count as login attempts.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn confirm_totp(
        &self,
        caller: &Caller,
        code: &str,
    ) -> Result<RecoveryCodes, AuthError> {
        let user = self.caller_user(caller).await?;
        if user.totp.enabled() {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let Some(pending) = user.totp.pending.clone() else {
            return Err(AuthError::InvalidEnrolmentCode);
        };
        let key = Self::caller_key(caller);
        let now = self.clock.now();
        let failures = self
            .reserve(&key, &caller.user_id, Some(&caller.session_id), now)
            .await?;
        let secret = self.open(&user, &pending).await?;
        let Some(step) = totp::verify(&secret, code, now, None) else {
            tracing::info!(event = "mfa_enrol_failed", "wrong confirmation code");
            self.lock_if_due(&key, Some(&caller.user_id), failures, now)
                .await;
            return Err(AuthError::InvalidEnrolmentCode);
        };
        let (codes, hashes) = RecoveryCodes::generate();
        match self.mfa.enable_totp(&user, &pending, step, &hashes).await {
            Ok(()) => {}
            // Replaced by a newer enrolment (or confirmed by a concurrent request) meanwhile.
            Err(StoreError::Conflict) => return Err(AuthError::InvalidEnrolmentCode),
            Err(e) => return Err(e.into()),
        }
        self.clear_failures(&key).await;
        crate::telemetry::count(crate::telemetry::Metric::MfaEnabled);
        crate::security_event!(
            info,
            "mfa_enabled",
            user_id = Some(caller.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            "TOTP turned on"
        );
        Ok(codes)
    }

    /// `DELETE /auth/mfa/totp`: the current password and a second factor (a TOTP or a recovery
    /// code) turn TOTP off. The password's attempt is not cleared until the code is right.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn disable_totp(
        &self,
        caller: &Caller,
        current: SecretString,
        factor: SecondFactor,
    ) -> Result<(), AuthError> {
        let user = self.caller_user(caller).await?;
        if !user.totp.enabled() {
            return Err(AuthError::MfaNotEnabled);
        }
        self.check_password_keep_counting(caller, &user, current, "mfa_disable_failed")
            .await?;
        let key = Self::caller_key(caller);
        self.check_factor(&user, &factor, &key, Some(&caller.session_id))
            .await?;
        self.mfa.disable_totp(&user).await?;
        self.clear_failures(&key).await;
        crate::telemetry::count(crate::telemetry::Metric::MfaDisabled("user"));
        crate::security_event!(
            warn,
            "mfa_disabled",
            user_id = Some(caller.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            by = "user",
            "TOTP turned off"
        );
        Ok(())
    }

    /// `POST /auth/mfa/recovery-codes`: a TOTP code, then ten new recovery codes (the old void).
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn regenerate_recovery_codes(
        &self,
        caller: &Caller,
        code: String,
    ) -> Result<RecoveryCodes, AuthError> {
        let user = self.caller_user(caller).await?;
        if !user.totp.enabled() {
            return Err(AuthError::MfaNotEnabled);
        }
        let key = Self::caller_key(caller);
        self.check_factor(
            &user,
            &SecondFactor::Totp(code),
            &key,
            Some(&caller.session_id),
        )
        .await?;
        let (codes, hashes) = RecoveryCodes::generate();
        match self.mfa.replace_recovery_codes(&user, &hashes).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(AuthError::MfaNotEnabled),
            Err(e) => return Err(e.into()),
        }
        self.clear_failures(&key).await;
        crate::security_event!(
            info,
            "recovery_codes_regenerated",
            user_id = Some(caller.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            "new recovery codes; the old ones are void"
        );
        Ok(codes)
    }
}

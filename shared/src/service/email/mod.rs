//! A way back in: the caller's profile, email verification, and password reset by email.
//!
//! Every mail holds one link with a single-use token in its fragment
//! (`APP_URL/verify-email#token=…`, `APP_URL/reset-password#token=…`), so the token reaches no
//! server log. One address gets at most `EMAIL_MAX_PER_HOUR` mails, whatever asks for them.
//! `forgot` answers the same, in the same time, for known and unknown addresses.

use std::time::Duration;

use secrecy::SecretString;

use super::accounts::Caller;
use super::AuthService;
use crate::domain::{email_token_hash, new_email_token, Email, EmailToken, EmailTokenKind, User};
use crate::error::{AuthError, Cause, Chain, StoreError};
use crate::ports::{Mail, MailError};
use crate::telemetry::{count, Metric};

/// What became of a mail.
pub(super) enum Mailed {
    Sent,
    /// The address had its mails this hour; nothing sent.
    Suppressed,
    Failed(AuthError),
}

impl AuthService {
    /// Whether mail can go out (`EMAIL_FROM` set and a mailer wired).
    pub fn email_enabled(&self) -> bool {
        self.cfg.email.enabled() && self.mailer.is_some()
    }

    /// 503 unless mail can go out: every email route checks this before anything else.
    pub fn require_email(&self) -> Result<(), AuthError> {
        if self.email_enabled() {
            Ok(())
        } else {
            Err(mail_off())
        }
    }

    /// `GET /auth/me`: the caller's account, if their session stands.
    pub async fn me(&self, caller: &Caller) -> Result<User, AuthError> {
        self.caller_user(caller).await
    }

    /// A new token of `kind` for `email`, stored as `user`'s outstanding one, and mailed; at
    /// most `EMAIL_MAX_PER_HOUR` mails to one address, counted before anything is written.
    pub(super) async fn mail_token(
        &self,
        user: &User,
        email: &Email,
        kind: EmailTokenKind,
    ) -> Result<Mailed, AuthError> {
        let (Some(mailer), Some(from)) = (self.mailer.as_ref(), self.cfg.email.from.as_deref())
        else {
            return Err(mail_off());
        };
        let now = self.clock.now();
        if !self
            .emails
            .reserve_mail(email, now, self.cfg.email.max_per_hour)
            .await?
        {
            count(Metric::MailSuppressed(kind.as_str()));
            tracing::info!(
                event = "mail_suppressed",
                kind = kind.as_str(),
                email = %email.log_id(),
                "the address had its mails this hour"
            );
            return Ok(Mailed::Suppressed);
        }
        let raw = new_email_token();
        let hash = email_token_hash(&raw).ok_or(AuthError::Internal(Cause::msg(
            "a fresh email token did not parse",
        )))?;
        self.emails
            .put_token(&EmailToken {
                hash,
                kind,
                username: user.username.clone(),
                user_id: user.user_id.clone(),
                email: email.clone(),
                expires_at: now.saturating_add(self.cfg.email.token_ttl),
            })
            .await?;
        let mail = self.mail(email, kind, &raw);
        match mailer.send(from, &mail).await {
            Ok(()) => {
                count(Metric::MailSent(kind.as_str()));
                tracing::info!(event = "mail_sent", kind = kind.as_str(), email = %email.log_id(), "mail sent");
                Ok(Mailed::Sent)
            }
            Err(e) => {
                count(Metric::MailFailed(kind.as_str()));
                tracing::warn!(
                    event = "mail_failed",
                    kind = kind.as_str(),
                    email = %email.log_id(),
                    error = %Chain(&e),
                    "mail not sent"
                );
                Ok(Mailed::Failed(AuthError::unavailable(e)))
            }
        }
    }

    fn mail(&self, to: &Email, kind: EmailTokenKind, token: &str) -> Mail {
        let link = self.cfg.email.link(kind, token);
        let minutes = self.cfg.email.token_ttl / 60;
        let (subject, what) = match kind {
            EmailTokenKind::Verify => (
                "Confirm your email address",
                "To confirm this address for your account, open this link",
            ),
            EmailTokenKind::Reset => (
                "Reset your password",
                "To choose a new password for your account, open this link",
            ),
        };
        Mail {
            to: to.clone(),
            subject: subject.to_string(),
            text: SecretString::from(format!(
                "{what}:\n\n{link}\n\nIt works once, within {minutes} minutes. If you did not \
                 ask for this, ignore this mail: nothing changes.\n"
            )),
        }
    }

    /// After a sign-up with an address: the verification mail. If it cannot go out the sign-up
    /// is undone (user, session, address) and the caller gets 503, so a retry can succeed.
    pub(super) async fn mail_signup_verification(
        &self,
        user: &User,
        session_id: &str,
    ) -> Result<(), AuthError> {
        let Some(email) = &user.email else {
            return Ok(());
        };
        let failed = match self.mail_token(user, email, EmailTokenKind::Verify).await {
            Ok(Mailed::Sent | Mailed::Suppressed) => return Ok(()),
            Ok(Mailed::Failed(e)) | Err(e) => e,
        };
        if let Err(e) = self.emails.delete_registration(user, session_id).await {
            tracing::error!(error = %Chain(&e), "could not undo a sign-up whose mail failed");
        }
        Err(failed)
    }

    /// `POST /auth/email`: mails a verification link to a new address; it becomes the user's
    /// once verified. The current password is checked as a login's is.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn request_email_change(
        &self,
        caller: &Caller,
        email: Email,
        current: SecretString,
    ) -> Result<(), AuthError> {
        self.require_email()?;
        let user = self.caller_user(caller).await?;
        self.check_current_password(caller, &user, current, "email_change_failed")
            .await?;
        match self.emails.owner_of(&email).await? {
            Some(owner) if owner != user.username => return Err(AuthError::EmailTaken),
            _ => {}
        }
        match self
            .mail_token(&user, &email, EmailTokenKind::Verify)
            .await?
        {
            Mailed::Sent | Mailed::Suppressed => Ok(()),
            Mailed::Failed(e) => Err(e),
        }
    }

    /// The stored token a presented one stands for, if it is of `kind`, unexpired, and its
    /// user is still the enabled user it was made for.
    async fn live_token(
        &self,
        raw: &str,
        kind: EmailTokenKind,
    ) -> Result<(EmailToken, User), AuthError> {
        let hash = email_token_hash(raw).ok_or(AuthError::InvalidEmailToken)?;
        let token = self
            .emails
            .get_token(&hash)
            .await?
            .filter(|t| t.kind == kind && self.clock.now() < t.expires_at)
            .ok_or(AuthError::InvalidEmailToken)?;
        let user = self
            .users
            .get_user(&token.username)
            .await?
            .filter(|u| u.user_id == token.user_id && !u.disabled)
            .ok_or(AuthError::InvalidEmailToken)?;
        Ok((token, user))
    }

    /// `POST /auth/email/verify`: the token's address becomes the user's, verified.
    pub async fn verify_email(&self, raw: &str) -> Result<(), AuthError> {
        self.require_email()?;
        let (token, user) = self.live_token(raw, EmailTokenKind::Verify).await?;
        self.emails
            .confirm_email(&token, user.email.as_ref())
            .await
            .map_err(not_spent)?;
        if user.email.as_ref() != Some(&token.email) {
            crate::security_event!(
                info,
                "email_changed",
                user_id = Some(user.user_id.as_str()),
                session_id = None::<&str>,
                "email address changed"
            );
        }
        tracing::info!(event = "email_verified", user_id = %user.user_id, "address verified");
        Ok(())
    }

    /// `POST /auth/password/forgot`: a reset link to the address if it is an enabled user's.
    /// Answers in at least `forgot_floor_ms` whatever happens, so its time does not tell known
    /// addresses from unknown ones; a failure past validation is logged and counted, never
    /// answered.
    pub async fn forgot_password(&self, email: Email) -> Result<(), AuthError> {
        self.require_email()?;
        let started = tokio::time::Instant::now();
        let floor = Duration::from_millis(self.cfg.email.forgot_floor_ms);
        if let Err(e) = self.send_reset(&email).await {
            tracing::warn!(event = "forgot_failed", email = %email.log_id(), error = %Chain(&e), "no reset mail");
        }
        if started.elapsed() > floor {
            count(Metric::ForgotOverFloor);
            tracing::warn!(
                event = "forgot_over_floor",
                elapsed_ms = started.elapsed().as_millis() as u64,
                "forgot took longer than its floor"
            );
        }
        tokio::time::sleep_until(started + floor).await;
        Ok(())
    }

    async fn send_reset(&self, email: &Email) -> Result<(), AuthError> {
        let Some(username) = self.emails.owner_of(email).await? else {
            return Ok(());
        };
        let Some(user) = self.users.get_user(&username).await? else {
            return Ok(());
        };
        if user.disabled || user.email.as_ref() != Some(email) {
            return Ok(());
        }
        match self.mail_token(&user, email, EmailTokenKind::Reset).await? {
            Mailed::Failed(e) => Err(e),
            Mailed::Sent | Mailed::Suppressed => Ok(()),
        }
    }

    /// `POST /auth/password/reset`: a new password for the token's user. One conditional
    /// write sets it, revokes every session (the cutoff), marks the address verified and voids
    /// every reset token; then the lockout is cleared and the sessions' items deleted. A
    /// refused password spends nothing.
    pub async fn reset_password(&self, raw: &str, new: SecretString) -> Result<(), AuthError> {
        self.require_email()?;
        let (token, user) = self.live_token(raw, EmailTokenKind::Reset).await?;
        self.check_new_password(&user.username, &new).await?;
        let (new_hash, cutoff) = self.hash_with_cutoff(new, None).await?;
        self.emails
            .reset_password(&token, &new_hash, &cutoff)
            .await
            .map_err(not_spent)?;
        crate::security_event!(
            info,
            "password_reset",
            user_id = Some(user.user_id.as_str()),
            session_id = None::<&str>,
            "password reset by email"
        );
        self.clear_failures(&crate::domain::ThrottleKey {
            username: user.username.clone(),
            device: None,
        })
        .await;
        self.revoke_sessions_except(&user.username, &user.user_id, None, "password_reset")
            .await;
        Ok(())
    }
}

/// The 503 of every email route while mail is off.
fn mail_off() -> AuthError {
    AuthError::unavailable_because("EMAIL_FROM is not set: mail is off")
}

/// Why a token could not be spent: no longer the user's outstanding one (used, superseded),
/// or its address taken meanwhile.
fn not_spent(e: StoreError) -> AuthError {
    match e {
        StoreError::Conflict | StoreError::NotFound => AuthError::InvalidEmailToken,
        StoreError::EmailTaken => AuthError::EmailTaken,
        e => e.into(),
    }
}

/// `MailError` as the 503 of a route that cannot answer without its mail.
impl From<MailError> for AuthError {
    fn from(e: MailError) -> Self {
        AuthError::unavailable(e)
    }
}

#[cfg(test)]
mod tests;

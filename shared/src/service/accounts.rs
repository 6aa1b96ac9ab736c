//! Accounts: sign-up, and what a signed-in user does with their own account (list and revoke
//! sessions, change the password). The caller of the self-service routes is who the
//! authorizer says it is ([`Caller`]), never anything in the request body.

use secrecy::{ExposeSecret, SecretString};

use super::{AuthService, Issued};
use crate::domain::revocation::{self, LiveSession, LiveUser};
use crate::domain::{
    password_policy, Email, PasswordReplacement, SessionCutoff, SessionSummary, User, Username,
};
use crate::error::{AuthError, Chain, StoreError};

pub struct RegisterInput {
    pub username: String,
    pub password: SecretString,
    pub device_id: String,
    /// Checked at the edge; mailed a verification link once the account exists.
    pub email: Option<Email>,
}

/// The identity an access token carried, as the authorizer passed it on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub username: Username,
    pub session_id: String,
}

/// One of the caller's sessions, and whether it is the one calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    pub session: SessionSummary,
    pub current: bool,
}

impl AuthService {
    /// Whether sign-up is on (`SIGNUP_ENABLED`): when off, every sign-up is 403, whatever its body.
    pub fn signup_enabled(&self) -> bool {
        self.cfg.signup.enabled
    }

    /// `POST /auth/register`: a new account, logged in. The user and its first session are
    /// written together or not at all, after everything that can fail without a write.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn register(&self, input: RegisterInput) -> Result<Issued, AuthError> {
        if !self.cfg.signup.enabled {
            return Err(AuthError::SignupDisabled);
        }
        let started_ms = self.clock.now_ms();
        let username = Username::parse(&input.username).map_err(|_| {
            AuthError::InvalidRequest(
                "username must be 1-128 bytes of a-z 0-9 . _ @ + - (case-insensitive), with a letter or digit.",
            )
        })?;
        if input.email.is_none() && self.cfg.email.required_on_signup {
            return Err(AuthError::InvalidRequest("email is required."));
        }
        if input.email.is_some() {
            self.require_email()?;
        }
        self.check_new_password(&username, &input.password).await?;
        let key = self.keys.current().await?;
        let password_hash = self
            .passwords
            .hash(input.password)
            .await
            .map_err(AuthError::internal)?;
        let now = self.clock.now();
        let user = User {
            email: input.email,
            ..User::new(
                uuid::Uuid::new_v4().to_string(),
                username,
                password_hash,
                self.cfg.signup.default_roles.clone(),
                now,
            )
        };
        tracing::Span::current().record("user_id", user.user_id.as_str());
        let (session, token) = self.new_session(&user, input.device_id, started_ms, now);
        let mut issued = self.issue(&key, &user, &session, &token, now)?;
        match self.users.create_user_with_session(&user, &session).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                tracing::info!(
                    event = "register_failed",
                    reason = "taken",
                    "sign-up refused"
                );
                return Err(AuthError::UsernameTaken);
            }
            Err(StoreError::EmailTaken) => {
                tracing::info!(
                    event = "register_failed",
                    reason = "email_taken",
                    "sign-up refused"
                );
                return Err(AuthError::EmailTaken);
            }
            Err(e) => return Err(e.into()),
        }
        self.mail_signup_verification(&user, &session.session_id)
            .await?;
        crate::telemetry::count(crate::telemetry::Metric::Registration);
        tracing::info!(event = "user_registered", session_id = %session.session_id, "sign-up");
        issued.device_token = Some(self.device_token(&key, &user, None, started_ms, now));
        Ok(issued)
    }

    /// `GET /auth/sessions`: the caller's live sessions, newest first.
    pub async fn sessions_of(&self, caller: &Caller) -> Result<Vec<SessionView>, AuthError> {
        let (user, all) = self.standing(caller).await?;
        let now = self.clock.now();
        let mut live: Vec<SessionView> = all
            .into_iter()
            .filter(|s| now < s.expires_at && user.honours_session(s.created_at_ms, &s.session_id))
            .map(|session| SessionView {
                current: session.session_id == caller.session_id,
                session,
            })
            .collect();
        live.sort_by_key(|v| std::cmp::Reverse(v.session.created_at_ms));
        Ok(live)
    }

    /// The caller's user and sessions (the two reads every session route makes anyway, at
    /// once), if the caller's own session still stands: a token whose session has ended
    /// (logout, revocation, reuse, eviction, a password cutoff) or whose user is disabled acts
    /// on nothing, whatever `AUTHORIZER_REVOCATION` let through ([`AuthError::InvalidToken`]).
    async fn standing(&self, caller: &Caller) -> Result<(User, Vec<SessionSummary>), AuthError> {
        let (user, all) = tokio::try_join!(
            self.users.get_user(&caller.username),
            self.sessions.list_sessions(&caller.username)
        )?;
        let own = all
            .iter()
            .find(|s| s.session_id == caller.session_id)
            .map(|s| LiveSession {
                user_id: caller.user_id.clone(),
                created_at_ms: s.created_at_ms,
                ends_at: s.expires_at,
            });
        let user = self.check_standing(caller, user, own)?;
        Ok((user, all))
    }

    /// The caller's user, if the caller's session stands (session and user in one read).
    pub(super) async fn caller_user(&self, caller: &Caller) -> Result<User, AuthError> {
        let (session, user) = self
            .sessions
            .load_for_refresh(&caller.username, &caller.session_id)
            .await?;
        let own = session
            .as_ref()
            .filter(|s| s.session_id == caller.session_id)
            .map(LiveSession::from);
        self.check_standing(caller, user, own)
    }

    /// [`revocation::check`] on the caller's session and user as read; the user if it stands.
    fn check_standing(
        &self,
        caller: &Caller,
        user: Option<User>,
        own: Option<LiveSession>,
    ) -> Result<User, AuthError> {
        let live_user = user.as_ref().map(LiveUser::from);
        let verdict = revocation::check(
            &caller.user_id,
            &caller.session_id,
            own.as_ref(),
            live_user.as_ref(),
            self.clock.now(),
        );
        match (verdict, user) {
            (Ok(()), Some(user)) => Ok(user),
            (verdict, _) => {
                let reason = verdict.err().map(|r| r.to_string()).unwrap_or_default();
                tracing::info!(
                    event = "account_call_refused",
                    user_id = %caller.user_id,
                    session_id = %caller.session_id,
                    %reason,
                    "the caller's session no longer stands"
                );
                Err(AuthError::InvalidToken)
            }
        }
    }

    /// `DELETE /auth/sessions/{id}`: one of the caller's live sessions; anything else is
    /// [`AuthError::NotFound`], another user's session id included.
    pub async fn revoke_own_session(
        &self,
        caller: &Caller,
        session_id: &str,
    ) -> Result<(), AuthError> {
        let live = self.sessions_of(caller).await?;
        if !live.iter().any(|v| v.session.session_id == session_id) {
            return Err(AuthError::NotFound);
        }
        self.sessions
            .delete_session(&caller.username, session_id)
            .await?;
        crate::telemetry::count(crate::telemetry::Metric::SessionRevoked("user"));
        crate::security_event!(
            info,
            "session_revoked",
            user_id = Some(caller.user_id.as_str()),
            session_id = Some(session_id),
            reason = "user",
            "session revoked"
        );
        Ok(())
    }

    /// `DELETE /auth/sessions`: every session of the caller but the current one.
    pub async fn revoke_other_sessions(&self, caller: &Caller) -> Result<usize, AuthError> {
        let (_, all) = self.standing(caller).await?;
        self.revoke_others(caller, all, "user_others").await
    }

    /// Every one of `all` but the caller's session, counted and logged under `cause`.
    async fn revoke_others(
        &self,
        caller: &Caller,
        all: Vec<SessionSummary>,
        cause: &'static str,
    ) -> Result<usize, AuthError> {
        let others: Vec<String> = all
            .into_iter()
            .map(|s| s.session_id)
            .filter(|id| *id != caller.session_id)
            .collect();
        self.sessions
            .delete_sessions(&caller.username, &others)
            .await?;
        super::record_revoked(&caller.user_id, &others, cause);
        Ok(others.len())
    }

    /// After a password cutoff (which already refuses them): deletes the items of every session
    /// of the user but `keep`, best effort, counted and logged under `cause`.
    pub(super) async fn revoke_sessions_except(
        &self,
        username: &Username,
        user_id: &str,
        keep: Option<&str>,
        cause: &'static str,
    ) {
        let caller = Caller {
            user_id: user_id.to_string(),
            username: username.clone(),
            session_id: keep.unwrap_or_default().to_string(),
        };
        let deleted = match self.sessions.list_sessions(username).await {
            Ok(all) => self.revoke_others(&caller, all, cause).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = deleted {
            tracing::warn!(error = %Chain(&e), "could not delete the revoked sessions' items");
        }
    }

    /// `POST /auth/password`: the current password proves it is the user (a wrong one counts
    /// as a failed login), the new one must pass the policy. One conditional write replaces
    /// the hash and revokes every session begun before it except the caller's; the other
    /// sessions' items are then deleted (best effort: they are already refused).
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: SecretString,
        new: SecretString,
    ) -> Result<(), AuthError> {
        password_policy::check(&caller.username, new.expose_secret())
            .map_err(AuthError::WeakPassword)?;
        if new.expose_secret() == current.expose_secret() {
            return Err(AuthError::WeakPassword(
                "The new password must differ from the current one.",
            ));
        }
        // The caller's session and user first, in one read: a session that no longer stands
        // changes nothing, not even the failure counter.
        let user = self.caller_user(caller).await?;
        self.check_current_password(caller, &user, current, "password_change_failed")
            .await?;
        // The breach corpus last (the policy ran first): only a caller who proved the current
        // password asks it.
        self.check_breach(&new).await?;
        let (new_hash, cutoff) = self
            .hash_with_cutoff(new, Some(caller.session_id.clone()))
            .await?;
        match self
            .users
            .replace_password(PasswordReplacement {
                username: &user.username,
                expected: &user.password_hash,
                new_hash: &new_hash,
                cutoff: Some(&cutoff),
            })
            .await
        {
            Ok(()) => {}
            // Another change won between our read and our write: ours was checked against a
            // password that is no longer current.
            Err(StoreError::Conflict | StoreError::NotFound) => {
                return Err(AuthError::InvalidCredentials)
            }
            Err(e) => return Err(e.into()),
        }
        crate::security_event!(
            info,
            "password_changed",
            user_id = Some(user.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            "password changed"
        );
        self.revoke_sessions_except(
            &caller.username,
            &caller.user_id,
            Some(&caller.session_id),
            "password_change",
        )
        .await;
        Ok(())
    }

    /// A new password's hash, and the cutoff that ends every session begun before now but
    /// `kept` (a password change keeps the caller's; a reset keeps none).
    pub(super) async fn hash_with_cutoff(
        &self,
        new: SecretString,
        kept: Option<String>,
    ) -> Result<(String, SessionCutoff), AuthError> {
        let hash = self
            .passwords
            .hash(new)
            .await
            .map_err(AuthError::internal)?;
        let cutoff = SessionCutoff {
            at_ms: self.clock.now_ms(),
            kept,
        };
        Ok((hash, cutoff))
    }
}

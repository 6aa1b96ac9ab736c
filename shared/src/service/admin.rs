//! Administration used by `authctl` and the dev server: users and sessions by username.

use secrecy::{ExposeSecret, SecretString};

use crate::crypto::password::{HashError, Passwords};
use crate::domain::{
    valid_role, PasswordReplacement, SessionCutoff, SessionSummary, User, Username, UsernameError,
    MAX_ROLE_LEN,
};
use crate::error::StoreError;
use crate::ports::{BreachedPasswords, Clock, SessionStore, UserStore};
use crate::service::password_rules::check_new_password;

use crate::domain::password_policy::MIN_PASSWORD_CHARS;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid username: {0}")]
    Username(#[from] UsernameError),
    #[error("password must be {MIN_PASSWORD_CHARS} to 1024 bytes")]
    Password,
    #[error("invalid role {0:?}: 1-{MAX_ROLE_LEN} characters of a-z A-Z 0-9 _ - : . (no commas)")]
    Role(String),
    #[error("user {0} already exists")]
    Duplicate(Username),
    #[error("no user named {0}")]
    UnknownUser(Username),
    #[error("the password of {0} changed meanwhile; try again")]
    Concurrent(Username),
    #[error("weak password: {0}")]
    WeakPassword(&'static str),
    #[error("invalid email: {0}")]
    Email(#[from] crate::domain::EmailError),
    #[error("the address belongs to another user")]
    EmailTaken,
    #[error("user {0} has no session {1}")]
    UnknownSession(Username, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// The administrator's rule: 8 characters to 1024 bytes (sign-up adds the strength check).
fn check_password(password: &SecretString) -> Result<(), AdminError> {
    let text = password.expose_secret();
    if text.chars().count() < MIN_PASSWORD_CHARS || text.len() > crate::domain::MAX_PASSWORD_BYTES {
        return Err(AdminError::Password);
    }
    Ok(())
}

pub async fn create_user(
    users: &dyn UserStore,
    passwords: &Passwords,
    clock: &dyn Clock,
    username: &str,
    password: SecretString,
    roles: Vec<String>,
) -> Result<User, AdminError> {
    let username = Username::parse(username)?;
    check_password(&password)?;
    if let Some(bad) = roles.iter().find(|r| !valid_role(r)) {
        return Err(AdminError::Role(bad.clone()));
    }
    let password_hash = passwords.hash(password).await?;
    let user = User::new(
        uuid::Uuid::new_v4().to_string(),
        username.clone(),
        password_hash,
        roles,
        clock.now(),
    );
    match users.create_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict) => Err(AdminError::Duplicate(username)),
        Err(e) => Err(e.into()),
    }
}

/// Disables or enables a user; returns its user id (what its security event names).
pub async fn set_disabled(
    users: &dyn UserStore,
    username: &str,
    disabled: bool,
) -> Result<String, AdminError> {
    let username = Username::parse(username)?;
    let Some(user) = users.get_user(&username).await? else {
        return Err(AdminError::UnknownUser(username));
    };
    let user_id = Some(user.user_id.as_str());
    match users.set_disabled(&username, disabled).await {
        Ok(()) => {
            if disabled {
                crate::security_event!(info, "user_disabled", user_id = user_id, session_id = None::<&str>, username = %username, "user disabled");
            } else {
                crate::security_event!(info, "user_enabled", user_id = user_id, session_id = None::<&str>, username = %username, "user enabled");
            }
            Ok(user.user_id)
        }
        Err(StoreError::NotFound) => Err(AdminError::UnknownUser(username)),
        Err(e) => Err(e.into()),
    }
}

/// `authctl user set-email USERNAME EMAIL [--verified]`: sets the address at once (no mail),
/// claiming it for the user and releasing their old one; the user's outstanding mailed tokens
/// are void. Returns the user id.
pub async fn set_email(
    users: &dyn UserStore,
    emails: &dyn crate::ports::EmailStore,
    username: &str,
    email: &str,
    verified: bool,
) -> Result<String, AdminError> {
    let email = crate::domain::Email::parse(email)?;
    let user = existing_user(users, username).await?;
    match emails.set_email(&user, &email, verified).await {
        Ok(()) => {}
        Err(StoreError::EmailTaken) => return Err(AdminError::EmailTaken),
        Err(StoreError::NotFound) => return Err(AdminError::UnknownUser(user.username)),
        Err(e) => return Err(e.into()),
    }
    if user.email.as_ref() != Some(&email) {
        crate::security_event!(
            info,
            "email_changed",
            user_id = Some(user.user_id.as_str()),
            session_id = None::<&str>,
            by = "admin",
            "email address set by an administrator"
        );
    }
    Ok(user.user_id)
}

/// `authctl user mfa-reset USERNAME`: TOTP off and its recovery codes gone (a user who lost
/// both their authenticator and their codes). Returns the user id and whether TOTP was on.
pub async fn reset_mfa(
    users: &dyn UserStore,
    mfa: &dyn crate::ports::MfaStore,
    username: &str,
) -> Result<(String, bool), AdminError> {
    let user = existing_user(users, username).await?;
    match mfa.disable_totp(&user).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(AdminError::UnknownUser(user.username)),
        Err(e) => return Err(e.into()),
    }
    let was_on = user.totp.enabled();
    if was_on {
        crate::telemetry::count(crate::telemetry::Metric::MfaDisabled("admin"));
        crate::security_event!(
            warn,
            "mfa_disabled",
            user_id = Some(user.user_id.as_str()),
            session_id = None::<&str>,
            by = "admin",
            "TOTP reset by an administrator"
        );
    }
    Ok((user.user_id, was_on))
}

async fn existing_user(users: &dyn UserStore, username: &str) -> Result<User, AdminError> {
    let username = Username::parse(username)?;
    match users.get_user(&username).await? {
        Some(user) => Ok(user),
        None => Err(AdminError::UnknownUser(username)),
    }
}

pub async fn list_sessions(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
    username: &str,
) -> Result<Vec<SessionSummary>, AdminError> {
    let user = existing_user(users, username).await?;
    Ok(sessions.list_sessions(&user.username).await?)
}

/// Revokes one session (`Some(id)`) or all; returns how many were revoked.
pub async fn revoke_sessions(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
    username: &str,
    session_id: Option<&str>,
) -> Result<usize, AdminError> {
    let user = existing_user(users, username).await?;
    let username = user.username;
    let all = sessions.list_sessions(&username).await?;
    let ids: Vec<String> = match session_id {
        Some(id) => {
            if !all.iter().any(|s| s.session_id == id) {
                return Err(AdminError::UnknownSession(username, id.to_string()));
            }
            vec![id.to_string()]
        }
        None => all.into_iter().map(|s| s.session_id).collect(),
    };
    sessions.delete_sessions(&username, &ids).await?;
    super::record_revoked(&user.user_id, &ids, "admin");
    Ok(ids.len())
}

/// Sets a user's password (`authctl user set-password`) and revokes every session the user
/// has: one conditional write stores the hash and the cutoff that refuses all older
/// sessions, then their items are deleted. Returns how many were deleted. The new password
/// meets the rules every new password meets ([`check_new_password`], with `breaches`).
pub async fn set_password(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
    passwords: &Passwords,
    clock: &dyn Clock,
    breaches: Option<&dyn BreachedPasswords>,
    username: &str,
    password: SecretString,
) -> Result<(usize, String), AdminError> {
    let username = Username::parse(username)?;
    let Some(user) = users.get_user(&username).await? else {
        return Err(AdminError::UnknownUser(username));
    };
    check_new_password(breaches, &username, &password)
        .await
        .map_err(AdminError::WeakPassword)?;
    let new_hash = passwords.hash(password).await?;
    let cutoff = SessionCutoff {
        at_ms: clock.now_ms(),
        kept: None,
    };
    match users
        .replace_password(PasswordReplacement {
            username: &username,
            expected: &user.password_hash,
            new_hash: &new_hash,
            cutoff: Some(&cutoff),
        })
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(AdminError::Concurrent(username)),
        Err(StoreError::NotFound) => return Err(AdminError::UnknownUser(username)),
        Err(e) => return Err(e.into()),
    }
    crate::security_event!(
        info,
        "password_changed",
        user_id = Some(user.user_id.as_str()),
        session_id = None::<&str>,
        username = %username,
        by = "admin",
        "password set"
    );
    let ids: Vec<String> = sessions
        .list_sessions(&username)
        .await?
        .into_iter()
        .map(|s| s.session_id)
        .collect();
    sessions.delete_sessions(&username, &ids).await?;
    super::record_revoked(&user.user_id, &ids, "password_set");
    Ok((ids.len(), user.user_id))
}

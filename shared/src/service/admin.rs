//! Administration used by `authctl` and the dev server: users and sessions by username.

use secrecy::{ExposeSecret, SecretString};

use crate::crypto::password::{HashError, Passwords};
use crate::domain::{SessionSummary, User, Username, UsernameError};
use crate::error::StoreError;
use crate::ports::{Clock, SessionStore, UserStore};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_ROLE_LEN: usize = 64;

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
    #[error("user {0} has no session {1}")]
    UnknownSession(Username, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

fn valid_role(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= MAX_ROLE_LEN
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b))
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
    let text = password.expose_secret();
    if text.chars().count() < MIN_PASSWORD_CHARS || text.len() > crate::domain::MAX_PASSWORD_BYTES {
        return Err(AdminError::Password);
    }
    if let Some(bad) = roles.iter().find(|r| !valid_role(r)) {
        return Err(AdminError::Role(bad.clone()));
    }
    let password_hash = passwords.hash(password).await?;
    let user = User {
        user_id: uuid::Uuid::new_v4().to_string(),
        username: username.clone(),
        password_hash,
        roles,
        disabled: false,
        created_at: clock.now(),
    };
    match users.create_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict) => Err(AdminError::Duplicate(username)),
        Err(e) => Err(e.into()),
    }
}

pub async fn set_disabled(
    users: &dyn UserStore,
    username: &str,
    disabled: bool,
) -> Result<(), AdminError> {
    let username = Username::parse(username)?;
    match users.set_disabled(&username, disabled).await {
        Ok(()) => {
            if disabled {
                tracing::info!(event = "user_disabled", username = %username, "user disabled");
            }
            Ok(())
        }
        Err(StoreError::NotFound) => Err(AdminError::UnknownUser(username)),
        Err(e) => Err(e.into()),
    }
}

async fn existing_user(users: &dyn UserStore, username: &str) -> Result<Username, AdminError> {
    let username = Username::parse(username)?;
    match users.get_user(&username).await? {
        Some(_) => Ok(username),
        None => Err(AdminError::UnknownUser(username)),
    }
}

pub async fn list_sessions(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
    username: &str,
) -> Result<Vec<SessionSummary>, AdminError> {
    let username = existing_user(users, username).await?;
    Ok(sessions.list_sessions(&username).await?)
}

/// Revokes one session (`Some(id)`) or all; returns how many were revoked.
pub async fn revoke_sessions(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
    username: &str,
    session_id: Option<&str>,
) -> Result<usize, AdminError> {
    let username = existing_user(users, username).await?;
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
    for id in &ids {
        tracing::info!(event = "session_revoked", session_id = %id, reason = "admin", "session revoked");
    }
    Ok(ids.len())
}

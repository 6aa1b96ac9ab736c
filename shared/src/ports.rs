//! The ports the domain needs, as small traits: stores, the signing-key source, the clock.
//! Adapters live in [`crate::adapters`]; no AWS type crosses these signatures.

use async_trait::async_trait;

use crate::domain::{FailureRecord, Session, SessionSummary, TokenHash, User, Username};
use crate::error::{KeyError, StoreError};

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn get_user(&self, username: &Username) -> Result<Option<User>, StoreError>;
    /// Fails with [`StoreError::Conflict`] if the username is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Fails with [`StoreError::NotFound`] for an unknown user.
    async fn set_disabled(&self, username: &Username, disabled: bool) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session (its id is fresh: a clash is a [`StoreError::Conflict`]).
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;

    /// The session and its user, read together with strong consistency (one round trip).
    async fn load_for_refresh(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(Option<Session>, Option<User>), StoreError>;

    /// Replaces the session with `next` if its stored version is still `expected_version`.
    /// `Ok(false)` means another rotation won the race (or the session is gone).
    async fn rotate(&self, next: &Session, expected_version: u64) -> Result<bool, StoreError>;

    /// Deletes a session if `token_hash` is its live token or its immediate predecessor and
    /// it has not expired at `now`. `Ok(false)` otherwise (including no such session).
    async fn delete_session_if_token(
        &self,
        username: &Username,
        session_id: &str,
        token_hash: &TokenHash,
        now: u64,
    ) -> Result<bool, StoreError>;

    /// Deletes a session unconditionally (revocation). Unknown ids are not an error.
    async fn delete_session(&self, username: &Username, session_id: &str)
        -> Result<(), StoreError>;

    /// All of a user's sessions (expired ones included), oldest first, without a scan.
    async fn list_sessions(&self, username: &Username) -> Result<Vec<SessionSummary>, StoreError>;

    /// Deletes many sessions of one user, batched.
    async fn delete_sessions(
        &self,
        username: &Username,
        session_ids: &[String],
    ) -> Result<(), StoreError>;
}

/// Failed-login counters, shared by every Lambda instance.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    async fn failures(&self, username: &Username) -> Result<Option<FailureRecord>, StoreError>;
    /// Counts one failure atomically: increments if the last one was within `window` seconds
    /// of `now`, otherwise starts again at 1. Returns the new record.
    async fn record_failure(
        &self,
        username: &Username,
        now: u64,
        window: u64,
        keep_for: u64,
    ) -> Result<FailureRecord, StoreError>;
    async fn clear_failures(&self, username: &Username) -> Result<(), StoreError>;
}

/// One version of the signing secret.
#[derive(Clone)]
pub struct KeyMaterial {
    /// The Secrets Manager version id: the JWT `kid`.
    pub kid: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The versions a verifier accepts: AWSCURRENT (which also signs) and AWSPREVIOUS.
#[derive(Clone, Debug)]
pub struct KeySet {
    pub current: KeyMaterial,
    pub previous: Option<KeyMaterial>,
}

#[async_trait]
pub trait KeySource: Send + Sync {
    async fn load(&self) -> Result<KeySet, KeyError>;
}

/// Wall-clock seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now(&self) -> u64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

//! In-memory fakes of the ports, for fast unit tests only: never used by a function.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::revocation::{LiveSession, LiveUser};
use crate::domain::{
    FailureRecord, LockoutPolicy, MfaChallenge, NextAttempt, PasswordReplacement, Session,
    SessionSummary, ThrottleKey, TokenHash, User, Username,
};
use crate::error::StoreError;
use crate::ports::{Clock, Reservation, RevocationStore, SessionStore, ThrottleStore, UserStore};

mod email;
mod identities;
mod keys;
mod mfa;
mod passkeys;

pub use keys::*;

#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<Username, User>>,
    sessions: Mutex<BTreeMap<(Username, String), Session>>,
    failures: Mutex<HashMap<ThrottleKey, FailureRecord>>,
    email: Mutex<email::EmailState>,
    challenges: Mutex<HashMap<TokenHash, MfaChallenge>>,
    passkeys: Mutex<passkeys::PasskeyState>,
    identities: Mutex<identities::IdentityState>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces a stored user's roles (tests of what tokens can carry).
    pub fn set_roles_for_test(&self, user: &User) {
        if let Some(u) = lock(&self.users).get_mut(&user.username) {
            u.roles = user.roles.clone();
        }
    }

    /// Overwrites a stored session (tests of what a session carries into its tokens).
    pub fn replace_session_for_test(&self, session: &Session) {
        lock(&self.sessions).insert(
            (session.username.clone(), session.session_id.clone()),
            session.clone(),
        );
    }

    pub fn session(&self, username: &Username, session_id: &str) -> Option<Session> {
        lock(&self.sessions)
            .get(&(username.clone(), session_id.to_string()))
            .cloned()
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn get_user(&self, username: &Username) -> Result<Option<User>, StoreError> {
        Ok(lock(&self.users).get(username).cloned())
    }

    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        if users.contains_key(&user.username) {
            return Err(StoreError::Conflict);
        }
        users.insert(user.username.clone(), user.clone());
        Ok(())
    }

    async fn set_disabled(&self, username: &Username, disabled: bool) -> Result<(), StoreError> {
        match lock(&self.users).get_mut(username) {
            Some(u) => {
                u.disabled = disabled;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn create_user_with_session(
        &self,
        user: &User,
        session: &Session,
    ) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let mut sessions = lock(&self.sessions);
        let key = (session.username.clone(), session.session_id.clone());
        if users.contains_key(&user.username) || sessions.contains_key(&key) {
            return Err(StoreError::Conflict);
        }
        if let Some(email) = &user.email {
            let mut state = lock(&self.email);
            if state.claims.contains_key(email) {
                return Err(StoreError::EmailTaken);
            }
            state.claims.insert(email.clone(), user.clone());
        }
        users.insert(user.username.clone(), user.clone());
        sessions.insert(key, session.clone());
        Ok(())
    }

    async fn replace_password(&self, change: PasswordReplacement<'_>) -> Result<(), StoreError> {
        match lock(&self.users).get_mut(change.username) {
            Some(u) if u.password_hash == change.expected => {
                u.password_hash = change.new_hash.to_string();
                if let Some(cut) = change.cutoff {
                    u.sessions_cutoff = Some(cut.clone());
                }
                Ok(())
            }
            Some(_) => Err(StoreError::Conflict),
            None => Err(StoreError::NotFound),
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let key = (session.username.clone(), session.session_id.clone());
        let mut sessions = lock(&self.sessions);
        if sessions.contains_key(&key) {
            return Err(StoreError::Conflict);
        }
        sessions.insert(key, session.clone());
        Ok(())
    }

    async fn load_for_refresh(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(Option<Session>, Option<User>), StoreError> {
        Ok((
            self.session(username, session_id),
            lock(&self.users).get(username).cloned(),
        ))
    }

    async fn rotate(&self, next: &Session, expected_version: u64) -> Result<bool, StoreError> {
        let key = (next.username.clone(), next.session_id.clone());
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(&key) {
            Some(s) if s.version == expected_version => {
                *s = next.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_session_if_token(
        &self,
        username: &Username,
        session_id: &str,
        token_hash: &TokenHash,
        now: u64,
    ) -> Result<Option<Session>, StoreError> {
        let key = (username.clone(), session_id.to_string());
        let mut sessions = lock(&self.sessions);
        let matches = sessions.get(&key).is_some_and(|s| {
            !s.is_expired(now)
                && (s.token_hash.matches(token_hash)
                    || s.prev_hash.is_some_and(|p| p.matches(token_hash)))
        });
        Ok(if matches { sessions.remove(&key) } else { None })
    }

    async fn delete_session(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(), StoreError> {
        lock(&self.sessions).remove(&(username.clone(), session_id.to_string()));
        Ok(())
    }

    async fn list_sessions(&self, username: &Username) -> Result<Vec<SessionSummary>, StoreError> {
        let mut out: Vec<SessionSummary> = lock(&self.sessions)
            .values()
            .filter(|s| &s.username == username)
            .map(|s| SessionSummary {
                session_id: s.session_id.clone(),
                device_id: s.device_id.clone(),
                created_at_ms: s.created_at_ms,
                last_used_at: s.last_used_at,
                expires_at: s.ends_at(),
            })
            .collect();
        out.sort_by(|a, b| (a.created_at_ms, &a.session_id).cmp(&(b.created_at_ms, &b.session_id)));
        Ok(out)
    }

    async fn delete_sessions(
        &self,
        username: &Username,
        session_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut sessions = lock(&self.sessions);
        for id in session_ids {
            sessions.remove(&(username.clone(), id.clone()));
        }
        Ok(())
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Reservation, StoreError> {
        // One lock around read and write: the atomicity DynamoDB's conditions give.
        let mut all = lock(&self.failures);
        let failures = match policy.next_attempt(all.get(key), now) {
            NextAttempt::Refuse { until } => return Ok(Reservation::Refused { until }),
            NextAttempt::Restart => 1,
            NextAttempt::Count => all.get(key).map_or(1, |r| r.failures.saturating_add(1)),
        };
        all.insert(
            key.clone(),
            FailureRecord {
                failures,
                last_failure: now,
                locked_until: None,
            },
        );
        Ok(Reservation::Granted { failures })
    }

    async fn lock_until(&self, key: &ThrottleKey, until: u64) -> Result<(), StoreError> {
        if let Some(r) = lock(&self.failures).get_mut(key) {
            if r.locked_until.is_none_or(|u| u < until) {
                r.locked_until = Some(until);
            }
        }
        Ok(())
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        lock(&self.failures).remove(key);
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for MemoryStore {
    async fn live_status(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(Option<LiveSession>, Option<LiveUser>), StoreError> {
        let session = self.session(username, session_id).map(|s| LiveSession {
            user_id: s.user_id.clone(),
            created_at_ms: s.created_at_ms,
            ends_at: s.ends_at(),
        });
        let user = lock(&self.users).get(username).map(|u| LiveUser {
            user_id: u.user_id.clone(),
            disabled: u.disabled,
            sessions_cutoff: u.sessions_cutoff.clone(),
        });
        Ok((session, user))
    }
}

/// A clock that moves only when told to (milliseconds inside; seconds where tests think in
/// seconds).
pub struct FakeClock(AtomicU64);

impl FakeClock {
    /// Starts at `now` epoch seconds.
    pub fn new(now: u64) -> Self {
        FakeClock(AtomicU64::new(now.saturating_mul(1000)))
    }

    pub fn advance(&self, secs: u64) {
        self.advance_ms(secs.saturating_mul(1000));
    }

    pub fn advance_ms(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set(&self, now: u64) {
        self.0.store(now.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

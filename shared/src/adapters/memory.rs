//! In-memory fakes of the ports, for fast unit tests only: never used by a function.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::{FailureRecord, Session, SessionSummary, TokenHash, User, Username};
use crate::error::{KeyError, StoreError};
use crate::ports::{Clock, KeySet, KeySource, SessionStore, ThrottleStore, UserStore};

#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<Username, User>>,
    sessions: Mutex<BTreeMap<(Username, String), Session>>,
    failures: Mutex<HashMap<Username, FailureRecord>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
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
    ) -> Result<bool, StoreError> {
        let key = (username.clone(), session_id.to_string());
        let mut sessions = lock(&self.sessions);
        let matches = sessions.get(&key).is_some_and(|s| {
            !s.is_expired(now)
                && (s.token_hash.matches(token_hash)
                    || s.prev_hash.is_some_and(|p| p.matches(token_hash)))
        });
        if matches {
            sessions.remove(&key);
        }
        Ok(matches)
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
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.ends_at(),
            })
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.session_id).cmp(&(b.created_at, &b.session_id)));
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
    async fn failures(&self, username: &Username) -> Result<Option<FailureRecord>, StoreError> {
        Ok(lock(&self.failures).get(username).copied())
    }

    async fn record_failure(
        &self,
        username: &Username,
        now: u64,
        window: u64,
        _keep_for: u64,
    ) -> Result<FailureRecord, StoreError> {
        let mut all = lock(&self.failures);
        let record = all.entry(username.clone()).or_insert(FailureRecord {
            failures: 0,
            last_failure: now,
        });
        if now.saturating_sub(record.last_failure) > window {
            record.failures = 0;
        }
        record.failures = record.failures.saturating_add(1);
        record.last_failure = now;
        Ok(*record)
    }

    async fn clear_failures(&self, username: &Username) -> Result<(), StoreError> {
        lock(&self.failures).remove(username);
        Ok(())
    }
}

/// A key source whose answer tests can change, fail, and count.
pub struct StaticKeySource {
    set: Mutex<KeySet>,
    failing: AtomicBool,
    loads: AtomicU64,
}

impl StaticKeySource {
    pub fn new(set: KeySet) -> Self {
        StaticKeySource {
            set: Mutex::new(set),
            failing: AtomicBool::new(false),
            loads: AtomicU64::new(0),
        }
    }

    pub fn set(&self, set: KeySet) {
        *lock(&self.set) = set;
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many times `load` was called (failed calls included).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::SeqCst)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("key source is down")]
struct Down;

#[async_trait]
impl KeySource for StaticKeySource {
    async fn load(&self) -> Result<KeySet, KeyError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(KeyError::unavailable(Down));
        }
        Ok(lock(&self.set).clone())
    }
}

/// A clock that moves only when told to.
pub struct FakeClock(AtomicU64);

impl FakeClock {
    pub fn new(now: u64) -> Self {
        FakeClock(AtomicU64::new(now))
    }

    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

//! API Gateway's authorizer cache, as the template configures it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use shared::http::authorizer_event::IdentityContext;

/// API Gateway's authorizer cache, as the SAM template configures it (`ReauthorizeEvery` =
/// `AuthorizerCacheTtl`, default 300 s): an answer, allow or deny, is kept per `Authorization`
/// value for the TTL, and a repeated token does not run the authorizer again. So the dev
/// server shows the deployed behaviour, including its caveat: a cached allow outlives the
/// token's expiry by up to the TTL. `AUTHORIZER_CACHE_TTL=0` turns it off.
pub struct AuthorizerCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<IdentityContext>)>>,
}

impl AuthorizerCache {
    /// Entries beyond this are dropped wholesale (a local server never gets near it).
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        AuthorizerCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn disabled() -> Self {
        Self::new(Duration::ZERO)
    }

    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<IdentityContext>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Some(answer)` while cached: `Some(context)` for an allow, `None` for a deny.
    pub(crate) fn get(&self, authorization: &str) -> Option<Option<IdentityContext>> {
        if self.ttl.is_zero() {
            return None;
        }
        match self.entries().get(authorization) {
            Some((expires, answer)) if Instant::now() < *expires => Some(answer.clone()),
            _ => None,
        }
    }

    /// Keeps `answer` for `authorization` (copies of both, made only when caching is on).
    pub(crate) fn put(&self, authorization: &str, answer: &Option<IdentityContext>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            authorization.to_string(),
            (Instant::now() + self.ttl, answer.clone()),
        );
    }
}

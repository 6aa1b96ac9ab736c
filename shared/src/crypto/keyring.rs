//! The key ring: AWSCURRENT (signs and verifies), AWSPREVIOUS and, during a rotation,
//! AWSPENDING (verify only), and in an asymmetric mode the next key (published, verify only),
//! cached for `SECRET_CACHE_TTL`. A verify-only ring ([`KeyRing::public`]) holds nothing but
//! the published public keys: the authorizer's and the discovery function's in an asymmetric
//! mode.
//!
//! Keys are built and checked once per version, never per request. While the source is down
//! the ring keeps serving what it has (re-trying every [`FAILED_RELOAD_BACKOFF`] seconds); an
//! unknown `kid` triggers at most one reload per [`UNKNOWN_KID_RELOAD_INTERVAL`], so a flood of
//! forged kids cannot hammer Secrets Manager.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::Deserialize;

use crate::crypto::keys::VerifyKey;
use crate::domain::SigningAlg;
use crate::error::{Chain, KeyError};
use crate::ports::{Clock, KeySet, KeySource, PublicKeySource};

pub use super::secret_value::MIN_KEY_BYTES;
pub const UNKNOWN_KID_RELOAD_INTERVAL: u64 = 30;
pub const FAILED_RELOAD_BACKOFF: u64 = 10;

pub use super::secret_value::{parse_signing_secret, render_signing_secret, SecretValue};
pub use super::signing_key::SigningKey;

struct Loaded {
    /// When this set was fetched (clock seconds); fresh until `fetched_at + ttl`.
    fresh_until: u64,
    /// `None` in a verify-only ring.
    current: Option<Arc<SigningKey>>,
    private: HashMap<String, Arc<SigningKey>>,
    verify: HashMap<String, Arc<VerifyKey>>,
    /// What the JWKS publishes, in order: current, next, previous (asymmetric only).
    published: Vec<Arc<VerifyKey>>,
}

impl Loaded {
    fn from_private(alg: SigningAlg, set: &KeySet, fresh_until: u64) -> Result<Self, KeyError> {
        let current = Arc::new(SigningKey::new(alg, &set.current)?);
        let mut loaded = Loaded {
            fresh_until,
            current: Some(current.clone()),
            private: HashMap::new(),
            verify: HashMap::new(),
            published: Vec::new(),
        };
        loaded.add(current, true);
        // Verify-only versions: a bad one must not stop new tokens from being issued. The
        // pending version's signing key is the current one's next key; its own next key is
        // not published until the rotation finishes.
        for (stage, material, publish) in [
            ("next", &set.next, true),
            ("AWSPREVIOUS", &set.previous, true),
            ("AWSPENDING", &set.pending, false),
        ] {
            let Some(material) = material else { continue };
            match SigningKey::new(alg, material) {
                Ok(k) => loaded.add(Arc::new(k), publish),
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), stage, "ignoring an unusable key version")
                }
            }
        }
        Ok(loaded)
    }

    fn add(&mut self, key: Arc<SigningKey>, publish: bool) {
        if publish && key.alg().is_asymmetric() && !self.verify.contains_key(&key.kid) {
            self.published.push(key.verify.clone());
        }
        self.verify
            .entry(key.kid.clone())
            .or_insert_with(|| key.verify.clone());
        self.private.entry(key.kid.clone()).or_insert(key);
    }

    fn from_jwks(alg: SigningAlg, jwks: &str, fresh_until: u64) -> Result<Self, KeyError> {
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<serde_json::Value>,
        }
        let doc: Jwks = serde_json::from_str(jwks).map_err(|_| {
            KeyError::Malformed("public keys: expected a JWKS {\"keys\": [...]}".into())
        })?;
        let mut loaded = Loaded {
            fresh_until,
            current: None,
            private: HashMap::new(),
            verify: HashMap::new(),
            published: Vec::new(),
        };
        for jwk in &doc.keys {
            match VerifyKey::from_jwk(alg, jwk) {
                Ok(key) if !loaded.verify.contains_key(&key.kid) => {
                    let key = Arc::new(key);
                    loaded.published.push(key.clone());
                    loaded.verify.insert(key.kid.clone(), key);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %Chain(&e), "ignoring an unusable public key"),
            }
        }
        if loaded.verify.is_empty() {
            return Err(KeyError::Unusable {
                alg,
                reason: "the public key set holds no key of this algorithm".into(),
            });
        }
        Ok(loaded)
    }
}

enum Source {
    Private(Arc<dyn KeySource>),
    Public(Arc<dyn PublicKeySource>),
}

pub struct KeyRing {
    source: Source,
    alg: SigningAlg,
    clock: Arc<dyn Clock>,
    ttl: u64,
    state: RwLock<Option<Arc<Loaded>>>,
    reload: tokio::sync::Mutex<()>,
    last_unknown_kid_reload: Mutex<Option<u64>>,
}

impl KeyRing {
    /// A ring over the private signing secret, its keys checked as `alg` keys.
    pub fn new(
        source: Arc<dyn KeySource>,
        alg: SigningAlg,
        clock: Arc<dyn Clock>,
        ttl_secs: u64,
    ) -> Self {
        Self::with_source(Source::Private(source), alg, clock, ttl_secs)
    }

    /// A verify-only ring over the published public keys (asymmetric modes).
    pub fn public(
        source: Arc<dyn PublicKeySource>,
        alg: SigningAlg,
        clock: Arc<dyn Clock>,
        ttl_secs: u64,
    ) -> Self {
        Self::with_source(Source::Public(source), alg, clock, ttl_secs)
    }

    fn with_source(source: Source, alg: SigningAlg, clock: Arc<dyn Clock>, ttl: u64) -> Self {
        KeyRing {
            source,
            alg,
            clock,
            ttl,
            state: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
            last_unknown_kid_reload: Mutex::new(None),
        }
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The key that signs new tokens (AWSCURRENT); [`KeyError::NoSigningKey`] in a
    /// verify-only ring.
    pub async fn current(&self) -> Result<Arc<SigningKey>, KeyError> {
        self.loaded()
            .await?
            .current
            .clone()
            .ok_or(KeyError::NoSigningKey)
    }

    /// Loads the keys (start-up warm-up) and says how many verify.
    pub async fn load(&self) -> Result<usize, KeyError> {
        Ok(self.loaded().await?.verify.len())
    }

    /// The public keys to publish (empty in HS256).
    pub async fn published(&self) -> Result<Vec<Arc<VerifyKey>>, KeyError> {
        Ok(self.loaded().await?.published.clone())
    }

    /// The private key named by `kid`, if it is a version the ring holds. An unknown kid may
    /// trigger one reload (rate-limited); a failed reload then counts as "unknown".
    pub async fn key_for(&self, kid: &str) -> Result<Option<Arc<SigningKey>>, KeyError> {
        self.lookup(kid, |l| l.private.get(kid).cloned()).await
    }

    /// The key that verifies access tokens signed under `kid`, with [`KeyRing::key_for`]'s
    /// reload rule.
    pub async fn verify_key_for(&self, kid: &str) -> Result<Option<Arc<VerifyKey>>, KeyError> {
        self.lookup(kid, |l| l.verify.get(kid).cloned()).await
    }

    async fn lookup<T>(
        &self,
        kid: &str,
        find: impl Fn(&Loaded) -> Option<T>,
    ) -> Result<Option<T>, KeyError> {
        let loaded = self.loaded().await?;
        if let Some(key) = find(&loaded) {
            return Ok(Some(key));
        }
        let now = self.clock.now();
        {
            let mut last = self
                .last_unknown_kid_reload
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if matches!(*last, Some(t) if now < t + UNKNOWN_KID_RELOAD_INTERVAL) {
                return Ok(None);
            }
            *last = Some(now);
        }
        tracing::debug!(kid_len = kid.len(), "unknown kid: reloading the key ring");
        match self.refresh(true).await {
            Ok(loaded) => Ok(find(&loaded)),
            Err(e) => {
                tracing::warn!(error = %Chain(&e), "key ring reload for an unknown kid failed");
                Ok(None)
            }
        }
    }

    /// The private key named by `kid` among those already loaded, never triggering a reload:
    /// for values an attacker may mint at will where an unknown kid is simply not ours.
    pub async fn loaded_key(&self, kid: &str) -> Result<Option<Arc<SigningKey>>, KeyError> {
        Ok(self.loaded().await?.private.get(kid).cloned())
    }

    fn snapshot(&self) -> Option<Arc<Loaded>> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn loaded(&self) -> Result<Arc<Loaded>, KeyError> {
        match self.snapshot() {
            Some(l) if self.clock.now() < l.fresh_until => Ok(l),
            _ => self.refresh(false).await,
        }
    }

    async fn fetch(&self, fresh_until: u64) -> Result<Loaded, KeyError> {
        match &self.source {
            Source::Private(source) => {
                Loaded::from_private(self.alg, &source.load().await?, fresh_until)
            }
            Source::Public(source) => {
                Loaded::from_jwks(self.alg, &source.load_jwks().await?, fresh_until)
            }
        }
    }

    /// Reloads from the source; one reload at a time, the others wait for its result.
    async fn refresh(&self, force: bool) -> Result<Arc<Loaded>, KeyError> {
        let before = self.snapshot().map(|l| l.fresh_until);
        let _guard = self.reload.lock().await;
        let now = self.clock.now();
        if let Some(l) = self.snapshot() {
            let reloaded_meanwhile = Some(l.fresh_until) != before;
            if (!force && now < l.fresh_until) || (force && reloaded_meanwhile) {
                return Ok(l);
            }
        }
        match self.fetch(now.saturating_add(self.ttl)).await {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                *self.state.write().unwrap_or_else(|p| p.into_inner()) = Some(loaded.clone());
                Ok(loaded)
            }
            Err(e) => match self.snapshot() {
                // Keep serving the keys we have; try the source again after a short backoff.
                Some(stale) => {
                    tracing::warn!(error = %Chain(&e), "key ring reload failed; serving cached keys");
                    let kept = Arc::new(Loaded {
                        fresh_until: now.saturating_add(FAILED_RELOAD_BACKOFF.min(self.ttl.max(1))),
                        current: stale.current.clone(),
                        private: stale.private.clone(),
                        verify: stale.verify.clone(),
                        published: stale.published.clone(),
                    });
                    *self.state.write().unwrap_or_else(|p| p.into_inner()) = Some(kept.clone());
                    Ok(kept)
                }
                None => Err(e),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;

//! The signing key ring: AWSCURRENT (signs and verifies), AWSPREVIOUS and, during a rotation,
//! AWSPENDING (verify only),
//! keyed by Secrets Manager version id (`kid`), cached for `SECRET_CACHE_TTL`.
//!
//! Keys are built once per version, never per request. While the source is down the ring keeps
//! serving what it has (re-trying every [`FAILED_RELOAD_BACKOFF`] seconds); an unknown `kid`
//! triggers at most one reload per [`UNKNOWN_KID_RELOAD_INTERVAL`], so a flood of forged kids
//! cannot hammer Secrets Manager.

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::EncodingKey;
use serde::Deserialize;
use sha2::Sha256;

use crate::error::{Chain, KeyError};
use crate::ports::{Clock, KeyMaterial, KeySource};

pub const MIN_KEY_BYTES: usize = 32;
pub const UNKNOWN_KID_RELOAD_INTERVAL: u64 = 30;
pub const FAILED_RELOAD_BACKOFF: u64 = 10;

/// Parses the secret's JSON value `{"signing_key": "<base64 of >= 32 bytes>"}`.
pub fn parse_signing_secret(json: &str) -> Result<SecretSlice<u8>, KeyError> {
    #[derive(Deserialize)]
    struct Value {
        signing_key: String,
    }
    let value: Value = serde_json::from_str(json)
        .map_err(|_| KeyError::Malformed("expected JSON {\"signing_key\": \"<base64>\"}".into()))?;
    let bytes = STANDARD
        .decode(value.signing_key.trim())
        .map_err(|_| KeyError::Malformed("signing_key is not valid base64".into()))?;
    if bytes.len() < MIN_KEY_BYTES {
        return Err(KeyError::TooShort(bytes.len()));
    }
    Ok(bytes.into())
}

/// Renders a key in the secret's JSON shape (for bootstrap and rotation).
pub fn render_signing_secret(key: &[u8]) -> SecretString {
    serde_json::json!({ "signing_key": STANDARD.encode(key) })
        .to_string()
        .into()
}

/// One key version, with its jsonwebtoken keys built once.
pub struct SigningKey {
    pub kid: String,
    pub(crate) encoding: EncodingKey,
    /// HMAC-SHA256 already keyed with the secret (its inner and outer pads hashed): each
    /// verification clones it instead of keying a new one.
    verifier: HmacSha256,
    /// Sub-key for deriving refresh-token successors, so the JWT key has one use only.
    successor_key: [u8; 32],
    /// Sub-key for device tokens (login's "known device" proof), another single use.
    device_key: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

impl SigningKey {
    pub fn new(material: &KeyMaterial) -> Result<Self, KeyError> {
        if material.secret.expose_secret().len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(material.secret.expose_secret().len()));
        }
        Ok(SigningKey {
            kid: material.kid.clone(),
            encoding: EncodingKey::from_secret(material.secret.expose_secret()),
            verifier: <HmacSha256 as Mac>::new_from_slice(material.secret.expose_secret())
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
            successor_key: hmac(
                material.secret.expose_secret(),
                b"lambda-jwt-auth/refresh-successor/v1",
            ),
            device_key: hmac(
                material.secret.expose_secret(),
                b"lambda-jwt-auth/device-token/v1",
            ),
        })
    }

    /// The device-token MAC of `data` under this key version.
    pub fn device_mac(&self, data: &[u8]) -> [u8; 32] {
        hmac(&self.device_key, data)
    }

    /// Deterministic successor secret of a refresh token.
    pub fn successor(&self, predecessor: &[u8]) -> [u8; 32] {
        hmac(&self.successor_key, predecessor)
    }

    /// Whether `signature` is this key's HS256 MAC of `signing_input` (constant-time
    /// comparison, `hmac`'s `verify_slice`).
    pub fn verifies_hs256(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        let mut mac = self.verifier.clone();
        mac.update(signing_input);
        mac.verify_slice(signature).is_ok()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

struct Loaded {
    /// When this set was fetched (clock seconds); fresh until `fetched_at + ttl`.
    fresh_until: u64,
    current: Arc<SigningKey>,
    by_kid: HashMap<String, Arc<SigningKey>>,
}

pub struct KeyRing {
    source: Arc<dyn KeySource>,
    clock: Arc<dyn Clock>,
    ttl: u64,
    state: RwLock<Option<Arc<Loaded>>>,
    reload: tokio::sync::Mutex<()>,
    last_unknown_kid_reload: Mutex<Option<u64>>,
}

impl KeyRing {
    pub fn new(source: Arc<dyn KeySource>, clock: Arc<dyn Clock>, ttl_secs: u64) -> Self {
        KeyRing {
            source,
            clock,
            ttl: ttl_secs,
            state: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
            last_unknown_kid_reload: Mutex::new(None),
        }
    }

    /// The key that signs new tokens (AWSCURRENT).
    pub async fn current(&self) -> Result<Arc<SigningKey>, KeyError> {
        Ok(self.loaded().await?.current.clone())
    }

    /// The key named by `kid`, if it is the current or previous version. An unknown kid may
    /// trigger one reload (rate-limited); a failed reload then counts as "unknown".
    pub async fn key_for(&self, kid: &str) -> Result<Option<Arc<SigningKey>>, KeyError> {
        let loaded = self.loaded().await?;
        if let Some(key) = loaded.by_kid.get(kid) {
            return Ok(Some(key.clone()));
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
        match self.refresh(true).await {
            Ok(loaded) => Ok(loaded.by_kid.get(kid).cloned()),
            Err(e) => {
                tracing::warn!(error = %Chain(&e), "key ring reload for an unknown kid failed");
                Ok(None)
            }
        }
    }

    /// The key named by `kid` among those already loaded, never triggering a reload: for
    /// values an attacker may mint at will where an unknown kid is simply not ours.
    pub async fn loaded_key(&self, kid: &str) -> Result<Option<Arc<SigningKey>>, KeyError> {
        Ok(self.loaded().await?.by_kid.get(kid).cloned())
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
        match self.source.load().await.and_then(|set| {
            let current = Arc::new(SigningKey::new(&set.current)?);
            let mut by_kid = HashMap::new();
            by_kid.insert(current.kid.clone(), current.clone());
            // Verify-only versions: a bad one must not stop new tokens from being issued.
            for (stage, material) in [("AWSPREVIOUS", &set.previous), ("AWSPENDING", &set.pending)]
            {
                let Some(material) = material else { continue };
                match SigningKey::new(material) {
                    Ok(k) => {
                        by_kid.entry(k.kid.clone()).or_insert_with(|| Arc::new(k));
                    }
                    Err(e) => tracing::warn!(error = %Chain(&e), stage, "ignoring an unusable key version"),
                }
            }
            Ok(Loaded {
                fresh_until: now.saturating_add(self.ttl),
                current,
                by_kid,
            })
        }) {
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
                        by_kid: stale.by_kid.clone(),
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
pub(crate) mod tests {
    use super::*;
    use crate::adapters::memory::{FakeClock, StaticKeySource};
    use crate::ports::KeySet;

    pub fn material(kid: &str, byte: u8) -> KeyMaterial {
        KeyMaterial {
            kid: kid.into(),
            secret: vec![byte; 32].into(),
        }
    }

    fn ring(source: &Arc<StaticKeySource>, clock: &Arc<FakeClock>, ttl: u64) -> KeyRing {
        KeyRing::new(source.clone(), clock.clone(), ttl)
    }

    #[test]
    fn secret_json_is_parsed_and_short_keys_refused() {
        let key = [9u8; 32];
        assert_eq!(
            parse_signing_secret(render_signing_secret(&key).expose_secret())
                .unwrap()
                .expose_secret(),
            key
        );
        assert!(matches!(
            parse_signing_secret(render_signing_secret(&[1u8; 31]).expose_secret()),
            Err(KeyError::TooShort(31))
        ));
        assert!(matches!(
            parse_signing_secret("{\"signing_key\": \"***\"}"),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            parse_signing_secret("plain text"),
            Err(KeyError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn caches_for_the_ttl_then_reloads() {
        let source = Arc::new(StaticKeySource::new(KeySet {
            current: material("v1", 1),
            previous: None,
            pending: None,
        }));
        let clock = Arc::new(FakeClock::new(1_000));
        let ring = ring(&source, &clock, 300);
        assert_eq!(ring.current().await.unwrap().kid, "v1");
        assert_eq!(ring.current().await.unwrap().kid, "v1");
        assert_eq!(source.loads(), 1);

        source.set(KeySet {
            current: material("v2", 2),
            previous: Some(material("v1", 1)),
            pending: None,
        });
        clock.advance(299);
        assert_eq!(ring.current().await.unwrap().kid, "v1");
        clock.advance(1);
        assert_eq!(ring.current().await.unwrap().kid, "v2");
        assert!(ring.key_for("v1").await.unwrap().is_some());
        assert_eq!(source.loads(), 2);
    }

    #[tokio::test]
    async fn unknown_kids_reload_at_most_once_per_interval() {
        let source = Arc::new(StaticKeySource::new(KeySet {
            current: material("v1", 1),
            previous: None,
            pending: None,
        }));
        let clock = Arc::new(FakeClock::new(1_000));
        let ring = ring(&source, &clock, 300);
        for i in 0..100 {
            assert!(ring
                .key_for(&format!("forged-{i}"))
                .await
                .unwrap()
                .is_none());
        }
        assert_eq!(
            source.loads(),
            2,
            "one initial load, one rate-limited reload"
        );

        // A genuinely new version is picked up on its first sighting after the interval.
        source.set(KeySet {
            current: material("v2", 2),
            previous: Some(material("v1", 1)),
            pending: None,
        });
        clock.advance(UNKNOWN_KID_RELOAD_INTERVAL);
        assert!(ring.key_for("v2").await.unwrap().is_some());
        assert_eq!(source.loads(), 3);
    }

    #[tokio::test]
    async fn keeps_serving_cached_keys_while_the_source_is_down() {
        let source = Arc::new(StaticKeySource::new(KeySet {
            current: material("v1", 1),
            previous: None,
            pending: None,
        }));
        let clock = Arc::new(FakeClock::new(1_000));
        let ring = ring(&source, &clock, 60);
        ring.current().await.unwrap();
        source.fail(true);
        clock.advance(61);
        assert_eq!(ring.current().await.unwrap().kid, "v1");
        assert!(ring.key_for("v1").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn with_no_key_at_all_a_failed_source_is_an_error() {
        let source = Arc::new(StaticKeySource::new(KeySet {
            current: material("v1", 1),
            previous: None,
            pending: None,
        }));
        source.fail(true);
        let ring = ring(&source, &Arc::new(FakeClock::new(0)), 60);
        assert!(ring.current().await.is_err());
    }

    #[tokio::test]
    async fn refuses_a_current_key_shorter_than_32_bytes() {
        let source = Arc::new(StaticKeySource::new(KeySet {
            current: KeyMaterial {
                kid: "short".into(),
                secret: vec![1; 16].into(),
            },
            previous: None,
            pending: None,
        }));
        let ring = ring(&source, &Arc::new(FakeClock::new(0)), 60);
        assert!(matches!(ring.current().await, Err(KeyError::TooShort(16))));
    }
}

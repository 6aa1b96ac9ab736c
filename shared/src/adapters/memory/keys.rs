//! Fixed key sources for tests and benches: the signing key ring, published public keys, the
//! data keys that seal TOTP secrets.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::error::KeyError;
use crate::ports::{Clock, KeyMaterial, KeySet, KeySource, PublicKeySource};

/// An HS256 key ring over one fixed version, `v1` (key bytes all 1), cached 300 s on `clock`:
/// the ring of the service's unit tests and benches.
pub fn hs256_ring(
    clock: std::sync::Arc<dyn Clock>,
) -> std::sync::Arc<crate::crypto::keyring::KeyRing> {
    std::sync::Arc::new(crate::crypto::keyring::KeyRing::new(
        std::sync::Arc::new(StaticKeySource::new(key_set(("v1", 1), None))),
        crate::domain::SigningAlg::Hs256,
        clock,
        300,
    ))
}

/// A ring's versions: `current` (kid, key byte) and maybe `previous`; no rotation under way.
pub fn key_set(current: (&str, u8), previous: Option<(&str, u8)>) -> KeySet {
    KeySet {
        current: material(current.0, current.1),
        previous: previous.map(|(kid, byte)| material(kid, byte)),
        pending: None,
        next: None,
    }
}

/// A 32-byte HS256 key, every byte `byte`, as version `kid`.
pub fn material(kid: &str, byte: u8) -> KeyMaterial {
    KeyMaterial {
        kid: kid.into(),
        secret: vec![byte; 32].into(),
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

/// A published key set (JWKS text) tests can change, with its loads counted.
pub struct StaticJwks {
    jwks: Mutex<String>,
    loads: AtomicU64,
}

impl StaticJwks {
    pub fn new(jwks: String) -> Self {
        StaticJwks {
            jwks: Mutex::new(jwks),
            loads: AtomicU64::new(0),
        }
    }

    pub fn set(&self, jwks: String) {
        *lock(&self.jwks) = jwks;
    }

    /// How many times `load_jwks` was called.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PublicKeySource for StaticJwks {
    async fn load_jwks(&self) -> Result<String, KeyError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        Ok(lock(&self.jwks).clone())
    }
}

/// A fixed data key set (`{"current": "k1", "k1": ...}`) that never changes.
pub struct StaticDataKeys(std::sync::Arc<crate::crypto::sealed::DataKeys>);

impl StaticDataKeys {
    /// A set of one key, `k1`.
    pub fn one() -> Self {
        let json = r#"{"current": "k1", "k1": "0123456789abcdef0123456789abcdef-test"}"#;
        let keys = crate::crypto::sealed::DataKeys::parse(json)
            .unwrap_or_else(|e| panic!("the fixed test key set parses: {e}"));
        StaticDataKeys(std::sync::Arc::new(keys))
    }
}

#[async_trait]
impl crate::crypto::sealed::DataKeySource for StaticDataKeys {
    async fn data_keys(&self) -> Result<std::sync::Arc<crate::crypto::sealed::DataKeys>, KeyError> {
        Ok(self.0.clone())
    }

    async fn reload(&self) -> Result<std::sync::Arc<crate::crypto::sealed::DataKeys>, KeyError> {
        Ok(self.0.clone())
    }
}

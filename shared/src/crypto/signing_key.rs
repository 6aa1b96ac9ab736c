//! One private key of the ring, built once per version: its jsonwebtoken encoding key, its
//! verifier, and the single-use HMAC sub-keys derived from it (refresh-token successors,
//! device tokens).

use std::sync::Arc;

use hmac::Mac;
use jsonwebtoken::EncodingKey;
use secrecy::ExposeSecret;

use crate::crypto::keys::{self, HmacSha256, VerifyKey};
use crate::domain::SigningAlg;
use crate::error::KeyError;
use crate::ports::KeyMaterial;

/// One private key, with its jsonwebtoken key and its verifier built once.
pub struct SigningKey {
    pub kid: String,
    pub(crate) encoding: EncodingKey,
    pub verify: Arc<VerifyKey>,
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

impl SigningKey {
    /// Checks `material` as a key of `alg` (type, size) and builds it.
    pub fn new(alg: SigningAlg, material: &KeyMaterial) -> Result<Self, KeyError> {
        let secret = material.secret.expose_secret();
        let (encoding, verify) = match alg {
            SigningAlg::Hs256 => (
                EncodingKey::from_secret(secret),
                VerifyKey::hmac(material.kid.clone(), secret)?,
            ),
            _ => keys::check_private_key(alg, secret)?,
        };
        Ok(SigningKey {
            kid: verify.kid.clone(),
            encoding,
            verify: Arc::new(verify),
            successor_key: hmac(secret, b"lambda-jwt-auth/refresh-successor/v1"),
            device_key: hmac(secret, b"lambda-jwt-auth/device-token/v1"),
        })
    }

    pub fn alg(&self) -> SigningAlg {
        self.verify.alg
    }

    /// The device-token MAC of `data` under this key version.
    pub fn device_mac(&self, data: &[u8]) -> [u8; 32] {
        hmac(&self.device_key, data)
    }

    /// Deterministic successor secret of a refresh token.
    pub fn successor(&self, predecessor: &[u8]) -> [u8; 32] {
        hmac(&self.successor_key, predecessor)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

//! Secrets sealed at rest with AES-256-GCM (ring) under data keys that live outside DynamoDB:
//! what a TOTP secret becomes before it is stored.
//!
//! The key set is a JSON object `{"current": "<id>", "<id>": "<key text>", ...}`: each key is
//! the SHA-256 of its text (CloudFormation generates 64 random characters, ~381 bits), every
//! key stays so that old ciphertexts open, and new ones are sealed under `current`. A sealed
//! value is `s1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`, its associated data the
//! owner's id: a value copied onto another user does not open.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

const PREFIX: &str = "s1";

/// Where the data keys come from (Secrets Manager in the functions, a fixed set in unit
/// tests), cached: the port the service seals and opens through. It lives here rather than in
/// `ports` because it hands out [`DataKeys`].
#[async_trait::async_trait]
pub trait DataKeySource: Send + Sync {
    /// The key set, from the cache while it is fresh.
    async fn data_keys(&self) -> Result<std::sync::Arc<DataKeys>, crate::error::KeyError>;
    /// The key set read again now (a sealed value named a key the cached set lacks: the
    /// secret was rotated since).
    async fn reload(&self) -> Result<std::sync::Arc<DataKeys>, crate::error::KeyError>;
}

/// Why a key set or a sealed value is unusable. Never says anything about the plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the data key set is malformed: {0}")]
    KeySet(&'static str),
    #[error("the sealed value names an unknown key")]
    UnknownKey,
    #[error("the sealed value is malformed or was tampered with")]
    Corrupt,
    #[error("no randomness for a nonce")]
    Random,
}

/// The data keys, by id, and which one seals.
pub struct DataKeys {
    current: String,
    keys: HashMap<String, LessSafeKey>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeys")
            .field("current", &self.current)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DataKeys {
    /// Parses the key set's JSON: `current` names one of the other entries, every entry is a
    /// key text of at least 32 characters, ids are `[A-Za-z0-9_-]{1,64}`.
    pub fn parse(json: &str) -> Result<Self, SealError> {
        let map: HashMap<String, String> = serde_json::from_str(json)
            .map_err(|_| SealError::KeySet("not a JSON object of strings"))?;
        let current = map
            .get("current")
            .cloned()
            .ok_or(SealError::KeySet("no \"current\""))?;
        let mut keys = HashMap::new();
        for (id, text) in map.iter().filter(|(id, _)| *id != "current") {
            let id_ok = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !id_ok {
                return Err(SealError::KeySet("a key id is not [A-Za-z0-9_-]{1,64}"));
            }
            if text.len() < 32 {
                return Err(SealError::KeySet("a key is shorter than 32 characters"));
            }
            let material = Sha256::digest(text.as_bytes());
            let key = UnboundKey::new(&AES_256_GCM, &material)
                .map_err(|_| SealError::KeySet("unusable key"))?;
            keys.insert(id.clone(), LessSafeKey::new(key));
        }
        if !keys.contains_key(&current) {
            return Err(SealError::KeySet("\"current\" names no key of the set"));
        }
        Ok(DataKeys { current, keys })
    }

    /// `plaintext` sealed under the current key, bound to `owner`.
    pub fn seal(&self, plaintext: &[u8], owner: &str) -> Result<String, SealError> {
        let key = &self.keys[&self.current];
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut buffer = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(owner.as_bytes()),
            &mut buffer,
        )
        .map_err(|_| SealError::Corrupt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(format!(
            "{PREFIX}.{}.{}",
            self.current,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// The plaintext of a value [`DataKeys::seal`] made for `owner`.
    pub fn open(&self, sealed: &str, owner: &str) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(PREFIX), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Corrupt);
        };
        let key = self.keys.get(id).ok_or(SealError::UnknownKey)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Corrupt)?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(SealError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Corrupt)?;
        let mut buffer = ciphertext.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut buffer)
            .map_err(|_| SealError::Corrupt)?;
        Ok(plain.to_vec())
    }

    /// Whether `sealed` was sealed under the current key (else re-seal it on its next use).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|rest| rest.split('.').next())
            == Some(self.current.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = r#"{"current": "k2", "k1": "an older key text, 32 characters or more", "k2": "the current key text, also long enough!"}"#;

    #[test]
    fn a_sealed_secret_opens_for_its_owner_only_and_hides_the_plaintext() {
        let keys = DataKeys::parse(SET).unwrap();
        let sealed = keys.seal(b"JBSWY3DPEHPK3PXP", "user-1").unwrap();
        assert!(sealed.starts_with("s1.k2."), "{sealed}");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(keys.open(&sealed, "user-1").unwrap(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(keys.open(&sealed, "user-2"), Err(SealError::Corrupt));
        // Two seals of one secret differ (a fresh nonce each).
        assert_ne!(keys.seal(b"JBSWY3DPEHPK3PXP", "user-1").unwrap(), sealed);
        assert!(keys.is_current(&sealed));
    }

    #[test]
    fn tampered_truncated_and_unknown_key_values_are_refused() {
        let keys = DataKeys::parse(SET).unwrap();
        let sealed = keys.seal(b"secret", "u").unwrap();
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(keys.open(&tampered, "u"), Err(SealError::Corrupt));
        assert_eq!(keys.open(&sealed[..20], "u"), Err(SealError::Corrupt));
        assert_eq!(keys.open("s1.k9.AAAA", "u"), Err(SealError::UnknownKey));
        assert_eq!(keys.open("garbage", "u"), Err(SealError::Corrupt));
    }

    #[test]
    fn old_values_open_after_a_rotation_and_are_known_to_be_stale() {
        let before = DataKeys::parse(
            r#"{"current": "k1", "k1": "an older key text, 32 characters or more"}"#,
        )
        .unwrap();
        let old = before.seal(b"secret", "u").unwrap();
        let after = DataKeys::parse(SET).unwrap();
        assert_eq!(after.open(&old, "u").unwrap(), b"secret");
        assert!(!after.is_current(&old));
    }

    #[test]
    fn malformed_key_sets_say_why() {
        for (json, why) in [
            ("[]", "not a JSON object of strings"),
            (
                r#"{"k1": "an older key text, 32 characters or more"}"#,
                "no \"current\"",
            ),
            (
                r#"{"current": "k1", "k1": "short"}"#,
                "a key is shorter than 32 characters",
            ),
            (
                r#"{"current": "k3", "k1": "an older key text, 32 characters or more"}"#,
                "\"current\" names no key of the set",
            ),
            (
                r#"{"current": "a.b", "a.b": "an older key text, 32 characters or more"}"#,
                "a key id is not [A-Za-z0-9_-]{1,64}",
            ),
        ] {
            assert_eq!(
                DataKeys::parse(json).unwrap_err(),
                SealError::KeySet(why),
                "{json}"
            );
        }
        assert!(!format!("{:?}", DataKeys::parse(SET).unwrap()).contains("current key text"));
    }
}

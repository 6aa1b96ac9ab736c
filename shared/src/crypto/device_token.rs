//! Device tokens (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a successful
//! login hands the client a token that proves "this device has logged in as this user before".
//! Presented at a later login for the same user, it lets that device's attempts count against
//! a counter of their own, so a stranger who keeps a username locked does not lock out the
//! user's own devices.
//!
//! Stateless: `dt2.<device id>.<issued ms>.<expires>.<mac>.<kid>`, the MAC an HMAC-SHA256
//! under a sub-key of the signing key version `kid` over the username, the id, the issue time
//! and the expiry. Nothing is stored until the device fails a login (its counter). A token for
//! another user, a forged, altered or expired one, or one whose key version has left the ring
//! (two rotations) is simply not a device token: the attempt counts against the username as
//! any other. The issue time lets login ignore a token minted before the user's last password
//! change (see [`Device::predates`]): a change voids every device's own budget at once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::crypto::keyring::{KeyRing, SigningKey};
use crate::domain::Username;

const PREFIX: &str = "dt2";
/// Longer than any token we mint (an id, a number, a MAC and a key version id): not ours.
const MAX_TOKEN_BYTES: usize = 256;
const ID_HEX_LEN: usize = 32;

/// A fresh random device id (128 bits, hex).
pub fn new_device_id() -> String {
    let mut bytes = [0u8; ID_HEX_LEN / 2];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac_input(username: &Username, id: &str, issued_ms: u64, expires_at: u64) -> String {
    format!("{PREFIX}|{username}|{id}|{issued_ms}|{expires_at}")
}

/// The token for device `id` of `username`, issued at `issued_ms` (epoch milliseconds: when
/// the login that earned it began) and valid until `expires_at` (epoch seconds).
pub fn mint(
    key: &SigningKey,
    username: &Username,
    id: &str,
    issued_ms: u64,
    expires_at: u64,
) -> String {
    let mac = key.device_mac(mac_input(username, id, issued_ms, expires_at).as_bytes());
    format!(
        "{PREFIX}.{id}.{issued_ms}.{expires_at}.{}.{}",
        URL_SAFE_NO_PAD.encode(mac),
        key.kid
    )
}

/// A device token that verified: the device's id and when its token was issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub issued_ms: u64,
}

impl Device {
    /// Whether the token was issued before the password changed at `changed_ms`: such a
    /// device proves only that it knew an old password, and gets no budget of its own.
    pub fn predates(&self, changed_ms: Option<u64>) -> bool {
        changed_ms.is_some_and(|at| self.issued_ms < at)
    }
}

/// The token's parts, if it has our shape at all.
struct Parsed<'a> {
    id: &'a str,
    issued_ms: u64,
    expires_at: u64,
    mac: [u8; 32],
    kid: &'a str,
}

fn parse(raw: &str) -> Option<Parsed<'_>> {
    if raw.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let mut parts = raw.splitn(6, '.');
    let (prefix, id, issued, expires, mac, kid) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if prefix != PREFIX
        || id.len() != ID_HEX_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        || kid.is_empty()
    {
        return None;
    }
    let mut mac_bytes = [0u8; 32];
    match URL_SAFE_NO_PAD.decode_slice(mac, &mut mac_bytes) {
        Ok(32) => {}
        _ => return None,
    }
    Some(Parsed {
        id,
        issued_ms: issued.parse().ok()?,
        expires_at: expires.parse().ok()?,
        mac: mac_bytes,
        kid,
    })
}

/// The device of the first of `candidates` that is a valid, unexpired device token of
/// `username` (the body's token first, then each `device_token` cookie: a cookie tossed in by
/// a sibling site cannot be one, as it cannot forge the MAC).
pub async fn verified_device(
    keys: &KeyRing,
    candidates: &[String],
    username: &Username,
    now: u64,
) -> Option<Device> {
    for raw in candidates {
        let Some(token) = parse(raw) else { continue };
        if token.expires_at <= now {
            continue;
        }
        // A kid the ring does not hold is not ours: no reload for it (an attacker could
        // send a fresh one with every request).
        let Ok(Some(key)) = keys.loaded_key(token.kid).await else {
            continue;
        };
        let input = mac_input(username, token.id, token.issued_ms, token.expires_at);
        let expected = key.device_mac(input.as_bytes());
        if bool::from(expected.ct_eq(&token.mac)) {
            return Some(Device {
                id: token.id.to_string(),
                issued_ms: token.issued_ms,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::memory::key_set;
    use crate::adapters::memory::{FakeClock, StaticKeySource};

    fn ring(previous: bool) -> (KeyRing, Arc<StaticKeySource>) {
        let source = Arc::new(StaticKeySource::new(key_set(
            ("v2", 2),
            previous.then_some(("v1", 1)),
        )));
        let ring = KeyRing::new(
            source.clone(),
            crate::domain::SigningAlg::Hs256,
            Arc::new(FakeClock::new(1_000)),
            300,
        );
        (ring, source)
    }

    fn alice() -> Username {
        Username::parse("alice").unwrap()
    }

    #[tokio::test]
    async fn a_minted_token_verifies_for_its_user_only_until_it_expires() {
        let (ring, _) = ring(false);
        let key = ring.current().await.unwrap();
        let id = new_device_id();
        let token = mint(&key, &alice(), &id, 500_000, 2_000);
        let bob = Username::parse("bob").unwrap();
        let t = std::slice::from_ref(&token);
        let found = verified_device(&ring, t, &alice(), 1_999).await;
        assert_eq!(
            found,
            Some(Device {
                id,
                issued_ms: 500_000
            })
        );
        assert_eq!(verified_device(&ring, t, &alice(), 2_000).await, None);
        assert_eq!(verified_device(&ring, t, &bob, 1_000).await, None);
    }

    #[tokio::test]
    async fn altered_tokens_are_not_device_tokens() {
        let (ring, _) = ring(false);
        let key = ring.current().await.unwrap();
        let id = new_device_id();
        let token = mint(&key, &alice(), &id, 500_000, 2_000);
        // Every single-character change of the token is refused.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let altered = String::from_utf8(bytes).unwrap();
            assert_eq!(
                verified_device(&ring, std::slice::from_ref(&altered), &alice(), 1_000).await,
                None,
                "{altered}"
            );
        }
        // A later expiry under the same MAC.
        let extended = token.replacen(".2000.", ".9999.", 1);
        assert_eq!(
            verified_device(&ring, &[extended], &alice(), 1_000).await,
            None
        );
        // An earlier issue time under the same MAC (to dodge a password change).
        let backdated = token.replacen(".500000.", ".400000.", 1);
        assert_eq!(
            verified_device(&ring, &[backdated], &alice(), 1_000).await,
            None
        );
        let long = format!("{token}{}", "a".repeat(MAX_TOKEN_BYTES));
        assert_eq!(verified_device(&ring, &[long], &alice(), 1_000).await, None);
    }

    #[tokio::test]
    async fn the_previous_key_version_still_verifies_and_an_unknown_kid_loads_nothing() {
        let (old_ring, _) = ring(false);
        let old = mint(
            &old_ring.current().await.unwrap(),
            &alice(),
            &new_device_id(),
            500_000,
            2_000,
        );
        // `old` was signed by v2; a ring that holds v2 as previous accepts it.
        let source = Arc::new(StaticKeySource::new(key_set(("v3", 3), Some(("v2", 2)))));
        let rotated = KeyRing::new(
            source.clone(),
            crate::domain::SigningAlg::Hs256,
            Arc::new(FakeClock::new(1_000)),
            300,
        );
        assert!(
            verified_device(&rotated, std::slice::from_ref(&old), &alice(), 1_000)
                .await
                .is_some()
        );
        let loads = source.loads();
        let unknown = format!("{}.unknown-kid", old.rsplit_once('.').unwrap().0);
        assert_eq!(
            verified_device(&rotated, &[unknown], &alice(), 1_000).await,
            None
        );
        assert_eq!(
            source.loads(),
            loads,
            "an unknown kid must not reload the ring"
        );
    }

    #[test]
    fn a_token_issued_before_the_last_password_change_predates_it() {
        let device = Device {
            id: new_device_id(),
            issued_ms: 5_000,
        };
        assert!(!device.predates(None));
        assert!(device.predates(Some(5_001)));
        assert!(!device.predates(Some(5_000)), "issued as the change landed");
        assert!(!device.predates(Some(4_000)));
    }

    #[tokio::test]
    async fn the_first_valid_candidate_wins() {
        let (ring, _) = ring(false);
        let key = ring.current().await.unwrap();
        let id = new_device_id();
        let good = mint(&key, &alice(), &id, 500_000, 2_000);
        let candidates = ["garbage".to_string(), String::new(), good];
        assert_eq!(
            verified_device(&ring, &candidates, &alice(), 1_000)
                .await
                .map(|d| d.id),
            Some(id)
        );
    }
}

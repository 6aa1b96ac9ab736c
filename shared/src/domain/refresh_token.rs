//! Opaque refresh tokens: `rt1.<username b64url>.<session id>.<secret b64url>`.
//!
//! The secret is 256 random bits (or, for a rotation, an HMAC of the predecessor under a
//! server key, so a repeat presentation inside the grace window can be answered with the same
//! successor without storing it). The username and session id let the server find the session
//! with one key lookup; the store keeps only the SHA-256 of the whole token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{Username, MAX_USERNAME_LEN};

const PREFIX: &str = "rt1";
/// Longest token we even try to parse; anything longer is garbage.
pub const MAX_REFRESH_TOKEN_LEN: usize = 512;

/// SHA-256 of a refresh token, the only form stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let pair = std::str::from_utf8(chunk).ok()?;
            *out.get_mut(i)? = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(TokenHash(out))
    }

    /// Constant-time comparison.
    pub fn matches(&self, other: &TokenHash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenHash {
    // Never print the hash itself: it is as good as the token for lookups in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A parsed refresh token. Its `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub username: Username,
    pub session_id: String,
    secret: [u8; 32],
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("username", &self.username)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl RefreshToken {
    pub fn new(username: Username, session_id: String, secret: [u8; 32]) -> Self {
        RefreshToken {
            username,
            session_id,
            secret,
        }
    }

    /// Parses the wire form strictly; `None` for anything that is not one of our tokens.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > MAX_REFRESH_TOKEN_LEN {
            return None;
        }
        let mut parts = raw.split('.');
        let (prefix, user, sid, secret) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if prefix != PREFIX || parts.next().is_some() {
            return None;
        }
        let user = URL_SAFE_NO_PAD.decode(user).ok()?;
        if user.len() > MAX_USERNAME_LEN {
            return None;
        }
        let username = Username::parse(std::str::from_utf8(&user).ok()?).ok()?;
        // Only the canonical (lower-case) form is ever issued.
        if username.as_str().as_bytes() != user.as_slice() {
            return None;
        }
        if !is_session_id(sid) {
            return None;
        }
        let secret: [u8; 32] = URL_SAFE_NO_PAD.decode(secret).ok()?.try_into().ok()?;
        Some(RefreshToken {
            username,
            session_id: sid.to_string(),
            secret,
        })
    }

    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}.{}.{}.{}",
            URL_SAFE_NO_PAD.encode(self.username.as_str()),
            self.session_id,
            URL_SAFE_NO_PAD.encode(self.secret)
        )
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.encode().as_bytes()).into())
    }

    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }
}

/// Session ids are UUIDs in their simple form: 32 lower-case hex digits.
pub fn is_session_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RefreshToken {
        RefreshToken::new(
            Username::parse("alice").unwrap(),
            "0123456789abcdef0123456789abcdef".into(),
            [7u8; 32],
        )
    }

    #[test]
    fn round_trips_through_its_wire_form() {
        let t = sample();
        assert_eq!(RefreshToken::parse(&t.encode()), Some(t.clone()));
        assert_eq!(t.hash(), RefreshToken::parse(&t.encode()).unwrap().hash());
    }

    #[test]
    fn refuses_anything_else() {
        let good = sample().encode();
        let mut cases = vec![
            String::new(),
            "rt1".into(),
            good.replacen("rt1", "rt2", 1),
            format!("{good}."),
            format!("{good}.x"),
            good[..good.len() - 1].to_string(),
            good.replace("0123456789abcdef0123456789abcdef", "../../etc/passwd"),
            good.replace(
                "0123456789abcdef0123456789abcdef",
                "0123456789ABCDEF0123456789ABCDEF",
            ),
            "x".repeat(10_000),
            "rt1.é.é.é".into(),
        ];
        // Upper-case username bytes are not canonical.
        cases.push(good.replace(
            &URL_SAFE_NO_PAD.encode("alice"),
            &URL_SAFE_NO_PAD.encode("Alice"),
        ));
        for case in cases {
            assert!(RefreshToken::parse(&case).is_none(), "{case:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let t = sample();
        let shown = format!("{t:?} {:?}", t.hash());
        assert!(!shown.contains(&URL_SAFE_NO_PAD.encode([7u8; 32])));
        assert!(!shown.contains(&t.hash().to_hex()));
    }

    #[test]
    fn hex_round_trip() {
        let h = sample().hash();
        assert_eq!(TokenHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(TokenHash::from_hex("zz"), None);
    }
}

//! The authorizer's decision: verifies `Authorization: Bearer <jwt>` offline and, with
//! `AUTHORIZER_REVOCATION=session`, reads the token's session and user (one round trip) and
//! refuses a token whose session was revoked ([`crate::domain::revocation`]). Never logs the
//! token. API Gateway's event and response shapes live at the edge
//! (`crate::http::authorizer_event`).

use std::sync::Arc;

use crate::config::{Config, RevocationFailMode};
use crate::crypto::keyring::KeyRing;
use crate::crypto::tokens::{AccessTokenVerifier, TokenSettings, VerifyError};
use crate::domain::{revocation, Claims, Username};
use crate::error::Chain;
use crate::ports::{Clock, RevocationStore};

/// The token of a `Bearer` header value: scheme case-insensitive, one token, nothing else.
pub fn bearer_token(header: &str) -> Option<&str> {
    let header = header.trim();
    let (scheme, rest) = header.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim_start();
    if token.is_empty() || has_space_or_control(token) {
        return None;
    }
    Some(token)
}

/// Whether `token` has whitespace or a control character (`char::is_whitespace`,
/// `char::is_control`). The usual all-ASCII token is tested eight bytes at a time: a
/// char-by-char test over a ~400-byte token was a quarter of the dev server's time in the
/// authorizer.
fn has_space_or_control(token: &str) -> bool {
    if !token.is_ascii() {
        return token.chars().any(|c| c.is_whitespace() || c.is_control());
    }
    // ASCII whitespace and controls are the bytes up to 0x20, and 0x7f.
    const fn splat(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    // "Has a byte below n" for bytes below 0x80 (Bit Twiddling Hacks, `hasless`): exact as to
    // whether there is one.
    const fn has_byte_below(x: u64, n: u8) -> bool {
        x.wrapping_sub(splat(n)) & !x & splat(0x80) != 0
    }
    let mut chunks = token.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        if has_byte_below(x, 0x21) || has_byte_below(x ^ splat(0x7f), 1) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b <= b' ' || b == 0x7f)
}

pub struct Authorizer {
    verifier: AccessTokenVerifier,
    keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    /// `AUTHORIZER_REVOCATION=session`: the store to check sessions in, and what to do when it
    /// cannot be read.
    revocation: Option<(Arc<dyn RevocationStore>, RevocationFailMode)>,
}

/// Why the authorizer refused (logged as the denial's reason class).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Denied {
    #[error(transparent)]
    Token(#[from] VerifyError),
    #[error(transparent)]
    Revoked(#[from] revocation::Revoked),
    #[error("the session store is unavailable (AUTHORIZER_REVOCATION_ON_ERROR=deny)")]
    StoreUnavailable,
}

impl Denied {
    /// The `Reason` dimension of the denial metric.
    pub fn class(&self) -> &'static str {
        match self {
            Denied::Token(_) => "token",
            Denied::Revoked(_) => "revoked",
            Denied::StoreUnavailable => "store_unavailable",
        }
    }
}

impl Authorizer {
    pub fn new(cfg: &Config, keys: Arc<KeyRing>, clock: Arc<dyn Clock>) -> Self {
        Authorizer {
            verifier: AccessTokenVerifier::new(&TokenSettings::from(cfg), clock.clone()),
            keys,
            clock,
            revocation: None,
        }
    }

    /// Also checks every token's session in `store` (`AUTHORIZER_REVOCATION=session`).
    pub fn checking_sessions(
        mut self,
        store: Arc<dyn RevocationStore>,
        on_error: RevocationFailMode,
    ) -> Self {
        self.revocation = Some((store, on_error));
        self
    }

    /// Verifies a raw `Authorization` header value (offline checks only).
    pub async fn verify_header(&self, header: Option<&str>) -> Result<Claims, VerifyError> {
        let token = header
            .and_then(bearer_token)
            .ok_or(VerifyError::Malformed)?;
        self.verifier.verify(token, &self.keys).await
    }

    /// [`Self::verify_header`], then, when sessions are checked, the session.
    pub async fn authorize(&self, header: Option<&str>) -> Result<Claims, Denied> {
        let claims = self.verify_header(header).await?;
        let Some((store, on_error)) = &self.revocation else {
            return Ok(claims);
        };
        // A verified token's username is ours; one that does not parse has no session.
        let username =
            Username::parse(&claims.username).map_err(|_| revocation::Revoked::SessionGone)?;
        match store.live_status(&username, &claims.sid).await {
            Ok((session, user)) => {
                revocation::check(
                    &claims.sub,
                    &claims.sid,
                    session.as_ref(),
                    user.as_ref(),
                    self.clock.now(),
                )?;
                Ok(claims)
            }
            Err(e) => {
                crate::telemetry::count(crate::telemetry::Metric::BackingStoreUnavailable);
                tracing::error!(event = "backing_store_unavailable", error = %Chain(&e), on_error = ?on_error, "session check failed");
                match on_error {
                    RevocationFailMode::Deny => Err(Denied::StoreUnavailable),
                    RevocationFailMode::Allow => Ok(claims),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER   abc"), Some("abc"));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearerabc",
            "Bearer a b",
            "Bearer a\tb",
            "Bearer a\nb",
            "Bearer a\x0cb",
            "Bearer a\x0bb",
            "Bearer a\x01b",
            "Bearer abcdefghijklmnopqrstuvwxyz\x7f",
            "Bearer a\u{3000}b",
            "Bearer \u{e9}\u{a0}b",
            "abc",
        ] {
            assert_eq!(bearer_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn finds_whitespace_and_controls_anywhere_in_a_token() {
        let naive = |t: &str| t.chars().any(|c| c.is_whitespace() || c.is_control());
        for len in 1..40 {
            for fill in ['a', '!', '~', '.', '-', '_'] {
                let clean: String = std::iter::repeat_n(fill, len).collect();
                assert!(!has_space_or_control(&clean), "{clean:?}");
                for pos in 0..len {
                    for bad in [
                        '\0', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1f}', ' ', '\u{7f}',
                    ] {
                        let mut t: Vec<char> = clean.chars().collect();
                        t[pos] = bad;
                        let t: String = t.into_iter().collect();
                        assert!(has_space_or_control(&t), "{t:?}");
                        assert_eq!(has_space_or_control(&t), naive(&t));
                    }
                }
            }
        }
        for t in [
            "caf\u{e9}",
            "a\u{a0}b",
            "a\u{3000}b",
            "a\u{85}b",
            "\u{2028}",
        ] {
            assert_eq!(has_space_or_control(t), naive(t), "{t:?}");
        }
    }
}

//! Pure domain types: usernames, users, sessions, access-token claims, refresh tokens.

mod refresh_token;

pub use refresh_token::{RefreshToken, TokenHash};

use serde::{Deserialize, Serialize};

/// Longest username accepted, in bytes (the contract's limit).
pub const MAX_USERNAME_LEN: usize = 128;

/// A username as stored: ASCII, lower-cased, 1..=128 bytes of `a-z 0-9 . _ @ + -`.
///
/// Case handling: usernames are case-insensitive. `Alice` and `alice` are the same account;
/// the stored and displayed form is the lower-cased one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsernameError {
    #[error("username is empty")]
    Empty,
    #[error("username is longer than {MAX_USERNAME_LEN} bytes")]
    TooLong,
    #[error("username may contain only letters, digits and . _ @ + -")]
    BadCharacter,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        if raw.is_empty() {
            return Err(UsernameError::Empty);
        }
        if raw.len() > MAX_USERNAME_LEN {
            return Err(UsernameError::TooLong);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@+-".contains(&b))
        {
            return Err(UsernameError::BadCharacter);
        }
        Ok(Username(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable opaque id (a UUID): the access token's `sub`.
    pub user_id: String,
    pub username: Username,
    /// Argon2id PHC string; parameters travel with it so they can change later.
    pub password_hash: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at: u64,
}

/// How many spent refresh-token hashes a session remembers for reuse detection. An older
/// spent token is still refused (its hash matches nothing), just without revoking the session.
pub const SPENT_HISTORY: usize = 64;

/// One login on one device: a family of refresh tokens of which exactly one is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub username: Username,
    pub session_id: String,
    pub user_id: String,
    pub device_id: String,
    pub created_at: u64,
    pub last_used_at: u64,
    /// Inactivity expiry: slides on each rotation, never past `absolute_expires_at`.
    pub expires_at: u64,
    /// Absolute expiry (`SESSION_MAX_AGE` after login); rotation never extends it.
    pub absolute_expires_at: u64,
    /// SHA-256 of the live refresh token.
    pub token_hash: TokenHash,
    /// SHA-256 of the token the live one replaced, if any, and when that happened.
    pub prev_hash: Option<TokenHash>,
    pub rotated_at: u64,
    /// Key id used to derive the live token from its predecessor (for grace-window repeats).
    pub successor_kid: Option<String>,
    /// Hashes of older spent tokens (most recent last), at most [`SPENT_HISTORY`].
    pub spent: Vec<TokenHash>,
    /// Optimistic-concurrency version, bumped by every rotation.
    pub version: u64,
}

impl Session {
    /// The moment the session stops working, whichever lifetime ends first.
    pub fn ends_at(&self) -> u64 {
        self.expires_at.min(self.absolute_expires_at)
    }

    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.ends_at()
    }
}

/// What `sessions list` shows; also what eviction and logout-all need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    pub session_id: String,
    pub device_id: String,
    pub created_at: u64,
    pub last_used_at: u64,
    pub expires_at: u64,
}

/// Recent failed logins of one username (known or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureRecord {
    pub failures: u32,
    pub last_failure: u64,
}

impl FailureRecord {
    /// When the lockout ends, if `failures` reached `max_failures`: `base` seconds after the
    /// last failure, doubling with each failure beyond, at most `cap`.
    pub fn locked_until(&self, max_failures: u32, base: u64, cap: u64) -> Option<u64> {
        let beyond = self.failures.checked_sub(max_failures)?;
        let lockout = base.saturating_mul(1u64 << beyond.min(30)).min(cap);
        Some(self.last_failure.saturating_add(lockout))
    }
}

/// Access-token claims, exactly the contract's set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub username: String,
    pub roles: Vec<String>,
    pub sid: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub jti: String,
}

/// The JWT header `typ` of our access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_start_at_the_threshold_and_double_up_to_the_cap() {
        let r = |failures| FailureRecord {
            failures,
            last_failure: 1000,
        };
        assert_eq!(r(4).locked_until(5, 30, 900), None);
        assert_eq!(r(5).locked_until(5, 30, 900), Some(1030));
        assert_eq!(r(6).locked_until(5, 30, 900), Some(1060));
        assert_eq!(r(8).locked_until(5, 30, 900), Some(1240));
        assert_eq!(r(40).locked_until(5, 30, 900), Some(1900));
        assert_eq!(r(u32::MAX).locked_until(5, 30, 900), Some(1900));
    }

    #[test]
    fn usernames_are_lowercased_and_validated() {
        assert_eq!(Username::parse("Alice.B@x").unwrap().as_str(), "alice.b@x");
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(
            Username::parse(&"a".repeat(129)),
            Err(UsernameError::TooLong)
        );
        assert!(Username::parse(&"a".repeat(128)).is_ok());
        for bad in ["a b", "a/b", "ä", "a\0", "a:b"] {
            assert_eq!(
                Username::parse(bad),
                Err(UsernameError::BadCharacter),
                "{bad:?}"
            );
        }
    }
}

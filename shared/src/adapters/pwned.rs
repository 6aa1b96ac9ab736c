//! The Pwned Passwords range API (<https://haveibeenpwned.com/API/v3#PwnedPasswords>) as a
//! [`BreachedPasswords`]: `GET {base}/range/{first 5 hex of SHA-1}` answers every suffix seen
//! with that prefix (`SUFFIX:COUNT` lines, padded with zero counts so the answer's size says
//! nothing either); the match is made here, so neither the password nor its hash leaves.

use std::time::Duration;

use async_trait::async_trait;
use http_body_util::Empty;
use hyper::body::Bytes;
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};

use super::https::CallError;
use crate::ports::{BreachCheckError, BreachedPasswords};

/// The whole call's budget: an unreachable API must not hold a sign-up for long.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// A range answer is ~30 KB (about 800 suffixes, padded to ~1000); anything far larger is
/// not one.
const MAX_BODY_BYTES: usize = 1 << 20;

pub struct PwnedPasswords {
    base: String,
    /// Built on the first check (most functions never check a new password).
    client: super::https::LazyClient<Empty<Bytes>>,
}

impl PwnedPasswords {
    /// Over `base` (`PWNED_PASSWORDS_URL`, no trailing slash). Nothing is built yet.
    pub fn new(base: &str) -> Self {
        PwnedPasswords {
            base: base.trim_end_matches('/').to_string(),
            client: Default::default(),
        }
    }

    async fn range(&self, prefix: &str) -> Result<Bytes, CallError> {
        let request = http::Request::get(format!("{}/range/{prefix}", self.base))
            .header("add-padding", "true")
            .header("user-agent", "lambda-jwt-auth")
            .body(Empty::new())
            .map_err(CallError::Url)?;
        match self.client.send(request, MAX_BODY_BYTES, TIMEOUT).await? {
            (200..=299, body) => Ok(body),
            (status, _) => Err(CallError::Status(status)),
        }
    }
}

/// The upper-case hex SHA-1 of `password`, split into the prefix sent and the suffix kept.
fn sha1_hex(password: &str) -> (String, String) {
    let digest = Sha1::digest(password.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
    let (prefix, suffix) = hex.split_at(5);
    (prefix.to_string(), suffix.to_string())
}

/// The count a range answer gives `suffix` (0 when absent, or a padding line).
fn count_in(body: &str, suffix: &str) -> u64 {
    body.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .find(|(s, _)| s.eq_ignore_ascii_case(suffix))
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0)
}

#[async_trait]
impl BreachedPasswords for PwnedPasswords {
    async fn times_seen(&self, password: &SecretString) -> Result<u64, BreachCheckError> {
        let (prefix, suffix) = sha1_hex(password.expose_secret());
        let body = self
            .range(&prefix)
            .await
            .map_err(|e| BreachCheckError(Box::new(e)))?;
        Ok(count_in(&String::from_utf8_lossy(&body), &suffix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_five_character_prefix_is_sent_and_the_suffix_matched_here() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
        let (prefix, suffix) = sha1_hex("password");
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD8:9659365\r\n\
                    011053FD0102E94D6AE2F8B83D76FAF94F6:0\r\n";
        assert_eq!(count_in(body, &suffix), 9_659_365);
        assert_eq!(count_in(body, "011053FD0102E94D6AE2F8B83D76FAF94F6"), 0);
        assert_eq!(count_in(body, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), 0);
    }
}

//! Email addresses and the single-use tokens mailed to them (verification, password reset).
//!
//! An address is never written to a log: its `Debug` hides it and [`Email::log_id`] is what
//! log lines carry. A token is 256 random bits, base64url; only its SHA-256 is stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{TokenHash, Username};

/// Longest address accepted, in bytes (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest local part, in bytes (RFC 5321).
const MAX_LOCAL_LEN: usize = 64;

/// An address as stored: trimmed, lower-cased ASCII `local@domain`, the domain holding a dot.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("email must be an address like name@example.com (at most 254 bytes)")]
pub struct EmailError;

impl Email {
    /// The contract's rule: trimmed, lower-cased, ≤ 254 bytes, `local@domain` with a dot in the
    /// domain. Stricter than RFC 5322 on purpose: printable ASCII only, no quoted local parts,
    /// no IP literals, domain labels of letters, digits and inner hyphens.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_EMAIL_LEN {
            return Err(EmailError);
        }
        let (local, domain) = raw.split_once('@').ok_or(EmailError)?;
        let local_ok = !local.is_empty()
            && local.len() <= MAX_LOCAL_LEN
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        let domain_ok = domain.contains('.') && domain.split('.').all(label_ok);
        if !(local_ok && domain_ok) {
            return Err(EmailError);
        }
        Ok(Email(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What log lines say instead of the address: the first 16 hex digits of its SHA-256.
    pub fn log_id(&self) -> String {
        Sha256::digest(self.0.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Email({})", self.log_id())
    }
}

/// What a mailed token is for. A user has at most one outstanding token of each kind: a new
/// one supersedes the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailTokenKind {
    /// Proves the address (sign-up's, or a new one from `POST /auth/email`).
    Verify,
    /// Sets a new password (`POST /auth/password/forgot`).
    Reset,
}

impl EmailTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailTokenKind::Verify => "verify",
            EmailTokenKind::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verify" => Some(EmailTokenKind::Verify),
            "reset" => Some(EmailTokenKind::Reset),
            _ => None,
        }
    }

    /// The app's page the link opens (`APP_URL/<path>#token=…`).
    pub fn link_path(self) -> &'static str {
        match self {
            EmailTokenKind::Verify => "verify-email",
            EmailTokenKind::Reset => "reset-password",
        }
    }
}

/// A token as stored: its hash, what it is for, whose, for which address, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailToken {
    pub hash: TokenHash,
    pub kind: EmailTokenKind,
    pub username: Username,
    pub user_id: String,
    pub email: Email,
    pub expires_at: u64,
}

/// A fresh token's wire form: base64url of 256 random bits (43 characters).
pub fn new_email_token() -> String {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    URL_SAFE_NO_PAD.encode(secret)
}

/// The stored form of a presented token, or `None` for anything that cannot be one of ours
/// (so garbage costs no read).
pub fn email_token_hash(raw: &str) -> Option<TokenHash> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    Some(TokenHash(Sha256::digest(raw.as_bytes()).into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_lower_cased_and_checked() {
        let ok = Email::parse("  Alice.Smith+tag@Mail.Example.COM ").unwrap();
        assert_eq!(ok.as_str(), "alice.smith+tag@mail.example.com");
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@localhost",
            "alice@@example.com",
            "al ice@example.com",
            "alice@exa mple.com",
            "alice@example..com",
            "alice@-example.com",
            ".alice@example.com",
            "a..b@example.com",
            "\"quoted\"@example.com",
            "alice@[127.0.0.1]",
            "alice@example.com\r\nBcc: x@y.z",
            "alice,bob@example.com",
            "ålice@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad:?}");
        }
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(63));
        assert!(Email::parse(&long).is_ok());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        let too_long = format!("a@{}.com", vec!["b".repeat(60); 5].join("."));
        assert!(too_long.len() > MAX_EMAIL_LEN);
        assert!(Email::parse(&too_long).is_err());
    }

    #[test]
    fn debug_and_log_id_never_show_the_address() {
        let e = Email::parse("alice@example.com").unwrap();
        assert!(!format!("{e:?}").contains("alice"));
        assert_eq!(e.log_id().len(), 16);
        assert_ne!(
            e.log_id(),
            Email::parse("bob@example.com").unwrap().log_id()
        );
    }

    #[test]
    fn tokens_are_256_random_bits_and_only_ours_hash() {
        let a = new_email_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_email_token());
        assert!(email_token_hash(&a).is_some());
        assert_eq!(email_token_hash(&a), email_token_hash(&a));
        for bad in ["", "abc", "not base64!", &a[..42], &format!("{a}A")] {
            assert_eq!(email_token_hash(bad), None, "{bad:?}");
        }
    }
}

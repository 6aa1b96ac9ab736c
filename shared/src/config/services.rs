//! Outside services the functions call: the Pwned Passwords range API.

use super::cors::is_loopback;
use super::{ConfigError, Env};

pub fn pwned_passwords_url(env: &Env) -> Result<Option<String>, ConfigError> {
    parse_service_url(env.get("PWNED_PASSWORDS_URL"))
}

/// `PWNED_PASSWORDS_URL`: empty/absent (no breach check), or an `https` base URL (`http` on
/// loopback: a local stub), no query or fragment; a trailing `/` is dropped.
fn parse_service_url(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let error = || ConfigError {
        name: "PWNED_PASSWORDS_URL",
        expected:
            "empty, or an https URL like https://api.pwnedpasswords.com (http only on localhost)"
                .into(),
        value: value.clone(),
    };
    let (secure, rest) = match value.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix("http://").ok_or_else(error)?),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    let ok_chars = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/:[]%".contains(&b))
    };
    if host.is_empty() || !ok_chars(rest) || (!secure && !is_loopback(host)) {
        return Err(error());
    }
    Ok(Some(value.trim_end_matches('/').to_string()))
}

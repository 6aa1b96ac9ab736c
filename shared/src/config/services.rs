//! Outside services the functions call: the Pwned Passwords range API.

use super::{trusted_base_url, ConfigError, Env};

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
    trusted_base_url(&value)
        .map(|url| Some(url.to_string()))
        .ok_or_else(error)
}

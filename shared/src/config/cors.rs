//! `CORS_ALLOW_ORIGIN`: the browser origins besides the API's own that may call it.

use super::{is_loopback, ConfigError, Env};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    /// Each `scheme://host[:port]`, exactly as browsers send `Origin`; empty = none.
    pub allow_origins: Vec<String>,
}

impl Cors {
    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        Ok(Cors {
            allow_origins: parse_origins("CORS_ALLOW_ORIGIN", env.get("CORS_ALLOW_ORIGIN"))?,
        })
    }
}

/// `CORS_ALLOW_ORIGIN` (and `OAUTH_REDIRECT_ALLOWLIST`, variable `name`): empty, or
/// comma-separated origins exactly as browsers send them in
/// `Origin` (`https://app.example.com`, `http://localhost:5173`): a scheme, a host, an optional
/// port, no path, no wildcard (a credentialed CORS response cannot allow `*`). `https` only
/// (credentials for a page any network attacker can rewrite would be theirs), but on
/// loopback; no default port (browsers never send `:443` or `:80`: it would match nothing).
pub(super) fn parse_origins(
    name: &'static str,
    value: Option<String>,
) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let error = || {
        ConfigError {
        name,
        expected: "empty or comma-separated origins like https://app.example.com (https, or http on localhost; host, optional non-default port; no path, no *)".into(),
        value: value.clone(),
    }
    };
    let mut origins = Vec::new();
    for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let (secure, rest) = match origin.strip_prefix("https://") {
            Some(rest) => (true, rest),
            None => (false, origin.strip_prefix("http://").ok_or_else(error)?),
        };
        // `[v6]:port` or `host:port`; the port is optional.
        let (host, port) = match rest.find(']') {
            Some(end) if rest.starts_with('[') => {
                let (host, tail) = rest.split_at(end + 1);
                match tail {
                    "" => (host, None),
                    _ => (host, Some(tail.strip_prefix(':').ok_or_else(error)?)),
                }
            }
            _ => match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            },
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
        let default_port = if secure { "443" } else { "80" };
        let port_ok =
            port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok() && p != default_port);
        let scheme_ok = secure || is_loopback(host);
        if !host_ok || !port_ok || !scheme_ok || origin.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(error());
        }
        origins.push(origin.to_string());
    }
    Ok(origins)
}

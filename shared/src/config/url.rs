//! What counts as this machine, and which base URLs a client may trust: the one rule behind
//! `CORS_ALLOW_ORIGIN`, `PWNED_PASSWORDS_URL`, the discovery document's issuer and the API's
//! own origin.

/// Whether `authority` (`host` or `host:port`, IPv6 bracketed) is this machine: the only place
/// plain `http` is acceptable (no network attacker sits between a browser and its own machine).
pub fn is_loopback(authority: &str) -> bool {
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `url` without a trailing `/`, if it is a base URL a client may trust: `https://` (or
/// `http://` on loopback), a host name or address with an optional port, and nothing but URL
/// path characters after it (no query, fragment, user info or space).
pub fn trusted_base_url(url: &str) -> Option<&str> {
    let (secure, rest) = match url.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, url.strip_prefix("http://")?),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host_ok = !authority.is_empty()
        && !authority.starts_with(':')
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    let clean = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/:%".contains(&b));
    (clean && host_ok && (secure || is_loopback(authority))).then(|| url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_localhost_127_and_the_v6_one_with_or_without_a_port() {
        for yes in [
            "localhost",
            "localhost:3000",
            "127.0.0.1",
            "127.0.0.2:80",
            "[::1]",
            "[::1]:8",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "localhost.evil.example",
            "10.0.0.1",
            "[::2]",
            "example.com:3000",
            "",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}

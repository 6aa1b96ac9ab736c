//! Configuration from the contract's environment variables, read once at cold start.

use thiserror::Error;

/// A bad configuration value: the function refuses to start and says which variable is wrong.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid configuration: {name} must be {expected} (got {value:?})")]
pub struct ConfigError {
    pub name: &'static str,
    pub expected: &'static str,
    pub value: String,
}

/// Which roots the AWS SDK's TLS client trusts (`TLS_TRUST_STORE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrustStore {
    /// `aws` (default): only the Amazon Trust Services roots, compiled in; no file is read.
    #[default]
    Aws,
    /// `system`: the platform's store (`SSL_CERT_FILE` / `SSL_CERT_DIR` apply), read at the
    /// first SDK client. For TLS-inspecting proxies or endpoints under other CAs.
    System,
}

impl TrustStore {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_value(std::env::var("TLS_TRUST_STORE").ok())
    }

    fn from_value(value: Option<String>) -> Result<Self, ConfigError> {
        match value.as_deref() {
            None | Some("aws") => Ok(TrustStore::Aws),
            Some("system") => Ok(TrustStore::System),
            Some(other) => Err(ConfigError {
                name: "TLS_TRUST_STORE",
                expected: "`aws` or `system`",
                value: other.to_string(),
            }),
        }
    }
}

pub use crate::domain::SigningAlg;

/// `AUTHORIZER_REVOCATION`: whether the authorizer also checks the token's session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthorizerRevocation {
    /// `off` (default): offline verification only; no network call per request.
    #[default]
    Off,
    /// `session`: one DynamoDB read per call; a revoked session's tokens are refused at once.
    Session,
}

/// `AUTHORIZER_REVOCATION_ON_ERROR`: what the session-checking authorizer answers when
/// DynamoDB cannot be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevocationFailMode {
    /// `deny` (default): fail closed; protected APIs are down while DynamoDB is.
    #[default]
    Deny,
    /// `allow`: fail open to the offline verdict; revocation lapses while DynamoDB is down.
    Allow,
}

/// `COOKIE_SAMESITE`: the refresh and device cookies' `SameSite`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CookieSameSite {
    /// `Strict` (default): sent only with requests from the API's own site.
    #[default]
    Strict,
    /// `Lax`: also with top-level navigations from other sites (the cookies' paths are POST
    /// routes, so this changes nothing for them but is what some deployments expect).
    Lax,
    /// `None`: sent with cross-site requests too: a single-page app on another site. Safe
    /// only with the cross-site defences (JSON-only bodies, the Origin check against
    /// `CORS_ALLOW_ORIGIN`), so it needs at least one allowed origin; `Secure` is always set.
    None,
}

impl CookieSameSite {
    pub fn as_str(self) -> &'static str {
        match self {
            CookieSameSite::Strict => "Strict",
            CookieSameSite::Lax => "Lax",
            CookieSameSite::None => "None",
        }
    }
}

/// The cookies' attributes that vary by deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CookiePolicy {
    pub same_site: CookieSameSite,
    /// `COOKIE_DOMAIN`: a `Domain` attribute (the cookies then go to every subdomain too);
    /// `None`: host-only, the default.
    pub domain: Option<String>,
}

/// Everything the functions and `authctl` read from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub users_table: String,
    pub sessions_table: String,
    /// Secrets Manager secret name or ARN holding the signing key (`{"signing_key": ...}`).
    pub signing_secret_id: String,
    /// `SIGNING_ALG`.
    pub signing_alg: SigningAlg,
    /// `PUBLIC_KEYS_SECRET_ID`: in an asymmetric mode, the secret holding the public JWKS the
    /// rotation publishes; the authorizer and the discovery function read only this one.
    pub public_keys_secret_id: String,
    pub issuer: String,
    pub audience: String,
    /// Access-token lifetime, seconds.
    pub access_token_ttl: u64,
    /// Refresh-token inactivity lifetime, seconds; every rotation slides it.
    pub refresh_token_ttl: u64,
    /// How long a just-rotated refresh token may be presented again (concurrent tabs, retries).
    pub reuse_grace_secs: u64,
    /// Absolute session lifetime, seconds; rotation never extends it.
    pub session_max_age: u64,
    pub max_sessions_per_user: u32,
    /// How long the signing key ring is cached before it is re-read, seconds.
    pub secret_cache_ttl: u64,
    /// Login throttling: failures for one username within `login_failure_window` seconds
    /// before it is locked, and the lockout (doubling per further failure, capped).
    pub login_max_failures: u32,
    pub login_failure_window: u64,
    pub login_lockout_base: u64,
    pub login_lockout_max: u64,
    pub trust_store: TrustStore,
    /// Browser origins other than the API's own that may call it (`CORS_ALLOW_ORIGIN`,
    /// comma-separated, each `scheme://host[:port]`; empty = none).
    pub cors_allow_origins: Vec<String>,
    /// `SIGNUP_ENABLED`: whether `POST /auth/register` creates accounts (off by default).
    pub signup_enabled: bool,
    /// `SIGNUP_DEFAULT_ROLES`: the roles a self-registered user gets.
    pub signup_default_roles: Vec<String>,
    /// `COOKIE_SAMESITE`, `COOKIE_DOMAIN`.
    pub cookies: CookiePolicy,
    /// `AUTHORIZER_REVOCATION`.
    pub authorizer_revocation: AuthorizerRevocation,
    /// `AUTHORIZER_REVOCATION_ON_ERROR`.
    pub revocation_on_error: RevocationFailMode,
    /// `PWNED_PASSWORDS_URL`: the Pwned Passwords range API every new password is checked
    /// against (`None`: no breach check).
    pub pwned_passwords_url: Option<String>,
}

impl Config {
    /// The lockout settings as one value.
    pub fn lockout_policy(&self) -> crate::domain::LockoutPolicy {
        crate::domain::LockoutPolicy {
            max_failures: self.login_max_failures,
            window: self.login_failure_window,
            base: self.login_lockout_base,
            cap: self.login_lockout_max,
        }
    }

    pub const DEFAULT_USERS_TABLE: &'static str = "auth-users";
    pub const DEFAULT_SESSIONS_TABLE: &'static str = "auth-sessions";
    pub const DEFAULT_SIGNING_SECRET_ID: &'static str = "lambda-jwt-auth/signing-key";
    pub const DEFAULT_PUBLIC_KEYS_SECRET_ID: &'static str = "lambda-jwt-auth/public-keys";
    pub const DEFAULT_ISSUER: &'static str = "lambda-jwt-auth";
    pub const DEFAULT_AUDIENCE: &'static str = "lambda-jwt-auth-api";

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            match get(name) {
                None => Ok(default.to_string()),
                Some(v) if !v.trim().is_empty() && v.trim() == v => Ok(v),
                Some(v) => Err(ConfigError {
                    name,
                    expected: "a non-empty value without surrounding spaces",
                    value: v,
                }),
            }
        };
        let secs = |name: &'static str,
                    default: u64,
                    min: u64,
                    max: u64,
                    expected: &'static str|
         -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(ConfigError {
                        name,
                        expected,
                        value: v,
                    }),
                },
            }
        };
        const DAY: u64 = 86_400;
        let cfg = Config {
            users_table: text("USERS_TABLE", Self::DEFAULT_USERS_TABLE)?,
            sessions_table: text("SESSIONS_TABLE", Self::DEFAULT_SESSIONS_TABLE)?,
            signing_secret_id: text("SIGNING_SECRET_ID", Self::DEFAULT_SIGNING_SECRET_ID)?,
            signing_alg: match get("SIGNING_ALG") {
                None => SigningAlg::default(),
                Some(v) => SigningAlg::parse(&v).ok_or(ConfigError {
                    name: "SIGNING_ALG",
                    expected: "HS256, RS256, ES256 or EdDSA",
                    value: v,
                })?,
            },
            public_keys_secret_id: text(
                "PUBLIC_KEYS_SECRET_ID",
                Self::DEFAULT_PUBLIC_KEYS_SECRET_ID,
            )?,
            issuer: text("TOKEN_ISSUER", Self::DEFAULT_ISSUER)?,
            audience: text("TOKEN_AUDIENCE", Self::DEFAULT_AUDIENCE)?,
            access_token_ttl: secs(
                "ACCESS_TOKEN_TTL",
                900,
                1,
                DAY,
                "whole seconds between 1 and 86400",
            )?,
            refresh_token_ttl: secs(
                "REFRESH_TOKEN_TTL",
                1_209_600,
                60,
                365 * DAY,
                "whole seconds between 60 and 31536000",
            )?,
            reuse_grace_secs: secs(
                "REUSE_GRACE_SECS",
                10,
                0,
                10,
                "whole seconds between 0 and 10",
            )?,
            session_max_age: secs(
                "SESSION_MAX_AGE",
                2_592_000,
                60,
                365 * DAY,
                "whole seconds between 60 and 31536000",
            )?,
            max_sessions_per_user: secs(
                "MAX_SESSIONS_PER_USER",
                20,
                1,
                1000,
                "a whole number between 1 and 1000",
            )? as u32,
            secret_cache_ttl: secs(
                "SECRET_CACHE_TTL",
                300,
                0,
                DAY,
                "whole seconds between 0 and 86400",
            )?,
            login_max_failures: secs(
                "LOGIN_MAX_FAILURES",
                5,
                1,
                1000,
                "a whole number between 1 and 1000",
            )? as u32,
            login_failure_window: secs(
                "LOGIN_FAILURE_WINDOW",
                900,
                1,
                DAY,
                "whole seconds between 1 and 86400",
            )?,
            login_lockout_base: secs(
                "LOGIN_LOCKOUT_BASE",
                30,
                1,
                DAY,
                "whole seconds between 1 and 86400",
            )?,
            login_lockout_max: secs(
                "LOGIN_LOCKOUT_MAX",
                900,
                1,
                DAY,
                "whole seconds between 1 and 86400",
            )?,
            trust_store: TrustStore::from_value(get("TLS_TRUST_STORE"))?,
            cors_allow_origins: parse_origins(get("CORS_ALLOW_ORIGIN"))?,
            signup_enabled: match get("SIGNUP_ENABLED").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(ConfigError {
                        name: "SIGNUP_ENABLED",
                        expected: "true or false",
                        value: other.to_string(),
                    })
                }
            },
            signup_default_roles: parse_roles(get("SIGNUP_DEFAULT_ROLES"))?,
            cookies: CookiePolicy {
                same_site: match get("COOKIE_SAMESITE").as_deref() {
                    None | Some("Strict") => CookieSameSite::Strict,
                    Some("Lax") => CookieSameSite::Lax,
                    Some("None") => CookieSameSite::None,
                    Some(other) => {
                        return Err(ConfigError {
                            name: "COOKIE_SAMESITE",
                            expected: "Strict, Lax or None",
                            value: other.to_string(),
                        })
                    }
                },
                domain: parse_cookie_domain(get("COOKIE_DOMAIN"))?,
            },
            authorizer_revocation: match get("AUTHORIZER_REVOCATION").as_deref() {
                None | Some("off") => AuthorizerRevocation::Off,
                Some("session") => AuthorizerRevocation::Session,
                Some(other) => {
                    return Err(ConfigError {
                        name: "AUTHORIZER_REVOCATION",
                        expected: "off or session",
                        value: other.to_string(),
                    })
                }
            },
            revocation_on_error: match get("AUTHORIZER_REVOCATION_ON_ERROR").as_deref() {
                None | Some("deny") => RevocationFailMode::Deny,
                Some("allow") => RevocationFailMode::Allow,
                Some(other) => {
                    return Err(ConfigError {
                        name: "AUTHORIZER_REVOCATION_ON_ERROR",
                        expected: "deny or allow",
                        value: other.to_string(),
                    })
                }
            },
            pwned_passwords_url: parse_service_url(get("PWNED_PASSWORDS_URL"))?,
        };
        if cfg.cookies.same_site == CookieSameSite::None && cfg.cors_allow_origins.is_empty() {
            // Cross-site cookies with no site allowed to use them: all exposure, no use.
            return Err(ConfigError {
                name: "COOKIE_SAMESITE",
                expected: "Strict or Lax unless CORS_ALLOW_ORIGIN names the app's origin (None sends the refresh cookie cross-site, which only an allowed origin may use)",
                value: "None".into(),
            });
        }
        Ok(cfg)
    }
}

/// Whether `host` (as in a URL: `[v6]` bracketed) is this machine: the only place plain
/// `http` is acceptable (no network attacker sits between a browser and its own machine).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
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
            "empty, or an https URL like https://api.pwnedpasswords.com (http only on localhost)",
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

/// `COOKIE_DOMAIN`: empty/absent, or a registrable host name with at least one dot
/// (`example.com`, `auth.example.com`; a leading dot is dropped, as browsers do). No scheme,
/// port, path, wildcard, IP address or single label (`com`, `localhost`): browsers ignore
/// those or would send the tokens far wider than meant. Nor a public suffix (`co.uk`,
/// `github.io`, by the Public Suffix List): every site under it would get the cookies.
fn parse_cookie_domain(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let domain = value.strip_prefix('.').unwrap_or(&value);
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let all_numeric = labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if labels.len() < 2 || !labels.iter().all(label_ok) || all_numeric || domain.len() > 253 {
        return Err(ConfigError {
            name: "COOKIE_DOMAIN",
            expected: "empty, or a lower-case host name with a dot, like example.com (no scheme, port, path, *, IP address)",
            value,
        });
    }
    if psl::domain(domain.as_bytes()).is_none() {
        return Err(ConfigError {
            name: "COOKIE_DOMAIN",
            expected: "a registrable domain, not a public suffix such as co.uk or github.io (the Public Suffix List)",
            value,
        });
    }
    Ok(Some(domain.to_string()))
}

/// `SIGNUP_DEFAULT_ROLES`: comma-separated roles (default `user`; empty = none), each as
/// `authctl user create --role` accepts it.
fn parse_roles(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(vec!["user".to_string()]);
    };
    let roles: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    if roles.iter().all(|r| crate::domain::valid_role(r)) {
        Ok(roles)
    } else {
        Err(ConfigError {
            name: "SIGNUP_DEFAULT_ROLES",
            expected: "comma-separated roles of 1-64 characters of a-z A-Z 0-9 _ - : .",
            value,
        })
    }
}

/// `CORS_ALLOW_ORIGIN`: empty, or comma-separated origins exactly as browsers send them in
/// `Origin` (`https://app.example.com`, `http://localhost:5173`): a scheme, a host, an optional
/// port, no path, no wildcard (a credentialed CORS response cannot allow `*`). `https` only
/// (credentials for a page any network attacker can rewrite would be theirs), but on
/// loopback; no default port (browsers never send `:443` or `:80`: it would match nothing).
fn parse_origins(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let error = || {
        ConfigError {
        name: "CORS_ALLOW_ORIGIN",
        expected: "empty or comma-separated origins like https://app.example.com (https, or http on localhost; host, optional non-default port; no path, no *)",
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn cors_origins_are_exact_origins_or_refused() {
        let ok = from(&[(
            "CORS_ALLOW_ORIGIN",
            "https://app.example.com, http://localhost:5173,http://[::1]:8080",
        )])
        .unwrap();
        assert_eq!(
            ok.cors_allow_origins,
            [
                "https://app.example.com",
                "http://localhost:5173",
                "http://[::1]:8080"
            ]
        );
        assert!(from(&[("CORS_ALLOW_ORIGIN", "")])
            .unwrap()
            .cors_allow_origins
            .is_empty());
        for bad in [
            "*",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://*.example.com",
            "https://App.example.com",
            "https://app.example.com:",
            "https://app.example.com:99999",
            "ftp://app.example.com",
            "https://[::1",
            // Plain http off this machine, and default ports browsers never send.
            "http://app.example.com",
            "http://10.0.0.1:8080",
            "http://localhost.evil.example",
            "https://app.example.com:443",
            "http://localhost:80",
        ] {
            let err = from(&[("CORS_ALLOW_ORIGIN", bad)]).unwrap_err();
            assert_eq!(err.name, "CORS_ALLOW_ORIGIN", "{bad}");
        }
    }

    #[test]
    fn the_breach_check_url_is_https_or_a_loopback_stub() {
        assert_eq!(from(&[]).unwrap().pwned_passwords_url, None);
        assert_eq!(
            from(&[("PWNED_PASSWORDS_URL", "")])
                .unwrap()
                .pwned_passwords_url,
            None
        );
        for (ok, stored) in [
            (
                "https://api.pwnedpasswords.com/",
                "https://api.pwnedpasswords.com",
            ),
            ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
            ("http://localhost:9/pwned", "http://localhost:9/pwned"),
        ] {
            assert_eq!(
                from(&[("PWNED_PASSWORDS_URL", ok)])
                    .unwrap()
                    .pwned_passwords_url
                    .as_deref(),
                Some(stored),
                "{ok}"
            );
        }
        for bad in [
            "api.pwnedpasswords.com",
            "http://api.pwnedpasswords.com",
            "https://",
            "https://x.example/range?x=1",
            "ftp://x.example",
        ] {
            assert_eq!(
                from(&[("PWNED_PASSWORDS_URL", bad)]).unwrap_err().name,
                "PWNED_PASSWORDS_URL",
                "{bad}"
            );
        }
    }

    #[test]
    fn signing_alg_and_revocation_settings_parse_or_name_the_variable() {
        let cfg = from(&[]).unwrap();
        assert_eq!(cfg.signing_alg, SigningAlg::Hs256);
        assert_eq!(cfg.authorizer_revocation, AuthorizerRevocation::Off);
        assert_eq!(cfg.revocation_on_error, RevocationFailMode::Deny);
        for alg in SigningAlg::ALL {
            assert_eq!(
                from(&[("SIGNING_ALG", alg.as_str())]).unwrap().signing_alg,
                alg
            );
        }
        let cfg = from(&[
            ("AUTHORIZER_REVOCATION", "session"),
            ("AUTHORIZER_REVOCATION_ON_ERROR", "allow"),
        ])
        .unwrap();
        assert_eq!(cfg.authorizer_revocation, AuthorizerRevocation::Session);
        assert_eq!(cfg.revocation_on_error, RevocationFailMode::Allow);
        for (name, bad) in [
            ("SIGNING_ALG", "hs256"),
            ("SIGNING_ALG", "none"),
            ("SIGNING_ALG", "RS512"),
            ("AUTHORIZER_REVOCATION", "on"),
            ("AUTHORIZER_REVOCATION_ON_ERROR", "open"),
        ] {
            assert_eq!(from(&[(name, bad)]).unwrap_err().name, name);
        }
    }

    #[test]
    fn cookie_settings_parse_and_unsafe_ones_are_refused() {
        let cfg = from(&[]).unwrap();
        assert_eq!(cfg.cookies, CookiePolicy::default());
        let cfg = from(&[
            ("COOKIE_SAMESITE", "Lax"),
            ("COOKIE_DOMAIN", ".example.com"),
        ])
        .unwrap();
        assert_eq!(cfg.cookies.same_site, CookieSameSite::Lax);
        assert_eq!(cfg.cookies.domain.as_deref(), Some("example.com"));
        let cfg = from(&[
            ("COOKIE_SAMESITE", "None"),
            ("CORS_ALLOW_ORIGIN", "https://app.example.org"),
        ])
        .unwrap();
        assert_eq!(cfg.cookies.same_site, CookieSameSite::None);
        let e = from(&[("COOKIE_SAMESITE", "None")]).unwrap_err();
        assert_eq!(e.name, "COOKIE_SAMESITE");
        assert!(e.expected.contains("CORS_ALLOW_ORIGIN"));
        for bad in ["none", "strict", "", "Secure"] {
            assert_eq!(
                from(&[("COOKIE_SAMESITE", bad)]).unwrap_err().name,
                "COOKIE_SAMESITE",
                "{bad}"
            );
        }
        for bad in [
            "com",
            "localhost",
            "https://example.com",
            "example.com:443",
            "example.com/auth",
            "*.example.com",
            "127.0.0.1",
            "Example.com",
            "exa mple.com",
            "-a.example.com",
            "a..example.com",
            // Public suffixes: every site under them would get the cookies.
            "co.uk",
            ".co.uk",
            "github.io",
            "s3.amazonaws.com",
        ] {
            assert_eq!(
                from(&[("COOKIE_DOMAIN", bad)]).unwrap_err().name,
                "COOKIE_DOMAIN",
                "{bad}"
            );
        }
        assert_eq!(from(&[("COOKIE_DOMAIN", "")]).unwrap().cookies.domain, None);
    }

    #[test]
    fn defaults_match_the_contract() {
        let cfg = from(&[]).unwrap();
        assert_eq!(cfg.access_token_ttl, 900);
        assert_eq!(cfg.refresh_token_ttl, 1_209_600);
        assert_eq!(cfg.reuse_grace_secs, 10);
        assert_eq!(cfg.session_max_age, 2_592_000);
        assert_eq!(cfg.max_sessions_per_user, 20);
        assert_eq!(cfg.secret_cache_ttl, 300);
    }

    #[test]
    fn every_variable_overrides_its_default() {
        let cfg = from(&[
            ("USERS_TABLE", "u"),
            ("SESSIONS_TABLE", "s"),
            (
                "SIGNING_SECRET_ID",
                "arn:aws:secretsmanager:eu-west-1:1:secret:k",
            ),
            ("TOKEN_ISSUER", "iss"),
            ("TOKEN_AUDIENCE", "aud"),
            ("ACCESS_TOKEN_TTL", "60"),
            ("REFRESH_TOKEN_TTL", "3600"),
            ("REUSE_GRACE_SECS", "2"),
            ("SESSION_MAX_AGE", "7200"),
            ("MAX_SESSIONS_PER_USER", "3"),
            ("SECRET_CACHE_TTL", "0"),
            ("TLS_TRUST_STORE", "system"),
        ])
        .unwrap();
        assert_eq!(
            (cfg.users_table.as_str(), cfg.sessions_table.as_str()),
            ("u", "s")
        );
        assert_eq!((cfg.issuer.as_str(), cfg.audience.as_str()), ("iss", "aud"));
        assert_eq!(cfg.access_token_ttl, 60);
        assert_eq!(cfg.refresh_token_ttl, 3600);
        assert_eq!(cfg.reuse_grace_secs, 2);
        assert_eq!(cfg.session_max_age, 7200);
        assert_eq!(cfg.max_sessions_per_user, 3);
        assert_eq!(cfg.secret_cache_ttl, 0);
        assert_eq!(cfg.trust_store, TrustStore::System);
        assert_eq!(from(&[]).unwrap().trust_store, TrustStore::Aws);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("ACCESS_TOKEN_TTL", "15m"),
            ("ACCESS_TOKEN_TTL", "0"),
            ("ACCESS_TOKEN_TTL", "-5"),
            ("REUSE_GRACE_SECS", "11"),
            ("MAX_SESSIONS_PER_USER", "0"),
            ("USERS_TABLE", ""),
            ("TOKEN_ISSUER", " padded "),
            ("TLS_TRUST_STORE", "native"),
            ("TLS_TRUST_STORE", ""),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

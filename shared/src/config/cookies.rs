//! The cookies' attributes that vary by deployment: `COOKIE_SAMESITE`, `COOKIE_DOMAIN`.

use super::{ConfigError, Cors, Env};

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

impl CookiePolicy {
    /// Needs the CORS settings: `None` without an allowed origin is refused.
    pub fn parse(env: &Env, cors: &Cors) -> Result<Self, ConfigError> {
        let same_site = env.choice(
            "COOKIE_SAMESITE",
            &[
                ("Strict", CookieSameSite::Strict),
                ("Lax", CookieSameSite::Lax),
                ("None", CookieSameSite::None),
            ],
        )?;
        if same_site == CookieSameSite::None && cors.allow_origins.is_empty() {
            // Cross-site cookies with no site allowed to use them: all exposure, no use.
            return Err(ConfigError::new(
                "COOKIE_SAMESITE",
                "Strict or Lax unless CORS_ALLOW_ORIGIN names the app's origin (None sends the refresh cookie cross-site, which only an allowed origin may use)",
                "None",
            ));
        }
        Ok(CookiePolicy {
            same_site,
            domain: parse_cookie_domain(env.get("COOKIE_DOMAIN"))?,
        })
    }
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
            expected: "empty, or a lower-case host name with a dot, like example.com (no scheme, port, path, *, IP address)".into(),
            value,
        });
    }
    if psl::domain(domain.as_bytes()).is_none() {
        return Err(ConfigError {
            name: "COOKIE_DOMAIN",
            expected: "a registrable domain, not a public suffix such as co.uk or github.io (the Public Suffix List)".into(),
            value,
        });
    }
    Ok(Some(domain.to_string()))
}

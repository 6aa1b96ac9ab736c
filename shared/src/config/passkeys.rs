//! Passkeys (WebAuthn): the relying party and the origins a ceremony may come from.

use super::{ConfigError, Env};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passkeys {
    /// `WEBAUTHN_RP_ID` (default: the host of `APP_URL`): the domain passkeys are scoped to.
    /// `None` (no `APP_URL`, or an `APP_URL` on an IP address, which cannot be an RP ID):
    /// passkeys are off.
    pub rp_id: Option<String>,
    /// `WEBAUTHN_RP_NAME` (default: `TOKEN_ISSUER`): the name an authenticator shows.
    pub rp_name: String,
    /// The origins a ceremony's `clientDataJSON` may name: `APP_URL`'s and `CORS_ALLOW_ORIGIN`'s.
    pub origins: Vec<String>,
}

impl Passkeys {
    pub fn parse(
        env: &Env,
        app_url: Option<&str>,
        cors_origins: &[String],
        issuer: &str,
    ) -> Result<Self, ConfigError> {
        let app_origin = app_url.map(origin_of);
        let configured = env.get("WEBAUTHN_RP_ID").filter(|v| !v.is_empty());
        let rp_id =
            match &configured {
                Some(id) if is_rp_id(id) => Some(id.clone()),
                Some(id) => return Err(ConfigError::new(
                    "WEBAUTHN_RP_ID",
                    "a lower-case domain name such as example.com (no scheme, port or IP address)",
                    id.clone(),
                )),
                None => app_origin
                    .as_deref()
                    .map(host_of)
                    .filter(|host| is_rp_id(host))
                    .map(str::to_string),
            };
        let origins: Vec<String> = app_origin
            .into_iter()
            .chain(cors_origins.iter().cloned())
            .collect();
        if let (Some(id), Some(_)) = (&configured, &rp_id) {
            // An RP ID no allowed origin lies under would refuse every ceremony: say so now.
            if !origins.iter().any(|o| within(host_of(o), id)) {
                return Err(ConfigError::new(
                    "WEBAUTHN_RP_ID",
                    "the host of APP_URL (or of a CORS_ALLOW_ORIGIN origin) or a parent domain of it",
                    id.clone(),
                ));
            }
        }
        Ok(Passkeys {
            rp_id,
            // Empty is unset (the template passes its parameter's empty default).
            rp_name: match env.get("WEBAUTHN_RP_NAME").filter(|v| !v.is_empty()) {
                Some(_) => env.text("WEBAUTHN_RP_NAME", issuer)?,
                None => issuer.to_string(),
            },
            origins,
        })
    }

    /// Whether passkeys can be used at all (an RP ID is known).
    pub fn enabled(&self) -> bool {
        self.rp_id.is_some()
    }

    /// Whether a ceremony from `origin` (exactly as `clientDataJSON` names it) is accepted: one
    /// of the allowed origins, on the RP ID or a subdomain of it.
    pub fn accepts_origin(&self, origin: &str) -> bool {
        let Some(id) = &self.rp_id else {
            return false;
        };
        self.origins.iter().any(|o| o == origin) && within(host_of(origin), id)
    }
}

impl Passkeys {
    /// The origins a ceremony may come from: the allowed ones on the RP ID or below it (none
    /// while passkeys are off).
    pub fn allowed_origins(&self) -> Vec<String> {
        self.origins
            .iter()
            .filter(|o| self.accepts_origin(o))
            .cloned()
            .collect()
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

/// The host of an origin (no scheme, no port).
fn host_of(origin: &str) -> &str {
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// `host` is `id` or a subdomain of it.
fn within(host: &str, id: &str) -> bool {
    host == id
        || host
            .strip_suffix(id)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// A valid RP ID: a lower-case DNS name of letters, digits and hyphens in dot-separated labels
/// (`localhost` included), never an IP address.
fn is_rp_id(id: &str) -> bool {
    let labels_ok = !id.is_empty()
        && id.len() <= 253
        && id.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    let all_numeric = id.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit()));
    labels_ok && !all_numeric
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        vars: &[(&str, &str)],
        app_url: Option<&str>,
        cors: &[&str],
    ) -> Result<Passkeys, ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let cors: Vec<String> = cors.iter().map(|s| s.to_string()).collect();
        Passkeys::parse(&Env::new(&get), app_url, &cors, "https://auth.example.com")
    }

    #[test]
    fn empty_variables_are_unset_as_the_template_passes_them() {
        let p = parse(
            &[("WEBAUTHN_RP_ID", ""), ("WEBAUTHN_RP_NAME", "")],
            Some("https://app.example.com"),
            &[],
        )
        .unwrap();
        assert_eq!(p.rp_id.as_deref(), Some("app.example.com"));
        assert_eq!(p.rp_name, "https://auth.example.com");
        assert!(parse(&[("WEBAUTHN_RP_NAME", " x")], None, &[]).is_err());
    }

    #[test]
    fn the_rp_id_defaults_to_app_urls_host_and_never_to_an_ip_address() {
        let p = parse(&[], Some("https://app.example.com/base"), &[]).unwrap();
        assert_eq!(p.rp_id.as_deref(), Some("app.example.com"));
        assert_eq!(p.origins, ["https://app.example.com"]);
        assert_eq!(p.rp_name, "https://auth.example.com");
        let dev = parse(&[], Some("http://localhost:3000"), &[]).unwrap();
        assert_eq!(dev.rp_id.as_deref(), Some("localhost"));
        assert!(dev.accepts_origin("http://localhost:3000"));
        assert!(!dev.accepts_origin("http://localhost:3001"));
        for off in [Some("http://127.0.0.1:3000"), None] {
            let p = parse(&[], off, &[]).unwrap();
            assert!(
                !p.enabled() && !p.accepts_origin("http://127.0.0.1:3000"),
                "{off:?}"
            );
        }
    }

    #[test]
    fn a_parent_domain_covers_its_subdomains_origins_and_nothing_else() {
        let p = parse(
            &[
                ("WEBAUTHN_RP_ID", "example.com"),
                ("WEBAUTHN_RP_NAME", "Example"),
            ],
            Some("https://app.example.com"),
            &[
                "https://admin.example.com",
                "https://example.org",
                "https://evilexample.com",
            ],
        )
        .unwrap();
        assert_eq!(p.rp_name, "Example");
        assert!(p.accepts_origin("https://app.example.com"));
        assert!(p.accepts_origin("https://admin.example.com"));
        // Allowed by CORS but not under the RP ID (a look-alike too); under it but not allowed.
        for refused in [
            "https://example.org",
            "https://other.example.com",
            "https://evilexample.com",
            "https://app.example.com.evil.net",
        ] {
            assert!(!p.accepts_origin(refused), "{refused}");
        }
    }

    #[test]
    fn a_bad_or_unreachable_rp_id_stops_the_start() {
        for bad in [
            "https://example.com",
            "Example.com",
            "example.com:443",
            "10.0.0.1",
            "-x.com",
            "a..b",
        ] {
            let e =
                parse(&[("WEBAUTHN_RP_ID", bad)], Some("https://example.com"), &[]).unwrap_err();
            assert_eq!(e.name, "WEBAUTHN_RP_ID", "{bad}");
        }
        let e = parse(
            &[("WEBAUTHN_RP_ID", "example.org")],
            Some("https://app.example.com"),
            &[],
        )
        .unwrap_err();
        assert!(e.expected.contains("parent domain"), "{e}");
    }
}

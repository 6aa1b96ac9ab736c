//! Sign-in with OpenID Connect providers: `OIDC_PROVIDERS` (which providers, each found through
//! its discovery document) and `OAUTH_REDIRECT_ALLOWLIST` (where a flow may send the browser
//! back to).

use serde::{Deserialize, Serialize};

use super::url::trusted_base_url;
use super::{ConfigError, Env};

/// One provider of `OIDC_PROVIDERS`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// The name in the routes (`/auth/oauth/{id}/start`): lower-case letters, digits, `-`.
    pub id: String,
    /// The issuer: `https://` (or `http://` on loopback), its discovery document at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// The Secrets Manager id of the client secret; none: a public client (PKCE alone).
    #[serde(default)]
    pub client_secret_id: Option<String>,
    /// Scopes asked for; `openid` always among them.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

/// Most providers one deployment names (each is a route and a cached discovery document).
const MAX_PROVIDERS: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Oauth {
    pub providers: Vec<OidcProvider>,
    /// Origins (`scheme://host[:port]`) a flow may return to.
    pub redirect_allowlist: Vec<String>,
    /// `API_URL`: this API's public base URL, where the providers send the browser back
    /// (`{API_URL}/auth/oauth/{id}/callback`, the redirect URI registered with each). Unset:
    /// `https://` and the domain name API Gateway says the request came to.
    pub api_url: Option<String>,
}

impl Oauth {
    pub fn parse(env: &Env, app_url: Option<&str>) -> Result<Self, ConfigError> {
        let raw = env.get("OIDC_PROVIDERS").filter(|v| !v.trim().is_empty());
        let providers = match raw {
            None => Vec::new(),
            Some(text) => parse_providers(&text)?,
        };
        // The origins CORS_ALLOW_ORIGIN takes, by the same rule; unset or empty: APP_URL's.
        let mut allowlist = super::cors::parse_origins(
            "OAUTH_REDIRECT_ALLOWLIST",
            env.get("OAUTH_REDIRECT_ALLOWLIST"),
        )?;
        if allowlist.is_empty() {
            allowlist.extend(app_url.and_then(redirect_origin).map(str::to_string));
        }
        let api_url = match env.get("API_URL").filter(|v| !v.is_empty()) {
            None => None,
            Some(url) => match trusted_base_url(&url) {
                Some(base) if !url.contains('%') => Some(base.to_string()),
                _ => {
                    return Err(ConfigError::new(
                        "API_URL",
                        "https://host[/path] (http:// on loopback only), no query or fragment",
                        url,
                    ))
                }
            },
        };
        Ok(Oauth {
            providers,
            redirect_allowlist: allowlist,
            api_url,
        })
    }

    pub fn provider(&self, id: &str) -> Option<&OidcProvider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Whether a flow may send the browser back to `url`: an absolute URL on an allowed origin
    /// (compared exactly, scheme and port included), with no user info, fragment, backslash,
    /// space or control character (a URL browsers and this check could read differently).
    pub fn allows_redirect(&self, url: &str) -> bool {
        redirect_origin(url).is_some_and(|o| self.redirect_allowlist.iter().any(|a| a == o))
    }
}

fn parse_providers(text: &str) -> Result<Vec<OidcProvider>, ConfigError> {
    let bad = |why: &'static str| ConfigError::new("OIDC_PROVIDERS", why, text.to_string());
    let providers: Vec<OidcProvider> = serde_json::from_str(text).map_err(|_| {
        bad(r#"a JSON array of {"id", "issuer", "client_id", "client_secret_id"?, "scopes"?}"#)
    })?;
    if providers.len() > MAX_PROVIDERS {
        return Err(bad("at most 16 providers"));
    }
    for (i, p) in providers.iter().enumerate() {
        let id_ok = !p.id.is_empty()
            && p.id.len() <= 32
            && p.id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(bad("each id: 1-32 lower-case letters, digits or '-'"));
        }
        if providers[..i].iter().any(|q| q.id == p.id) {
            return Err(bad("each id once"));
        }
        if trusted_base_url(&p.issuer).is_none_or(|base| base != p.issuer) {
            return Err(bad(
                "each issuer: https://host[/path] (http:// on loopback only), no trailing '/', query or fragment",
            ));
        }
        if p.client_id.is_empty() || p.client_id.len() > 256 {
            return Err(bad("each client_id: 1-256 characters"));
        }
        if p.client_secret_id.as_ref().is_some_and(|s| s.is_empty()) {
            return Err(bad("a client_secret_id, when given, is not empty"));
        }
        if !p.scopes.iter().any(|s| s == "openid")
            || p.scopes.iter().any(|s| {
                s.is_empty()
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
            })
        {
            return Err(bad("scopes: words without spaces, openid among them"));
        }
    }
    Ok(providers)
}

/// The origin of an absolute redirect target, if the whole URL is one this service could
/// return to: http(s), a plain host, a path and query of URL characters, no user info, no
/// fragment.
fn redirect_origin(url: &str) -> Option<&str> {
    let clean = url
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/:%?&=+!$'()*,;[]".contains(&b));
    if !clean {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_ok = !authority.is_empty()
        && !authority.starts_with(':')
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    // (Plain http reaches only loopback origins: the allowlist holds no other.)
    if !host_ok {
        return None;
    }
    Some(&url[..scheme.len() + 3 + authority_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)], app_url: Option<&str>) -> Result<Oauth, ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        Oauth::parse(&Env::new(&get), app_url)
    }

    #[test]
    fn providers_are_read_with_their_defaults_and_checked() {
        let o = parse(
            &[(
                "OIDC_PROVIDERS",
                r#"[{"id":"google","issuer":"https://accounts.google.com","client_id":"abc","client_secret_id":"google-secret"},
                    {"id":"dev","issuer":"http://127.0.0.1:9400","client_id":"local","scopes":["openid"]}]"#,
            )],
            Some("https://app.example.com/x"),
        )
        .unwrap();
        assert_eq!(o.providers.len(), 2);
        let google = o.provider("google").unwrap();
        assert_eq!(google.scopes, ["openid", "email", "profile"]);
        assert_eq!(google.client_secret_id.as_deref(), Some("google-secret"));
        assert_eq!(o.provider("dev").unwrap().client_secret_id, None);
        assert!(o.provider("github").is_none());
        assert_eq!(o.api_url, None);
        let with_api = |url: &str| parse(&[("API_URL", url)], None);
        assert_eq!(
            with_api("https://api.example.com/prod/")
                .unwrap()
                .api_url
                .as_deref(),
            Some("https://api.example.com/prod")
        );
        for bad in [
            "http://api.example.com",
            "https://a.example/x?y",
            "ftp://a",
            "https://a/%2e",
        ] {
            let e = with_api(bad).unwrap_err();
            assert!(e.to_string().contains("API_URL"), "{bad}: {e}");
        }
        assert_eq!(o.redirect_allowlist, ["https://app.example.com"]);
        assert_eq!(parse(&[], None).unwrap(), Oauth::default());

        for bad in [
            "{}",
            r#"[{"id":"x","issuer":"https://a.example","client_id":"c","extra":1}]"#,
            r#"[{"id":"X","issuer":"https://a.example","client_id":"c"}]"#,
            r#"[{"id":"x","issuer":"http://a.example","client_id":"c"}]"#,
            r#"[{"id":"x","issuer":"https://a.example/","client_id":"c"}]"#,
            r#"[{"id":"x","issuer":"https://a.example?x=1","client_id":"c"}]"#,
            r#"[{"id":"x","issuer":"https://a.example","client_id":""}]"#,
            r#"[{"id":"x","issuer":"https://a.example","client_id":"c","scopes":["email"]}]"#,
            r#"[{"id":"x","issuer":"https://a.example","client_id":"c","client_secret_id":""}]"#,
            r#"[{"id":"x","issuer":"https://a.example","client_id":"c"},{"id":"x","issuer":"https://b.example","client_id":"c"}]"#,
        ] {
            let e = parse(&[("OIDC_PROVIDERS", bad)], None).unwrap_err();
            assert!(e.to_string().contains("OIDC_PROVIDERS"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_redirect_must_be_on_an_allowed_origin_exactly() {
        let o = parse(
            &[(
                "OAUTH_REDIRECT_ALLOWLIST",
                "https://app.example.com, http://localhost:3000",
            )],
            None,
        )
        .unwrap();
        for yes in [
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/signed-in?next=%2Fhome",
            "http://localhost:3000/demo",
        ] {
            assert!(o.allows_redirect(yes), "{yes}");
        }
        for no in [
            "https://app.example.com.evil.example/",
            "https://evil.example/https://app.example.com",
            "https://app.example.com@evil.example/",
            "https://app.example.com:8443/",
            "http://app.example.com/",
            "https://app.example.com/#frag",
            "https://app.example.com\\@evil.example",
            "//app.example.com/",
            "/relative",
            "javascript:alert(1)//https://app.example.com",
            "http://localhost:3001/",
            "https://app.example.com/ x",
            "https://APP.example.com/",
            "",
        ] {
            assert!(!o.allows_redirect(no), "{no}");
        }
        for bad in [
            "https://app.example.com/path",
            "ftp://x.example",
            "http://app.example.com",
            "https://app.example.com:443",
        ] {
            let e = parse(&[("OAUTH_REDIRECT_ALLOWLIST", bad)], None).unwrap_err();
            assert!(e.to_string().contains("OAUTH_REDIRECT_ALLOWLIST"), "{bad}");
        }
    }
}

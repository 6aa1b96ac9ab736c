//! The SAM template's HTTP API routes, as the dev server matches them.

use hyper::Method;
use shared::http::handlers::Endpoint;
use shared::http::well_known;

/// The routes of the SAM template's HTTP API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Token(Endpoint),
    /// A route of `Endpoint`'s function behind the authorizer, where the function's other
    /// routes are open (the passkeys function's registration).
    Guarded(Endpoint),
    Hello,
    Health,
    /// `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`.
    Discovery,
}

/// Every route of the router ([`Route::find`]), as the template and `openapi.yaml` key them;
/// `*` after a key: behind the authorizer. `scripts/check-template.py` checks the template and
/// the document against this list, and the test below checks the router against it.
pub const ROUTE_KEYS: &[&str] = &[
    "POST /auth/login",
    "POST /auth/register",
    "POST /auth/refresh",
    "POST /auth/logout",
    "POST /auth/password *",
    "GET /auth/sessions *",
    "DELETE /auth/sessions *",
    "DELETE /auth/sessions/{session_id} *",
    "GET /auth/me *",
    "POST /auth/email *",
    "POST /auth/login/mfa",
    "POST /auth/mfa/totp *",
    "DELETE /auth/mfa/totp *",
    "POST /auth/mfa/totp/confirm *",
    "POST /auth/mfa/recovery-codes *",
    "GET /auth/passkeys *",
    "POST /auth/passkeys/register/options *",
    "POST /auth/passkeys/register *",
    "POST /auth/passkeys/login/options",
    "POST /auth/passkeys/login",
    "DELETE /auth/passkeys/{passkey_id} *",
    "GET /auth/oauth/{provider}/start",
    "GET /auth/oauth/{provider}/callback",
    "POST /auth/oauth/{provider}/link *",
    "DELETE /auth/identities/{provider} *",
    "POST /auth/email/verify",
    "POST /auth/password/forgot",
    "POST /auth/password/reset",
    "GET /hello *",
    "GET /health",
    "GET /.well-known/openid-configuration",
    "GET /.well-known/jwks.json",
];

/// The templated paths: a parameter's name, and what comes before and after it (one
/// non-empty segment between).
const TEMPLATES: &[(&str, &str, &str)] = &[
    ("session_id", "/auth/sessions/", ""),
    ("passkey_id", "/auth/passkeys/", ""),
    ("provider", "/auth/identities/", ""),
    ("provider", "/auth/oauth/", "/start"),
    ("provider", "/auth/oauth/", "/callback"),
    ("provider", "/auth/oauth/", "/link"),
];

impl Route {
    pub fn find(method: &Method, path: &str) -> Option<Route> {
        match (method.as_str(), path) {
            ("POST", "/auth/login" | "/auth/login/mfa") => Some(Route::Token(Endpoint::Login)),
            ("POST", "/auth/refresh") => Some(Route::Token(Endpoint::Refresh)),
            ("POST", "/auth/logout") => Some(Route::Token(Endpoint::Logout)),
            ("POST", "/auth/register") => Some(Route::Token(Endpoint::Register)),
            ("GET" | "DELETE", "/auth/sessions")
            | ("POST", "/auth/password" | "/auth/email")
            | ("GET", "/auth/me" | "/auth/passkeys")
            | ("POST", "/auth/mfa/totp" | "/auth/mfa/totp/confirm" | "/auth/mfa/recovery-codes")
            | ("DELETE", "/auth/mfa/totp") => Some(Route::Token(Endpoint::Account)),
            ("POST", "/auth/email/verify" | "/auth/password/forgot" | "/auth/password/reset") => {
                Some(Route::Token(Endpoint::Recovery))
            }
            ("POST", "/auth/passkeys/register/options" | "/auth/passkeys/register") => {
                Some(Route::Guarded(Endpoint::Passkeys))
            }
            ("POST", "/auth/passkeys/login/options" | "/auth/passkeys/login") => {
                Some(Route::Token(Endpoint::Passkeys))
            }
            (method, _) if path_param(path).is_some() => match path_param(path)?.1.as_str() {
                "/auth/oauth/{provider}/start" | "/auth/oauth/{provider}/callback"
                    if method == "GET" =>
                {
                    Some(Route::Token(Endpoint::Oauth))
                }
                "/auth/oauth/{provider}/link" if method == "POST" => {
                    Some(Route::Guarded(Endpoint::Oauth))
                }
                "/auth/identities/{provider}" if method == "DELETE" => {
                    Some(Route::Guarded(Endpoint::Oauth))
                }
                "/auth/sessions/{session_id}" | "/auth/passkeys/{passkey_id}"
                    if method == "DELETE" =>
                {
                    Some(Route::Token(Endpoint::Account))
                }
                _ => None,
            },
            ("GET", "/hello") => Some(Route::Hello),
            ("GET", "/health") => Some(Route::Health),
            ("GET", well_known::DISCOVERY_PATH | well_known::JWKS_PATH) => Some(Route::Discovery),
            _ => None,
        }
    }

    /// Whether API Gateway runs the authorizer first (the template's `Auth` on the route).
    pub fn guarded(&self) -> bool {
        matches!(
            self,
            Route::Hello | Route::Token(Endpoint::Account) | Route::Guarded(_)
        )
    }

    /// The route key as the template declares it (`{session_id}`, `{passkey_id}`,
    /// `{provider}` for the parameter).
    pub(crate) fn key(method: &Method, path: &str) -> String {
        match path_param(path) {
            Some((_, template, _)) => format!("{method} {template}"),
            None => format!("{method} {path}"),
        }
    }
}

/// The one parameter of a templated path (one non-empty segment between a template's prefix
/// and suffix): its name, the templated path, its value.
pub(crate) fn path_param(path: &str) -> Option<(&'static str, String, &str)> {
    TEMPLATES.iter().find_map(|&(name, prefix, suffix)| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .filter(|v| !v.is_empty() && !v.contains('/'))
            .map(|v| (name, format!("{prefix}{{{name}}}{suffix}"), v))
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_router_serves_exactly_the_listed_routes() {
        use super::{Route, ROUTE_KEYS};
        use hyper::Method;
        let methods = [
            Method::GET,
            Method::POST,
            Method::DELETE,
            Method::PUT,
            Method::PATCH,
        ];
        let mut paths: Vec<String> = Vec::new();
        for entry in ROUTE_KEYS {
            let (key, guarded) = match entry.strip_suffix(" *") {
                Some(k) => (k, true),
                None => (*entry, false),
            };
            let (method, path) = key.split_once(' ').unwrap();
            let path = path
                .replace("{session_id}", "0123abcd")
                .replace("{passkey_id}", "cred-AZ_9")
                .replace("{provider}", "dev");
            let route = Route::find(&method.parse().unwrap(), &path)
                .unwrap_or_else(|| panic!("{key} is not routed"));
            assert_eq!(route.guarded(), guarded, "{key}");
            paths.push(path);
        }
        // Nothing else: every other method on those paths, and other paths, is a miss.
        for path in paths.iter().map(String::as_str).chain([
            "/",
            "/auth",
            "/auth/sessions/a/b",
            "/auth/passkeys/a/b",
            "/auth/oauth/dev",
            "/auth/oauth/dev/other",
            "/auth/identities/a/b",
            "/hello/x",
        ]) {
            for method in &methods {
                let key = format!("{method} {path}");
                // As API Gateway matches: a `{parameter}` is any one non-empty segment (so
                // `DELETE /auth/passkeys/register` is `DELETE /auth/passkeys/{passkey_id}`).
                let listed = ROUTE_KEYS.iter().any(|e| {
                    let k = e.trim_end_matches(" *");
                    let (want, got): (Vec<&str>, Vec<&str>) =
                        (k.split('/').collect(), key.split('/').collect());
                    want.len() == got.len()
                        && want.iter().zip(&got).all(|(w, g)| {
                            w == g || (w.starts_with('{') && w.ends_with('}') && !g.is_empty())
                        })
                });
                assert_eq!(Route::find(method, path).is_some(), listed, "{key}");
            }
        }
    }
}

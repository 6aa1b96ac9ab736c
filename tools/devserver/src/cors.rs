//! API Gateway's CORS for HTTP APIs, as the SAM template configures it (`CorsConfiguration`
//! of `HttpApi`): with origins configured, API Gateway answers every preflight itself (an
//! `OPTIONS` request with `Origin` and `Access-Control-Request-Method`, on any path), adds the
//! CORS headers to every response to a request whose `Origin` is allowed, and drops CORS
//! headers an integration returned. A disallowed origin gets the same answers without them, so
//! the browser refuses. No origins configured: no CORS at all (`OPTIONS` is then a 404 route
//! miss, like any other).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

/// The template's `AllowMethods`, `AllowHeaders` and `MaxAge` (a test reads template.yaml).
pub const ALLOW_METHODS: &str = "GET,POST,DELETE,OPTIONS";
pub const ALLOW_HEADERS: &str = "authorization,content-type";
pub const MAX_AGE: &str = "600";

/// The request's `Origin` if it is one of `allowed`.
fn allowed_origin<'a>(headers: &'a HeaderMap, allowed: &[String]) -> Option<&'a HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    allowed.iter().any(|a| a == text).then_some(origin)
}

/// API Gateway's own answer to a preflight, or `None` if this is not one (or CORS is off).
pub fn preflight(
    method: &Method,
    headers: &HeaderMap,
    allowed: &[String],
) -> Option<Response<Full<Bytes>>> {
    if allowed.is_empty()
        || method != Method::OPTIONS
        || !headers.contains_key(header::ORIGIN)
        || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return None;
    }
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    if let Some(origin) = allowed_origin(headers, allowed) {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE),
        );
    }
    Some(resp)
}

/// The CORS headers of an actual response: the integration's dropped, API Gateway's added for
/// an allowed `Origin`.
pub fn decorate(resp: &mut Response<Full<Bytes>>, request: &HeaderMap, allowed: &[String]) {
    if allowed.is_empty() {
        return;
    }
    let h = resp.headers_mut();
    for name in [
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::ACCESS_CONTROL_MAX_AGE,
    ] {
        h.remove(name);
    }
    if let Some(origin) = allowed_origin(request, allowed) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants are what template.yaml's CorsConfiguration says.
    #[test]
    fn the_constants_mirror_the_templates_cors_configuration() {
        let template = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
        )
        .unwrap();
        let line = |key: &str| {
            template
                .lines()
                .find_map(|l| l.trim().strip_prefix(key).map(str::trim))
                .unwrap_or_else(|| panic!("{key} not in template.yaml"))
                .to_string()
        };
        let list = |v: String| {
            v.trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(list(line("AllowMethods:")), ALLOW_METHODS);
        assert_eq!(list(line("AllowHeaders:")), ALLOW_HEADERS);
        assert_eq!(line("MaxAge:"), MAX_AGE);
        assert_eq!(line("AllowCredentials:"), "true");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn preflights_are_answered_with_headers_only_for_allowed_origins() {
        let allowed = vec!["http://localhost:5173".to_string()];
        let ok = headers(&[
            ("origin", "http://localhost:5173"),
            ("access-control-request-method", "POST"),
        ]);
        let resp = preflight(&Method::OPTIONS, &ok, &allowed).unwrap();
        assert_eq!(resp.status(), 204);
        assert_eq!(
            resp.headers()["access-control-allow-origin"],
            "http://localhost:5173"
        );
        assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
        let evil = headers(&[
            ("origin", "http://evil.example"),
            ("access-control-request-method", "POST"),
        ]);
        let resp = preflight(&Method::OPTIONS, &evil, &allowed).unwrap();
        assert_eq!(resp.status(), 204);
        assert!(resp.headers().get("access-control-allow-origin").is_none());
        // Not a preflight, or CORS off: routed like any request.
        assert!(preflight(
            &Method::OPTIONS,
            &headers(&[("origin", "http://localhost:5173")]),
            &allowed
        )
        .is_none());
        assert!(preflight(&Method::POST, &ok, &allowed).is_none());
        assert!(preflight(&Method::OPTIONS, &ok, &[]).is_none());
    }
}

//! The browser client, its demo page and the API description, served by `make dev` only.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{Method, Response};

/// The browser client, its demo page and the API description, served by `make dev` only
/// (nothing in the template): `GET /`, `GET /client/{auth-client,demo}.js`,
/// `GET /client/demo.css`, `GET /openapi.yaml`, compiled in.
pub const DEMO_PAGE: &str = include_str!("../../../clients/web/demo.html");
pub const DEMO_JS: &str = include_str!("../../../clients/web/demo.js");
pub const DEMO_CSS: &str = include_str!("../../../clients/web/demo.css");
pub const AUTH_CLIENT_JS: &str = include_str!("../../../clients/web/auth-client.js");

/// The demo page's policy: its own scripts, styles and API only (no inline script, so an
/// injection runs nothing), never framed (no clickjacking of its buttons), forms nowhere.
pub const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";
/// The API description (`openapi.yaml`), also served by `make dev` at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

pub(crate) fn client_file(method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
    let (body, content_type) = match (method.as_str(), path) {
        ("GET", "/") => (DEMO_PAGE, "text/html; charset=utf-8"),
        ("GET", "/client/auth-client.js") => (AUTH_CLIENT_JS, "text/javascript; charset=utf-8"),
        ("GET", "/client/demo.js") => (DEMO_JS, "text/javascript; charset=utf-8"),
        ("GET", "/client/demo.css") => (DEMO_CSS, "text/css; charset=utf-8"),
        ("GET", "/openapi.yaml") => (OPENAPI_YAML, "application/yaml"),
        _ => return None,
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    let h = resp.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    h.insert(
        hyper::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    h.insert(
        hyper::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path == "/" {
        h.insert(
            hyper::header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEMO_CSP),
        );
        h.insert(
            hyper::header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    Some(resp)
}

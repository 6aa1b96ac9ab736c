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
/// `GET /dev-mail`: what `make dev` has mailed (from `GET /_dev/mail`), links clickable.
pub const MAIL_PAGE: &str = include_str!("../../../clients/web/dev-mail.html");
pub const MAIL_JS: &str = include_str!("../../../clients/web/dev-mail.js");

/// The demo page's policy: its own scripts, styles and API only (no inline script, so an
/// injection runs nothing), never framed (no clickjacking of its buttons), forms nowhere.
pub const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";
/// The API description (`openapi.yaml`), also served by `make dev` at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

pub(crate) fn client_file(method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
    let (body, content_type) = match (method.as_str(), path) {
        // The mailed links open the demo page, which reads the token from the fragment.
        ("GET", "/" | "/verify-email" | "/reset-password") => {
            (DEMO_PAGE, "text/html; charset=utf-8")
        }
        ("GET", "/dev-mail") => (MAIL_PAGE, "text/html; charset=utf-8"),
        ("GET", "/client/dev-mail.js") => (MAIL_JS, "text/javascript; charset=utf-8"),
        ("GET", "/client/auth-client.js") => (AUTH_CLIENT_JS, "text/javascript; charset=utf-8"),
        ("GET", "/client/demo.js") => (DEMO_JS, "text/javascript; charset=utf-8"),
        ("GET", "/client/demo.css") => (DEMO_CSS, "text/css; charset=utf-8"),
        ("GET", "/openapi.yaml") => (OPENAPI_YAML, "application/yaml"),
        _ => return None,
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    let mut headers = vec![
        (hyper::header::CONTENT_TYPE, content_type),
        (hyper::header::CACHE_CONTROL, "no-cache"),
        (hyper::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    if content_type.starts_with("text/html") {
        headers.push((hyper::header::CONTENT_SECURITY_POLICY, DEMO_CSP));
        headers.push((hyper::header::REFERRER_POLICY, "no-referrer"));
    }
    for (name, value) in headers {
        resp.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    Some(resp)
}

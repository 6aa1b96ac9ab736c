//! HTTP glue shared by the login, refresh and logout functions: request parsing with the
//! contract's limits, the one place errors become responses, and the refresh cookie.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::MAX_USERNAME_LEN;
use crate::error::AuthError;
use crate::service::{AuthService, Issued, LoginInput};

pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MAX_DEVICE_ID_CHARS: usize = 128;
pub const REFRESH_COOKIE: &str = "refresh_token";
pub const DEVICE_COOKIE: &str = "device_token";
/// Device tokens considered per login (the body's and a few cookies); more is not a browser.
const MAX_DEVICE_TOKENS: usize = 4;
/// Refresh tokens a logout acts on when several cookies of that name arrive (cookie tossing).
const MAX_LOGOUT_TOKENS: usize = 4;
/// Longest `Cookie` header we read (browsers cap one cookie at 4 KiB; API Gateway caps all
/// headers at 10 KiB). Longer is an invalid request, not something to parse.
pub const MAX_COOKIE_HEADER_BYTES: usize = 8 * 1024;
/// The refresh cookie's attributes; the cleared cookie repeats them so browsers match it.
const COOKIE_ATTRIBUTES: &str = "HttpOnly; Secure; SameSite=Strict; Path=/auth";
/// The device cookie goes to login only.
const DEVICE_COOKIE_ATTRIBUTES: &str = "HttpOnly; Secure; SameSite=Strict; Path=/auth/login";

fn respond(status: StatusCode, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    // Responses carry tokens or say something about them: never cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// A JSON response, serialised with `serde_json::to_string` (not `Display`, which writes
/// through `fmt` a piece at a time), from typed values where a handler has them so no `Value`
/// tree is built only to be printed.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    let body = match serde_json::to_string(value) {
        Ok(body) => body,
        // Unreachable for the types served here (string-keyed, no custom serialisers).
        Err(e) => {
            tracing::error!(error = %e, "response body not serialisable");
            return error_response(&AuthError::Internal);
        }
    };
    let mut resp = respond(status, Body::Text(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The contract's error body, status and `Retry-After`; nothing internal.
pub fn error_response(err: &AuthError) -> Response<Body> {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    #[derive(Serialize)]
    struct ErrorBody {
        error: &'static str,
        error_description: &'static str,
    }
    let mut resp = json_response(
        status,
        &ErrorBody {
            error: err.code(),
            error_description: err.description(),
        },
    );
    if let Some(secs) = err.retry_after() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

pub fn refresh_cookie(token: &str, max_age: u64) -> String {
    format!("{REFRESH_COOKIE}={token}; {COOKIE_ATTRIBUTES}; Max-Age={max_age}")
}

pub fn device_cookie(token: &str, max_age: u64) -> String {
    format!("{DEVICE_COOKIE}={token}; {DEVICE_COOKIE_ATTRIBUTES}; Max-Age={max_age}")
}

pub fn cleared_cookie() -> String {
    format!("{REFRESH_COOKIE}=; {COOKIE_ATTRIBUTES}; Max-Age=0")
}

fn with_cookie(mut resp: Response<Body>, cookie: String) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub fn issued_response(issued: &Issued) -> Response<Body> {
    #[derive(Serialize)]
    struct TokenBody<'a> {
        access_token: &'a str,
        token_type: &'static str,
        expires_in: u64,
        refresh_token: &'a str,
        refresh_expires_in: u64,
        session_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        device_token: Option<&'a str>,
    }
    let body = TokenBody {
        access_token: &issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        refresh_token: &issued.refresh_token,
        refresh_expires_in: issued.refresh_expires_in,
        session_id: &issued.session_id,
        device_token: issued.device_token.as_ref().map(|d| d.token.as_str()),
    };
    let resp = with_cookie(
        json_response(StatusCode::OK, &body),
        refresh_cookie(&issued.refresh_token, issued.refresh_expires_in),
    );
    match &issued.device_token {
        Some(device) => with_cookie(resp, device_cookie(&device.token, device.max_age)),
        None => resp,
    }
}

fn bad(why: &'static str) -> AuthError {
    AuthError::InvalidRequest(why)
}

/// The body as a JSON object; `None` for an empty body.
fn json_object(req: &Request) -> Result<Option<Map<String, Value>>, AuthError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => return Ok(None),
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return Err(bad("The request body could not be read.")),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(bad("The request body is larger than 16 KiB."));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| bad("The request body is not valid UTF-8."))?;
    // serde_json refuses nesting deeper than 128 levels; duplicate keys we refuse ourselves
    // (last-one-wins would let two parsers of one body disagree).
    match serde_json::from_str::<StrictJson>(text) {
        Ok(StrictJson(Value::Object(map))) => Ok(Some(map)),
        Ok(_) => Err(bad("The request body must be a JSON object.")),
        Err(e) if e.to_string().starts_with(DUPLICATE_KEY) => {
            Err(bad("The request body has a duplicate key."))
        }
        Err(_) => Err(bad("The request body is not valid JSON.")),
    }
}

const DUPLICATE_KEY: &str = "duplicate key";

/// A JSON value whose objects (at any depth) have no duplicate keys.
struct StrictJson(Value);

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictJson;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E: Error>(self, v: bool) -> Result<StrictJson, E> {
                Ok(StrictJson(Value::Bool(v)))
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<StrictJson, E> {
                Ok(StrictJson(v.into()))
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<StrictJson, E> {
                Ok(StrictJson(v.into()))
            }
            fn visit_f64<E: Error>(self, v: f64) -> Result<StrictJson, E> {
                Ok(StrictJson(v.into()))
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<StrictJson, E> {
                Ok(StrictJson(Value::String(v.to_string())))
            }
            fn visit_string<E: Error>(self, v: String) -> Result<StrictJson, E> {
                Ok(StrictJson(Value::String(v)))
            }
            fn visit_unit<E: Error>(self) -> Result<StrictJson, E> {
                Ok(StrictJson(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictJson, A::Error> {
                let mut out = Vec::new();
                while let Some(StrictJson(v)) = seq.next_element()? {
                    out.push(v);
                }
                Ok(StrictJson(Value::Array(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictJson, A::Error> {
                let mut out = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let StrictJson(value) = map.next_value()?;
                    if out.insert(key, value).is_some() {
                        return Err(A::Error::custom(DUPLICATE_KEY));
                    }
                }
                Ok(StrictJson(Value::Object(out)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A required string field, non-empty and at most `max` bytes.
fn required_string(
    body: &Map<String, Value>,
    name: &str,
    max: usize,
    why: &'static str,
) -> Result<String, AuthError> {
    match body.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= max => Ok(s.clone()),
        _ => Err(bad(why)),
    }
}

/// The value of one cookie (the first of that name). API Gateway v2 folds the `cookies` array
/// into `Cookie` headers.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    cookies(req, name).into_iter().next()
}

/// Every non-empty value of the cookies called `name`, in the order sent. More than one
/// means another site under the same parent domain may have set one (cookie tossing).
pub fn cookies(req: &Request, name: &str) -> Vec<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn header_str(req: &Request, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The cross-site defences every POST under /auth runs before anything else (login CSRF,
/// forced logout): a browser's `Origin` must be the API's own or an allowed one, a
/// `Sec-Fetch-Site: cross-site` request must come from an allowed origin, and a body must be
/// `application/json`, which a cross-site page can send only after a CORS preflight that the
/// API answers for allowed origins only. Requests without these headers (servers, apps, curl)
/// are not browsers acting for someone else, and pass.
pub fn check_cross_site(req: &Request, allowed: &[String]) -> Result<(), AuthError> {
    let origin = header_str(req, header::ORIGIN);
    let allowed_origin =
        origin.is_some_and(|o| is_own_origin(req, o) || allowed.iter().any(|a| a == o));
    if origin.is_some() && !allowed_origin {
        return Err(AuthError::InvalidOrigin);
    }
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) && !allowed_origin {
        return Err(AuthError::InvalidOrigin);
    }
    let has_body = match req.body() {
        Body::Empty => false,
        Body::Text(t) => !t.is_empty(),
        Body::Binary(b) => !b.is_empty(),
        _ => true,
    };
    if has_body && !is_json_content_type(header_str(req, header::CONTENT_TYPE)) {
        return Err(AuthError::UnsupportedMediaType);
    }
    Ok(())
}

/// `application/json`, with or without parameters (`; charset=utf-8`), in any case.
fn is_json_content_type(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Whether `origin` is the API's own: `https://` and the `Host` the request was sent to (API
/// Gateway sets it to the domain the client used, custom domains included). Plain `http://`
/// only for a loopback host (`make dev`).
fn is_own_origin(req: &Request, origin: &str) -> bool {
    let Some(host) = header_str(req, header::HOST) else {
        return false;
    };
    if origin.strip_prefix("https://") == Some(host) {
        return true;
    }
    let loopback = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|l| host == *l || host.strip_prefix(l).is_some_and(|p| p.starts_with(':')));
    loopback && origin.strip_prefix("http://") == Some(host)
}

fn default_device_id(req: &Request) -> String {
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let cleaned: String = ua
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DEVICE_ID_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "default".to_string()
    } else {
        cleaned.to_string()
    }
}

pub fn parse_login(req: &Request) -> Result<LoginInput, AuthError> {
    let body = json_object(req)?.ok_or(bad("The request body must be a JSON object."))?;
    let username = required_string(
        &body,
        "username",
        MAX_USERNAME_LEN,
        "username must be a non-empty string of at most 128 bytes.",
    )?;
    let password = required_string(
        &body,
        "password",
        MAX_PASSWORD_BYTES,
        "password must be a non-empty string of at most 1024 bytes.",
    )?;
    let device_id = match body.get("device_id") {
        None | Some(Value::Null) => default_device_id(req),
        Some(Value::String(s))
            if !s.is_empty()
                && s.chars().count() <= MAX_DEVICE_ID_CHARS
                && !s.chars().any(char::is_control) =>
        {
            s.clone()
        }
        Some(_) => {
            return Err(bad(
                "device_id must be a non-empty string of at most 128 characters.",
            ))
        }
    };
    // The body's device token first (a client that keeps its own), then the cookies.
    let mut device_tokens = match body.get("device_token") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(_) => return Err(bad("device_token must be a string.")),
    };
    device_tokens.extend(cookies(req, DEVICE_COOKIE));
    device_tokens.truncate(MAX_DEVICE_TOKENS);
    Ok(LoginInput {
        username,
        password,
        device_id,
        device_tokens,
    })
}

/// What refresh and logout read from a request.
struct TokenRequest {
    /// The body's `refresh_token` (wins), or every `refresh_token` cookie: more than one
    /// means a sibling site tossed one in, and only logout may act on them (all of them).
    tokens: Vec<String>,
    /// The body's `all_devices`, `false` unless literally `true`.
    all_devices: bool,
}

fn token_request(req: &Request) -> Result<TokenRequest, AuthError> {
    let cookie_bytes: usize = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .map(|v| v.len())
        .sum();
    if cookie_bytes > MAX_COOKIE_HEADER_BYTES {
        return Err(bad("The Cookie header is larger than 8 KiB."));
    }
    let body = json_object(req)?;
    let field = |name: &str| body.as_ref().and_then(|b| b.get(name));
    let from_body = match field("refresh_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return Err(bad("refresh_token must be a non-empty string.")),
    };
    Ok(TokenRequest {
        tokens: match from_body {
            Some(token) => vec![token],
            None => cookies(req, REFRESH_COOKIE),
        },
        all_devices: field("all_devices")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

pub async fn login(svc: &AuthService, req: Request) -> Response<Body> {
    let result = match check_cross_site(&req, &svc.config().cors_allow_origins)
        .and_then(|()| parse_login(&req))
    {
        Ok(input) => svc.login(input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(issued) => issued_response(&issued),
        Err(e) => error_response(&e),
    }
}

pub async fn refresh(svc: &AuthService, req: Request) -> Response<Body> {
    if let Err(e) = check_cross_site(&req, &svc.config().cors_allow_origins) {
        return error_response(&e);
    }
    let token = match token_request(&req).map(|r| r.tokens) {
        Ok(mut tokens) if tokens.len() == 1 => tokens.remove(0),
        Ok(tokens) if tokens.is_empty() => {
            return error_response(&bad(
                "No refresh token: send the refresh_token cookie or a JSON body {\"refresh_token\": ...}.",
            ))
        }
        // Which one is ours cannot be told: using either could rotate a session planted by
        // another site (logging the user into its account). Nothing is spent.
        Ok(_) => {
            return error_response(&bad(
                "More than one refresh_token cookie was sent; send the token in the body.",
            ))
        }
        Err(e) => return error_response(&e),
    };
    match svc.refresh(&token).await {
        Ok(issued) => issued_response(&issued),
        Err(e @ AuthError::InvalidGrant) => with_cookie(error_response(&e), cleared_cookie()),
        Err(e) => error_response(&e),
    }
}

pub async fn logout(svc: &AuthService, req: Request) -> Response<Body> {
    // A cross-site logout changes nothing, the cookie included.
    if let Err(e) = check_cross_site(&req, &svc.config().cors_allow_origins) {
        return error_response(&e);
    }
    // Always 204 and a cleared cookie, whatever was sent: logout answers no questions.
    let mut request = token_request(&req).unwrap_or(TokenRequest {
        tokens: Vec::new(),
        all_devices: false,
    });
    // Several cookies (one tossed in by a sibling site): end every session they name; the
    // user asked to be logged out, and ending a planted session harms nobody.
    request.tokens.truncate(MAX_LOGOUT_TOKENS);
    let mut result = Ok(());
    for token in &request.tokens {
        if let Err(e) = svc.logout(Some(token), request.all_devices).await {
            result = Err(e);
        }
    }
    let resp = match result {
        Ok(()) => respond(StatusCode::NO_CONTENT, Body::Empty),
        // The session may still be alive: say so rather than pretend.
        Err(e) => error_response(&e),
    };
    with_cookie(resp, cleared_cookie())
}

/// Runs a lambda_http handler on a raw API Gateway event exactly as the Lambda runtime does
/// (event → `http::Request` → handler → API Gateway response JSON, cookies and all).
/// The dev server and the tests use it, so they exercise the deployed code path.
pub async fn invoke<F, Fut>(handler: F, event: Value) -> Result<Value, String>
where
    F: FnMut(Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, lambda_http::Error>> + Send,
{
    use lambda_http::request::LambdaRequest;
    // An HTTP API (payload 2.0) event goes straight into its type. lambda_http's own detection
    // (which the deployed functions run on the event bytes) would print this tree back to JSON
    // and parse it as a REST event first, only to fail: the same request either way.
    let payload = if event.get("version").and_then(Value::as_str) == Some("2.0") {
        serde_json::from_value(event).map(LambdaRequest::ApiGatewayV2)
    } else {
        serde_json::from_value(event)
    }
    .map_err(|e| format!("not an API Gateway event: {e}"))?;
    invoke_request(handler, payload).await
}

/// [`invoke`] with the event already in lambda_http's type (the dev server builds it so).
pub async fn invoke_request<F, Fut>(
    handler: F,
    payload: lambda_http::request::LambdaRequest,
) -> Result<Value, String>
where
    F: FnMut(Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, lambda_http::Error>> + Send,
{
    use lambda_http::tower::Service;
    let mut adapter = lambda_http::Adapter::from(lambda_http::service_fn(handler));
    let response = adapter
        .call(lambda_http::LambdaEvent::new(
            payload,
            lambda_http::Context::default(),
        ))
        .await
        .map_err(|e| format!("handler failed: {e}"))?;
    serde_json::to_value(response).map_err(|e| format!("unserialisable response: {e}"))
}

/// The three token endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Login,
    Refresh,
    Logout,
}

pub async fn handle(svc: &AuthService, endpoint: Endpoint, req: Request) -> Response<Body> {
    match endpoint {
        Endpoint::Login => login(svc, req).await,
        Endpoint::Refresh => refresh(svc, req).await,
        Endpoint::Logout => logout(svc, req).await,
    }
}

/// `main` of the login, refresh and logout functions: config, clients, `run`.
pub async fn run_endpoint(endpoint: Endpoint) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let cfg = crate::config::Config::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
    })?;
    let app = crate::app::App::from_config(cfg);
    // Only the endpoints that sign tokens need the key (logout's role has no secret access).
    if endpoint != Endpoint::Logout {
        app.warm_up().await;
    }
    let svc = app.service.clone();
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let svc = svc.clone();
        async move { Ok::<_, lambda_http::Error>(handle_logged(svc, endpoint, req).await) }
    }))
    .await
}

/// [`handle`] inside a span carrying the request id, with one outcome line (status, latency)
/// and the panic guard. Never logs the request itself.
pub async fn handle_logged(
    svc: std::sync::Arc<AuthService>,
    endpoint: Endpoint,
    req: Request,
) -> Response<Body> {
    use lambda_http::RequestExt;
    use tracing::Instrument;
    let request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let span = tracing::info_span!("request", request_id = %request_id, endpoint = ?endpoint);
    let started = std::time::Instant::now();
    let resp = guarded(async move { handle(&svc, endpoint, req).await })
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::info!(
            status = resp.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request done"
        )
    });
    resp
}

/// Runs a handler future so that a panic becomes a 500 `server_error` with nothing internal
/// in it, instead of an invocation error (which API Gateway would turn into its own 500).
pub async fn guarded<F>(fut: F) -> Response<Body>
where
    F: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    match tokio::spawn(fut).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(panicked = e.is_panic(), "request handler did not complete");
            error_response(&AuthError::Internal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Request {
        let mut req = Request::new(Body::Text(body.to_string()));
        *req.method_mut() = lambda_http::http::Method::POST;
        req
    }

    #[test]
    fn duplicate_keys_deep_nesting_and_bad_utf8_are_invalid_requests() {
        let dup = r#"{"username":"a","password":"x","username":"b"}"#;
        let nested_dup = r#"{"username":"a","password":"x","extra":{"k":1,"k":2}}"#;
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let deep = format!(r#"{{"username":"a","password":"x","d":{deep}}}"#);
        for body in [dup, nested_dup, deep.as_str()] {
            assert!(
                matches!(parse_login(&post(body)), Err(AuthError::InvalidRequest(_))),
                "{body:.60}"
            );
        }
        let mut req = Request::new(Body::Binary(
            b"{\"username\":\"\xff\",\"password\":\"x\"}".to_vec(),
        ));
        *req.method_mut() = lambda_http::http::Method::POST;
        assert_eq!(
            parse_login(&req).err(),
            Some(AuthError::InvalidRequest(
                "The request body is not valid UTF-8."
            ))
        );
        assert!(parse_login(&post(
            r#"{"username":"a","password":"x","n":[1,{"a":null}]}"#
        ))
        .is_ok());
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_500_server_error() {
        let resp = guarded(async {
            if std::hint::black_box(true) {
                panic!("boom: internal detail");
            }
            respond(StatusCode::OK, Body::Empty)
        })
        .await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let Body::Text(text) = resp.body() else {
            panic!("JSON body expected")
        };
        let body: Value = serde_json::from_str(text).unwrap();
        assert_eq!(body["error"], "server_error");
        assert!(!text.contains("boom"));
    }
}

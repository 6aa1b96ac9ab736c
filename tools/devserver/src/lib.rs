//! The local API Gateway: turns each HTTP request into the HTTP API (payload 2.0) event the
//! cloud would send, runs the same handler code the Lambdas run, and turns the Lambda response
//! back into HTTP. Protected routes run the authorizer first, as API Gateway does: no
//! `Authorization` header → 401, authorizer says no → 403, both with API Gateway's bodies.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::LambdaRequest;
use serde_json::{json, Value};
use shared::config::Config;
use shared::error::Chain;
use shared::http::handlers::Api;
use shared::http::handlers::Endpoint;
use shared::http::well_known;
use shared::service::authorizer::{
    Authorizer, AuthorizerRequest, AuthorizerResponse, IdentityContext,
};
use tokio::net::TcpListener;

/// API Gateway's own payload limit is 10 MB; locally 1 MiB is plenty.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The routes of the SAM template's HTTP API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Token(Endpoint),
    Hello,
    Health,
    /// `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`.
    Discovery,
}

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

fn client_file(method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
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
    "GET /hello *",
    "GET /health",
    "GET /.well-known/openid-configuration",
    "GET /.well-known/jwks.json",
];

/// The template's `DELETE /auth/sessions/{session_id}`: the path's one parameter.
const SESSION_PATH: &str = "/auth/sessions/";

impl Route {
    pub fn find(method: &Method, path: &str) -> Option<Route> {
        match (method.as_str(), path) {
            ("POST", "/auth/login") => Some(Route::Token(Endpoint::Login)),
            ("POST", "/auth/refresh") => Some(Route::Token(Endpoint::Refresh)),
            ("POST", "/auth/logout") => Some(Route::Token(Endpoint::Logout)),
            ("POST", "/auth/register") => Some(Route::Token(Endpoint::Register)),
            ("GET" | "DELETE", "/auth/sessions") | ("POST", "/auth/password") => {
                Some(Route::Token(Endpoint::Account))
            }
            ("DELETE", _) if session_param(path).is_some() => Some(Route::Token(Endpoint::Account)),
            ("GET", "/hello") => Some(Route::Hello),
            ("GET", "/health") => Some(Route::Health),
            ("GET", well_known::DISCOVERY_PATH | well_known::JWKS_PATH) => Some(Route::Discovery),
            _ => None,
        }
    }

    /// Whether API Gateway runs the authorizer first (the template's `Auth` on the route).
    pub fn guarded(&self) -> bool {
        matches!(self, Route::Hello | Route::Token(Endpoint::Account))
    }

    /// The route key as the template declares it (`{session_id}` for the parameter).
    fn key(method: &Method, path: &str) -> String {
        match session_param(path) {
            Some(_) => format!("{method} {SESSION_PATH}{{session_id}}"),
            None => format!("{method} {path}"),
        }
    }
}

/// The `{session_id}` segment of `/auth/sessions/{session_id}` (one non-empty segment).
fn session_param(path: &str) -> Option<&str> {
    path.strip_prefix(SESSION_PATH)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

pub struct DevServer {
    pub api: Api,
    /// What the discovery document says (the issuer).
    pub config: Arc<Config>,
    pub authorizer: Arc<Authorizer>,
    pub authorizer_cache: AuthorizerCache,
    /// The verify-only key ring the discovery function serves in an asymmetric mode (the
    /// authorizer's too); `None` in HS256.
    pub public_keys: Option<Arc<shared::crypto::keyring::KeyRing>>,
}

/// API Gateway's authorizer cache, as the SAM template configures it (`ReauthorizeEvery` =
/// `AuthorizerCacheTtl`, default 300 s): an answer, allow or deny, is kept per `Authorization`
/// value for the TTL, and a repeated token does not run the authorizer again. So the dev
/// server shows the deployed behaviour, including its caveat: a cached allow outlives the
/// token's expiry by up to the TTL. `AUTHORIZER_CACHE_TTL=0` turns it off.
pub struct AuthorizerCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<IdentityContext>)>>,
}

impl AuthorizerCache {
    /// Entries beyond this are dropped wholesale (a local server never gets near it).
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        AuthorizerCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn disabled() -> Self {
        Self::new(Duration::ZERO)
    }

    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<IdentityContext>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Some(answer)` while cached: `Some(context)` for an allow, `None` for a deny.
    fn get(&self, authorization: &str) -> Option<Option<IdentityContext>> {
        if self.ttl.is_zero() {
            return None;
        }
        match self.entries().get(authorization) {
            Some((expires, answer)) if Instant::now() < *expires => Some(answer.clone()),
            _ => None,
        }
    }

    /// Keeps `answer` for `authorization` (copies of both, made only when caching is on).
    fn put(&self, authorization: &str, answer: &Option<IdentityContext>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            authorization.to_string(),
            (Instant::now() + self.ttl, answer.clone()),
        );
    }
}

/// API Gateway's own error bodies.
fn gateway_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(
        json!({ "message": message }).to_string(),
    )));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The HTTP API (payload 2.0) event for a request, as API Gateway builds it, in the type the
/// functions' runtime (lambda_http) parses that event's JSON into. Built directly rather than
/// as a JSON tree to be parsed again: the handlers get the same request either way, and that
/// JSON round trip (API Gateway's printing, the runtime's parsing) is not the dev server's to
/// pay on every request. Header names arrive lower-case from hyper, as API Gateway sends them;
/// repeated headers are joined with commas and `Cookie` moves to `cookies`, as API Gateway does.
pub fn v2_request(
    method: &Method,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
    peer: SocketAddr,
) -> ApiGatewayV2httpRequest {
    let mut event_headers = hyper::HeaderMap::with_capacity(headers.keys_len());
    let mut cookies = Vec::new();
    for name in headers.keys() {
        // A JSON event carries strings: values that are not UTF-8 cannot travel.
        let mut values = headers
            .get_all(name)
            .iter()
            .filter_map(|v| Some((v, std::str::from_utf8(v.as_bytes()).ok()?)));
        if name == hyper::header::COOKIE {
            for (_, v) in values {
                cookies.extend(
                    v.split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_string),
                );
            }
            continue;
        }
        let Some((first, _)) = values.next() else {
            continue;
        };
        let value = match values.next() {
            // The usual case: the value as hyper read it (no copy).
            None => first.clone(),
            Some(second) => {
                let mut joined = first.as_bytes().to_vec();
                for (v, _) in std::iter::once(second).chain(values) {
                    joined.push(b',');
                    joined.extend_from_slice(v.as_bytes());
                }
                match HeaderValue::from_bytes(&joined) {
                    Ok(v) => v,
                    Err(_) => continue,
                }
            }
        };
        event_headers.insert(name.clone(), value);
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| std::str::from_utf8(v.as_bytes()).ok())
            .map(str::to_string)
    };
    let time_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let route_key = Route::key(method, path);

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method.clone();
    http.path = Some(path.to_string());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(peer.ip().to_string());
    http.user_agent = Some(text(hyper::header::USER_AGENT).unwrap_or_default());

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.account_id = Some("000000000000".into());
    context.apiid = Some("local".into());
    context.domain_name = Some(text(hyper::header::HOST).unwrap_or_else(|| "127.0.0.1".into()));
    context.domain_prefix = Some("local".into());
    context.http = http;
    context.request_id = Some(uuid::Uuid::new_v4().to_string());
    context.route_key = Some(route_key.clone());
    context.stage = Some("$default".into());
    context.time_epoch = time_epoch;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route_key);
    event.raw_path = Some(path.to_string());
    if let Some(id) = session_param(path) {
        event.path_parameters = HashMap::from([("session_id".to_string(), id.to_string())]);
    }
    event.raw_query_string = Some(query.to_string());
    event.headers = event_headers;
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.request_context = context;
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event.body = Some(text.to_string()),
            Err(_) => {
                event.body = Some(STANDARD.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }
    event
}

/// The HTTP response API Gateway makes of a Lambda's payload 2.0 response.
pub fn http_response(lambda: &Value) -> Response<Full<Bytes>> {
    let status = lambda["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match lambda["body"].as_str() {
        Some(b) if lambda["isBase64Encoded"].as_bool() == Some(true) => {
            STANDARD.decode(b).unwrap_or_default()
        }
        Some(b) => b.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Some(headers) = lambda["headers"].as_object() {
        for (name, value) in headers {
            if let (Ok(n), Some(Ok(v))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                resp.headers_mut().append(n, v);
            }
        }
    }
    for cookie in lambda["cookies"].as_array().into_iter().flatten() {
        if let Some(Ok(v)) = cookie.as_str().map(HeaderValue::from_str) {
            resp.headers_mut().append(hyper::header::SET_COOKIE, v);
        }
    }
    resp
}

impl DevServer {
    /// Runs one request through the gateway emulation, CORS ([`cors`]) included.
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let allowed = &self.config.cors_allow_origins;
        if let Some(resp) = cors::preflight(req.method(), req.headers(), allowed) {
            return resp;
        }
        let request_headers = req.headers().clone();
        let mut resp = self.route(req, peer).await;
        cors::decorate(&mut resp, &request_headers, allowed);
        resp
    }

    async fn route(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        if let Some(resp) = client_file(req.method(), req.uri().path()) {
            return resp;
        }
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_string();
        let Some(route) = Route::find(&parts.method, &path) else {
            return gateway_error(StatusCode::NOT_FOUND, "Not Found");
        };
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
            }
        };
        let mut event = v2_request(
            &parts.method,
            &path,
            parts.uri.query().unwrap_or(""),
            &parts.headers,
            &body,
            peer,
        );
        if route.guarded() {
            // Identity source: the Authorization header. Missing → API Gateway answers 401
            // without calling the authorizer.
            let Some(authorization) = event
                .headers
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            else {
                return gateway_error(StatusCode::UNAUTHORIZED, "Unauthorized");
            };
            let answer = match self.authorizer_cache.get(authorization) {
                Some(cached) => cached,
                None => {
                    // The authorizer gets what it reads of API Gateway's REQUEST event (its
                    // lean `AuthorizerRequest`), built directly: printing and re-parsing that
                    // event is API Gateway's work in production, and the authorizer's parsing
                    // of the real event JSON is tested and benchmarked on its own.
                    let request = AuthorizerRequest {
                        version: Some("2.0".into()),
                        kind: Some("REQUEST".into()),
                        authorization_header: Some(authorization.to_string()),
                        ..AuthorizerRequest::default()
                    };
                    let answer = match self.authorizer.handle(&request).await {
                        Ok(AuthorizerResponse::Simple {
                            is_authorized: true,
                            context: Some(context),
                        }) => Some(context),
                        Ok(_) => None,
                        Err(_) => {
                            return gateway_error(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "Internal Server Error",
                            )
                        }
                    };
                    self.authorizer_cache.put(authorization, &answer);
                    answer
                }
            };
            let Some(identity) = answer else {
                return gateway_error(StatusCode::FORBIDDEN, "Forbidden");
            };
            // `requestContext.authorizer.lambda`: the context the authorizer returned.
            let mut authorizer = ApiGatewayRequestAuthorizer::default();
            authorizer.fields = identity
                .into_pairs()
                .into_iter()
                .map(|(name, value)| (name.to_string(), Value::String(value)))
                .collect();
            event.request_context.authorizer = Some(authorizer);
        }
        let api = self.api.clone();
        let config = self.config.clone();
        let public_keys = self.public_keys.clone();
        let result = shared::http::runtime::invoke_request(
            move |req| {
                let api = api.clone();
                let config = config.clone();
                let public_keys = public_keys.clone();
                async move {
                    Ok::<_, lambda_http::Error>(
                        shared::http::runtime::guarded(async move {
                            match route {
                                Route::Token(endpoint) => {
                                    shared::http::handlers::handle(&api, endpoint, req).await
                                }
                                Route::Hello | Route::Health => shared::http::hello::route(&req),
                                Route::Discovery => {
                                    well_known::route(&req, &config, public_keys.as_deref()).await
                                }
                            }
                        })
                        .await,
                    )
                }
            },
            LambdaRequest::ApiGatewayV2(event),
        )
        .await;
        match result {
            Ok(lambda) => http_response(&lambda),
            Err(e) => {
                tracing::error!(error = %Chain(&e), "handler failed");
                gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}

/// The access log line, `GET /hello 200 0.4ms`, formatted first and written to stderr in one
/// `write` (`eprintln!` on unbuffered stderr made a system call per piece: nine per request,
/// the dev server's largest cost under load after the sockets).
fn access_log(method: &Method, path: &str, status: StatusCode, elapsed: Duration) {
    use std::io::Write;
    let line = access_log_line(method, path, status, elapsed);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn access_log_line(method: &Method, path: &str, status: StatusCode, elapsed: Duration) -> String {
    let tenths = elapsed.as_micros() / 100;
    format!(
        "{method} {path} {} {}.{}ms\n",
        status.as_u16(),
        tenths / 10,
        tenths % 10
    )
}

/// Serves until `shutdown` resolves; in-flight requests are finished first.
pub async fn serve(
    listener: TcpListener,
    server: Arc<DevServer>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let tasks = connections::Tasks::default();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let server = server.clone();
                tasks.spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let server = server.clone();
                        async move {
                            let started = Instant::now();
                            let (method, path) = (req.method().clone(), req.uri().path().to_string());
                            let resp = server.handle(req, peer).await;
                            // One line per request; never the query string, headers or body.
                            access_log(&method, &path, resp.status(), started.elapsed());
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
    tasks.wait().await;
}

/// A tiny join set for connection tasks (so shutdown waits for in-flight requests).
pub mod cors;

mod connections {
    use std::sync::Mutex;
    use tokio::task::JoinSet;

    #[derive(Default)]
    pub struct Tasks(Mutex<JoinSet<()>>);

    impl Tasks {
        pub fn spawn(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
            let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
            while set.try_join_next().is_some() {}
            set.spawn(fut);
        }

        pub async fn wait(self) {
            let mut set = self.0.into_inner().unwrap_or_else(|p| p.into_inner());
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                while set.join_next().await.is_some() {}
            })
            .await;
        }
    }
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
            let path = path.replace("{session_id}", "0123abcd");
            let route = Route::find(&method.parse().unwrap(), &path)
                .unwrap_or_else(|| panic!("{key} is not routed"));
            assert_eq!(route.guarded(), guarded, "{key}");
            paths.push(path);
        }
        // Nothing else: every other method on those paths, and other paths, is a miss.
        for path in
            paths
                .iter()
                .map(String::as_str)
                .chain(["/", "/auth", "/auth/sessions/a/b", "/hello/x"])
        {
            for method in &methods {
                let key = format!("{method} {path}");
                let listed = ROUTE_KEYS.iter().any(|e| {
                    let k = e.trim_end_matches(" *").replace("{session_id}", "0123abcd");
                    k == key
                });
                assert_eq!(Route::find(method, path).is_some(), listed, "{key}");
            }
        }
    }

    use super::*;

    #[test]
    fn access_log_line_has_method_path_status_and_milliseconds() {
        let line = |micros| {
            access_log_line(
                &Method::POST,
                "/auth/login",
                StatusCode::UNAUTHORIZED,
                Duration::from_micros(micros),
            )
        };
        assert_eq!(line(0), "POST /auth/login 401 0.0ms\n");
        assert_eq!(line(48_260), "POST /auth/login 401 48.2ms\n");
        assert_eq!(line(1_234_567), "POST /auth/login 401 1234.5ms\n");
    }

    #[test]
    fn v2_request_joins_repeated_headers_and_moves_cookies_as_api_gateway_does() {
        let mut headers = hyper::HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        headers.append("x-forwarded-for", HeaderValue::from_static(""));
        headers.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        headers.append("accept", HeaderValue::from_static("application/json"));
        headers.append("cookie", HeaderValue::from_static("a=1; b=2"));
        headers.append("cookie", HeaderValue::from_static("c=3"));
        headers.append("x-latin1", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        headers.append("user-agent", HeaderValue::from_static("curl/8"));
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let event = v2_request(&Method::GET, "/hello", "x=1", &headers, b"\xff\x00", peer);
        // What the functions see is what they would parse from the event's JSON.
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["version"], "2.0");
        assert_eq!(json["headers"]["x-forwarded-for"], "10.0.0.1,,10.0.0.2");
        assert_eq!(json["headers"]["accept"], "application/json");
        assert!(json["headers"].get("cookie").is_none());
        assert!(json["headers"].get("x-latin1").is_none());
        assert_eq!(json["cookies"], json!(["a=1", "b=2", "c=3"]));
        assert_eq!(json["routeKey"], "GET /hello");
        assert_eq!(json["rawPath"], "/hello");
        assert_eq!(json["rawQueryString"], "x=1");
        assert_eq!(json["body"], "/wA=");
        assert_eq!(json["isBase64Encoded"], true);
        let context = &json["requestContext"];
        assert_eq!(context["routeKey"], "GET /hello");
        assert_eq!(context["stage"], "$default");
        assert_eq!(context["http"]["method"], "GET");
        assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(context["http"]["userAgent"], "curl/8");
        assert!(context["timeEpoch"].as_i64().unwrap() > 1_700_000_000_000);
        assert_eq!(context["requestId"].as_str().unwrap().len(), 36);
    }
}

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
use serde_json::{json, Map, Value};
use shared::authorizer::{Authorizer, AuthorizerRequest, AuthorizerResponse};
use shared::http::Endpoint;
use shared::service::AuthService;
use tokio::net::TcpListener;

/// API Gateway's own payload limit is 10 MB; locally 1 MiB is plenty.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The routes of the SAM template's HTTP API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Token(Endpoint),
    Hello,
    Health,
}

impl Route {
    pub fn find(method: &Method, path: &str) -> Option<Route> {
        match (method.as_str(), path) {
            ("POST", "/auth/login") => Some(Route::Token(Endpoint::Login)),
            ("POST", "/auth/refresh") => Some(Route::Token(Endpoint::Refresh)),
            ("POST", "/auth/logout") => Some(Route::Token(Endpoint::Logout)),
            ("GET", "/hello") => Some(Route::Hello),
            ("GET", "/health") => Some(Route::Health),
            _ => None,
        }
    }

    fn key(method: &Method, path: &str) -> String {
        format!("{method} {path}")
    }
}

pub struct DevServer {
    pub service: Arc<AuthService>,
    pub authorizer: Arc<Authorizer>,
    pub authorizer_cache: AuthorizerCache,
}

/// API Gateway's authorizer cache, as the SAM template configures it (`ReauthorizeEvery` =
/// `AuthorizerCacheTtl`, default 300 s): an answer, allow or deny, is kept per `Authorization`
/// value for the TTL, and a repeated token does not run the authorizer again. So the dev
/// server shows the deployed behaviour, including its caveat: a cached allow outlives the
/// token's expiry by up to the TTL. `AUTHORIZER_CACHE_TTL=0` turns it off.
pub struct AuthorizerCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<Value>)>>,
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

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<Value>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Some(answer)` while cached: `Some(context)` for an allow, `None` for a deny.
    fn get(&self, authorization: &str) -> Option<Option<Value>> {
        if self.ttl.is_zero() {
            return None;
        }
        match self.entries().get(authorization) {
            Some((expires, answer)) if Instant::now() < *expires => Some(answer.clone()),
            _ => None,
        }
    }

    fn put(&self, authorization: String, answer: Option<Value>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(authorization, (Instant::now() + self.ttl, answer));
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

/// The HTTP API v2 event for a request, as API Gateway builds it.
pub fn v2_event(
    method: &Method,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
    peer: SocketAddr,
) -> Value {
    let mut hmap = Map::new();
    let mut cookies = Vec::new();
    for name in headers.keys() {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == hyper::header::COOKIE {
            // HTTP API moves cookies into the `cookies` array.
            for v in values {
                cookies.extend(
                    v.split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(|c| Value::String(c.to_string())),
                );
            }
            continue;
        }
        hmap.insert(name.as_str().to_string(), Value::String(values.join(",")));
    }
    let user_agent = headers
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let route_key = Route::key(method, path);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": hmap,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": "local",
            "http": {
                "method": method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": user_agent,
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "timeEpoch": now,
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event["body"] = Value::String(text.to_string()),
            Err(_) => {
                event["body"] = Value::String(STANDARD.encode(body));
                event["isBase64Encoded"] = Value::Bool(true);
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
    /// Runs one request through the gateway emulation.
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
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
        let mut event = v2_event(
            &parts.method,
            &path,
            parts.uri.query().unwrap_or(""),
            &parts.headers,
            &body,
            peer,
        );
        if route == Route::Hello {
            // Identity source: the Authorization header. Missing → API Gateway answers 401
            // without calling the authorizer.
            let Some(authorization) = event["headers"]["authorization"]
                .as_str()
                .map(str::to_string)
            else {
                return gateway_error(StatusCode::UNAUTHORIZED, "Unauthorized");
            };
            let answer = match self.authorizer_cache.get(&authorization) {
                Some(cached) => cached,
                None => {
                    // The authorizer gets what it reads of API Gateway's REQUEST event (its
                    // lean `AuthorizerRequest`), built directly rather than cloned from this
                    // event and re-parsed: that JSON round trip is API Gateway's work in
                    // production, and the authorizer's parsing of the real event JSON is
                    // tested on its own.
                    let request = AuthorizerRequest {
                        version: Some("2.0".into()),
                        kind: Some("REQUEST".into()),
                        authorization_header: Some(authorization.clone()),
                        ..AuthorizerRequest::default()
                    };
                    let answer = match self.authorizer.handle(&request).await {
                        Ok(AuthorizerResponse::Simple {
                            is_authorized: true,
                            context: Some(context),
                        }) => Some(json!(context)),
                        Ok(_) => None,
                        Err(_) => {
                            return gateway_error(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "Internal Server Error",
                            )
                        }
                    };
                    self.authorizer_cache.put(authorization, answer.clone());
                    answer
                }
            };
            match answer {
                Some(context) => {
                    event["requestContext"]["authorizer"] = json!({ "lambda": context });
                }
                None => return gateway_error(StatusCode::FORBIDDEN, "Forbidden"),
            }
        }
        let svc = self.service.clone();
        let result = shared::http::invoke(
            move |req| {
                let svc = svc.clone();
                async move {
                    Ok::<_, lambda_http::Error>(
                        shared::http::guarded(async move {
                            match route {
                                Route::Token(endpoint) => {
                                    shared::http::handle(&svc, endpoint, req).await
                                }
                                Route::Hello | Route::Health => shared::hello::route(&req),
                            }
                        })
                        .await,
                    )
                }
            },
            event,
        )
        .await;
        match result {
            Ok(lambda) => http_response(&lambda),
            Err(e) => {
                tracing::error!(error = %e, "handler failed");
                gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
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
                            eprintln!(
                                "{method} {path} {} {:.1}ms",
                                resp.status().as_u16(),
                                started.elapsed().as_secs_f64() * 1000.0
                            );
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

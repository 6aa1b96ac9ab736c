//! The server: routes, runs the authorizer before protected routes, invokes the handlers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::ApiGatewayRequestAuthorizer;
use lambda_http::request::LambdaRequest;
use serde_json::Value;
use shared::config::Config;
use shared::error::Chain;
use shared::http::authorizer_event::{AuthorizerRequest, AuthorizerResponse};
use shared::http::handlers::Api;
use shared::http::well_known;
use shared::service::authorizer::Authorizer;
use tokio::net::TcpListener;

use crate::*;

pub struct DevServer {
    pub api: Api,
    /// What the discovery document says (the issuer).
    pub config: Arc<Config>,
    pub authorizer: Arc<Authorizer>,
    pub authorizer_cache: AuthorizerCache,
    /// The verify-only key ring the discovery function serves in an asymmetric mode (the
    /// authorizer's too); `None` in HS256.
    pub public_keys: Option<Arc<shared::crypto::keyring::KeyRing>>,
    /// Where the functions' mail goes (`GET /_dev/mail` lists it); `None`: mail is off.
    pub outbox: Option<Arc<shared::adapters::outbox::Outbox>>,
}

impl DevServer {
    /// Runs one request through the gateway emulation, CORS ([`cors`]) included.
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let allowed = &self.config.cors.allow_origins;
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
        if req.method() == Method::GET && req.uri().path() == "/_dev/mail" {
            let messages = self
                .outbox
                .as_ref()
                .map(|o| o.messages())
                .unwrap_or_default();
            return json_reply(&serde_json::json!({ "messages": messages }));
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
                                Route::Token(endpoint) | Route::Guarded(endpoint) => {
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

/// 200 with a JSON body (the dev server's own `/_dev/…` routes).
fn json_reply(value: &Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(value.to_string())));
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    resp
}

/// The access log line, `GET /hello 200 0.4ms`, formatted first and written to stderr in one
/// `write` (`eprintln!` on unbuffered stderr made a system call per piece: nine per request,
/// the dev server's largest cost under load after the sockets).
pub(crate) fn access_log(method: &Method, path: &str, status: StatusCode, elapsed: Duration) {
    use std::io::Write;
    let line = access_log_line(method, path, status, elapsed);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub(crate) fn access_log_line(
    method: &Method,
    path: &str,
    status: StatusCode,
    elapsed: Duration,
) -> String {
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
}

//! The Lambda glue: running a handler on an API Gateway event exactly as the runtime does,
//! one log line per request, and the panic guard.

use lambda_http::{Body, Request, Response};
use serde_json::Value;

use crate::error::{AuthError, Cause};

use super::handlers::{handle, Api, Endpoint};
use super::response::error_response;

/// Why [`invoke`] produced no API Gateway response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("not an API Gateway event")]
    NotAnEvent(#[source] serde_json::Error),
    #[error("the handler failed")]
    Handler(#[source] lambda_http::Error),
    #[error("the response could not be serialised")]
    Response(#[source] serde_json::Error),
}

/// Runs a lambda_http handler on a raw API Gateway event exactly as the Lambda runtime does
/// (event → `http::Request` → handler → API Gateway response JSON, cookies and all).
/// The dev server and the tests use it, so they exercise the deployed code path.
pub async fn invoke<F, Fut>(handler: F, event: Value) -> Result<Value, InvokeError>
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
    .map_err(InvokeError::NotAnEvent)?;
    invoke_request(handler, payload).await
}

/// [`invoke`] with the event already in lambda_http's type (the dev server builds it so).
pub async fn invoke_request<F, Fut>(
    handler: F,
    payload: lambda_http::request::LambdaRequest,
) -> Result<Value, InvokeError>
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
        .map_err(InvokeError::Handler)?;
    serde_json::to_value(response).map_err(InvokeError::Response)
}

/// [`handle`] inside a span carrying the request id, with one outcome line (status, latency)
/// and the panic guard. Never logs the request itself.
pub async fn handle_logged(api: Api, endpoint: Endpoint, req: Request) -> Response<Body> {
    handle_logged_with(api, endpoint, req, move |api, req| async move {
        handle(&api, endpoint, req).await
    })
    .await
}

/// [`handle_logged`] with the handler given: a function's own, so its binary links nothing else.
pub async fn handle_logged_with<F, Fut>(
    api: Api,
    endpoint: Endpoint,
    req: Request,
    handler: F,
) -> Response<Body>
where
    F: FnOnce(Api, Request) -> Fut,
    Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    use lambda_http::RequestExt;
    use tracing::Instrument;
    let request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let span = tracing::info_span!("request", request_id = %request_id, endpoint = ?endpoint);
    let started = std::time::Instant::now();
    let resp = guarded(crate::telemetry::with_request_id(
        request_id,
        handler(api, req),
    ))
    .instrument(span.clone())
    .await;
    span.in_scope(|| {
        tracing::info!(
            status = resp.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request done"
        )
    });
    // This invocation's counters, as EMF log lines (a no-op where no recorder is installed).
    crate::telemetry::flush_metrics();
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
            // A panic's payload is not printed: it may hold request data.
            let why = if e.is_panic() {
                "the request handler panicked"
            } else {
                "the request handler was cancelled"
            };
            error_response(&AuthError::Internal(Cause::msg(why)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response::respond;
    use lambda_http::http::StatusCode;

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
        let body: Value = serde_json::from_str(text.as_str()).unwrap();
        assert_eq!(body["error"], "server_error");
        assert!(!text.contains("boom"));
    }
}

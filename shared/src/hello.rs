//! The demo function: `GET /hello` (protected: echoes the identity the authorizer passed on;
//! API Gateway only invokes it after the authorizer allowed the request) and `GET /health`
//! (unguarded liveness check, also the load test's baseline route).

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};

use crate::error::AuthError;
use crate::http::{error_response, json_response};

/// `{"sub", "username", "roles": [...], "session_id"}` from the HTTP API authorizer context.
pub fn hello(req: &Request) -> Response<Body> {
    let fields = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().map(|a| &a.fields),
        Some(RequestContext::ApiGatewayV1(ctx)) => Some(&ctx.authorizer.fields),
        _ => None,
    };
    let text = |name: &str| {
        fields
            .and_then(|f| f.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (Some(sub), Some(username), Some(session_id)) =
        (text("sub"), text("username"), text("session_id"))
    else {
        // Only reachable if the route was deployed without the authorizer.
        tracing::error!("hello invoked without an authorizer context");
        return error_response(&AuthError::Internal);
    };
    let roles: Vec<String> = text("roles")
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    json_response(
        StatusCode::OK,
        &json!({ "sub": sub, "username": username, "roles": roles, "session_id": session_id }),
    )
}

/// `GET /health`: `{"status": "ok"}`, no authorizer.
pub fn health() -> Response<Body> {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

/// The hello function's router (one Lambda serves both routes).
pub fn route(req: &Request) -> Response<Body> {
    match req.uri().path() {
        "/health" => health(),
        _ => hello(req),
    }
}

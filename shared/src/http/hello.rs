//! The demo function: `GET /hello` (protected: echoes the identity the authorizer passed on;
//! API Gateway only invokes it after the authorizer allowed the request) and `GET /health`
//! (unguarded liveness check, also the load test's baseline route).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::request::authorizer_text;
use super::response::{error_response, json_response};
use crate::error::AuthError;

/// `{"sub", "username", "roles": [...], "session_id"}` from the HTTP API authorizer context.
pub fn hello(req: &Request) -> Response<Body> {
    #[derive(Serialize)]
    struct Identity<'a> {
        sub: &'a str,
        username: &'a str,
        roles: Vec<&'a str>,
        session_id: &'a str,
    }
    let text = |name: &str| authorizer_text(req, name);
    let (Some(sub), Some(username), Some(session_id)) =
        (text("sub"), text("username"), text("session_id"))
    else {
        // Only reachable if the route was deployed without the authorizer.
        tracing::error!("hello invoked without an authorizer context");
        return error_response(&AuthError::Internal);
    };
    let roles = text("roles")
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .collect();
    json_response(
        StatusCode::OK,
        &Identity {
            sub,
            username,
            roles,
            session_id,
        },
    )
}

/// `GET /health`: `{"status": "ok"}`, no authorizer.
pub fn health() -> Response<Body> {
    #[derive(Serialize)]
    struct Health {
        status: &'static str,
    }
    json_response(StatusCode::OK, &Health { status: "ok" })
}

/// The hello function's router (one Lambda serves both routes).
pub fn route(req: &Request) -> Response<Body> {
    match req.uri().path() {
        "/health" => health(),
        _ => hello(req),
    }
}

//! The demo function: `GET /hello` (protected: echoes the identity the authorizer passed on;
//! API Gateway only invokes it after the authorizer allowed the request) and `GET /health`
//! (unguarded liveness check, also the load test's baseline route).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::request::{authorizer_text, jwt_claim};
use super::response::{error_response, json_response};
use crate::error::{AuthError, Cause};

/// `{"sub", "username", "roles": [...], "session_id"}` from the HTTP API authorizer context:
/// the Lambda authorizer's, or the claims of API Gateway's JWT authorizer
/// (`ProtectedRoutesAuthorizer: jwt`).
pub fn hello(req: &Request) -> Response<Body> {
    #[derive(Serialize)]
    struct Identity<'a> {
        sub: &'a str,
        username: &'a str,
        roles: Vec<&'a str>,
        session_id: &'a str,
    }
    let text = |name: &str| authorizer_text(req, name);
    let jwt = |name: &str| jwt_claim(req, name);
    let (sub, username, session_id, roles) = match (text("sub"), jwt("sub")) {
        (Some(sub), _) => (
            Some(sub),
            text("username"),
            text("session_id"),
            text("roles")
                .unwrap_or_default()
                .split(',')
                .collect::<Vec<_>>(),
        ),
        (None, Some(sub)) => (
            Some(sub),
            jwt("username"),
            jwt("sid"),
            jwt("roles")
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(' ')
                .collect(),
        ),
        (None, None) => (None, None, None, Vec::new()),
    };
    let (Some(sub), Some(username), Some(session_id)) = (sub, username, session_id) else {
        // Only reachable if the route was deployed without an authorizer.
        return error_response(&AuthError::Internal(Cause::msg(
            "hello invoked without an authorizer context",
        )));
    };
    let roles = roles.into_iter().filter(|r| !r.is_empty()).collect();
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

//! Writing responses: JSON bodies, the one place errors become responses, and the cookies.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::domain::rfc3339;
use crate::error::{AuthError, Chain};
use crate::service::accounts::SessionView;
use crate::service::Issued;

pub const REFRESH_COOKIE: &str = "refresh_token";
pub const DEVICE_COOKIE: &str = "device_token";
/// The refresh cookie's attributes; the cleared cookie repeats them so browsers match it.
const COOKIE_ATTRIBUTES: &str = "HttpOnly; Secure; SameSite=Strict; Path=/auth";
/// The device cookie goes to login only.
const DEVICE_COOKIE_ATTRIBUTES: &str = "HttpOnly; Secure; SameSite=Strict; Path=/auth/login";

pub(super) fn respond(status: StatusCode, body: Body) -> Response<Body> {
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
            tracing::error!(error = %Chain(&e), "response body not serialisable");
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

pub(super) fn with_cookie(mut resp: Response<Body>, cookie: String) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// 200 (login, refresh) or 201 (sign-up) with the tokens, the refresh cookie and, from login
/// and sign-up, the device cookie.
pub fn issued_response(status: StatusCode, issued: &Issued) -> Response<Body> {
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
        json_response(status, &body),
        refresh_cookie(&issued.refresh_token, issued.refresh_expires_in),
    );
    match &issued.device_token {
        Some(device) => with_cookie(resp, device_cookie(&device.token, device.max_age)),
        None => resp,
    }
}

/// 204 No Content.
pub fn no_content() -> Response<Body> {
    respond(StatusCode::NO_CONTENT, Body::Empty)
}

/// `GET /auth/sessions`: `{"sessions": [...]}`, times in RFC 3339 UTC.
pub fn sessions_response(sessions: &[SessionView]) -> Response<Body> {
    #[derive(Serialize)]
    struct Item<'a> {
        session_id: &'a str,
        device_id: &'a str,
        created_at: String,
        last_used_at: String,
        expires_at: String,
        current: bool,
    }
    #[derive(Serialize)]
    struct Sessions<'a> {
        sessions: Vec<Item<'a>>,
    }
    let sessions = sessions
        .iter()
        .map(|v| Item {
            session_id: &v.session.session_id,
            device_id: &v.session.device_id,
            created_at: rfc3339(v.session.created_at_ms / 1000),
            last_used_at: rfc3339(v.session.last_used_at),
            expires_at: rfc3339(v.session.expires_at),
            current: v.current,
        })
        .collect();
    json_response(StatusCode::OK, &Sessions { sessions })
}

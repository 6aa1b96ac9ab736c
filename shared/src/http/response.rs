//! Writing responses: JSON bodies, the one place errors become responses, and the cookies.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::config::CookiePolicy;
use crate::domain::rfc3339;
use crate::error::{AuthError, Chain, KeyError, StoreError};
use crate::service::accounts::SessionView;
use crate::service::Issued;

pub const REFRESH_COOKIE: &str = "refresh_token";
pub const DEVICE_COOKIE: &str = "device_token";
/// The refresh cookie goes to every `/auth` route; the cleared cookie repeats its attributes
/// so browsers match it.
const REFRESH_COOKIE_PATH: &str = "/auth";
/// The device cookie goes to login only.
const DEVICE_COOKIE_PATH: &str = "/auth/login";

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
        Err(e) => return error_response(&AuthError::internal(e)),
    };
    let mut resp = respond(status, Body::Text(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// One line for a 503 or 500, with the whole cause (`what failed: why: root cause`) and what
/// it was: a backing store (`backing_store_unavailable`, counted), the signing key, or else.
fn log_cause(err: &AuthError) {
    let Some(cause) = err.cause() else {
        return;
    };
    let error = Chain(err);
    match err {
        AuthError::Unavailable { .. } if cause.downcast_ref::<StoreError>().is_some() => {
            crate::telemetry::count(crate::telemetry::Metric::BackingStoreUnavailable);
            tracing::error!(event = "backing_store_unavailable", %error, "backing store failed");
        }
        AuthError::Unavailable { .. } if cause.downcast_ref::<KeyError>().is_some() => {
            tracing::error!(%error, "signing key unavailable");
        }
        AuthError::Unavailable { .. } => tracing::warn!(%error, "temporarily unavailable"),
        _ => tracing::error!(%error, "internal error"),
    }
}

/// The contract's error body, status and `Retry-After`; nothing internal. The one place a
/// failure's cause is logged: a 503 or 500 writes its whole chain here, once.
pub fn error_response(err: &AuthError) -> Response<Body> {
    log_cause(err);
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    #[derive(Serialize)]
    struct ErrorBody<'a> {
        error: &'static str,
        error_description: &'static str,
        /// `mfa_required` only: the pending login's token and its lifetime.
        #[serde(skip_serializing_if = "Option::is_none")]
        mfa_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_in: Option<u64>,
    }
    let pending = match err {
        AuthError::MfaRequired(pending) => Some(pending),
        _ => None,
    };
    let mut resp = json_response(
        status,
        &ErrorBody {
            error: err.code(),
            error_description: err.description(),
            mfa_token: pending.map(|p| p.mfa_token.as_str()),
            expires_in: pending.map(|p| p.expires_in),
        },
    );
    if let Some(secs) = err.retry_after() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// `name=value; HttpOnly; Secure; SameSite=…; Path=…; [Domain=…;] Max-Age=…`, in the
/// contract's order (written by hand rather than by the `cookie` crate, whose fixed order puts
/// `SameSite` before `Secure`). Always `HttpOnly` (no script reads a token) and `Secure`.
/// Values are this service's own base64url tokens and the domain a validated host name
/// (`config`), so nothing needs escaping.
fn cookie(policy: &CookiePolicy, name: &str, value: &str, path: &str, max_age: u64) -> String {
    let same_site = policy.same_site.as_str();
    match &policy.domain {
        Some(domain) => format!(
            "{name}={value}; HttpOnly; Secure; SameSite={same_site}; Path={path}; Domain={domain}; Max-Age={max_age}"
        ),
        None => format!(
            "{name}={value}; HttpOnly; Secure; SameSite={same_site}; Path={path}; Max-Age={max_age}"
        ),
    }
}

pub fn refresh_cookie(policy: &CookiePolicy, token: &str, max_age: u64) -> String {
    cookie(policy, REFRESH_COOKIE, token, REFRESH_COOKIE_PATH, max_age)
}

pub fn device_cookie(policy: &CookiePolicy, token: &str, max_age: u64) -> String {
    cookie(policy, DEVICE_COOKIE, token, DEVICE_COOKIE_PATH, max_age)
}

pub fn cleared_cookie(policy: &CookiePolicy) -> String {
    cookie(policy, REFRESH_COOKIE, "", REFRESH_COOKIE_PATH, 0)
}

pub(super) fn with_cookie(mut resp: Response<Body>, cookie: String) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// 200 (login, refresh) or 201 (sign-up) with the tokens, the refresh cookie and, from login
/// and sign-up, the device cookie.
pub fn issued_response(
    status: StatusCode,
    issued: &Issued,
    policy: &CookiePolicy,
) -> Response<Body> {
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
        refresh_cookie(policy, &issued.refresh_token, issued.refresh_expires_in),
    );
    match &issued.device_token {
        Some(device) => with_cookie(resp, device_cookie(policy, &device.token, device.max_age)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CookieSameSite;

    #[test]
    fn cookies_carry_the_configured_samesite_and_domain() {
        let strict = CookiePolicy::default();
        assert_eq!(
            refresh_cookie(&strict, "t0", 60),
            "refresh_token=t0; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=60"
        );
        let cross = CookiePolicy {
            same_site: CookieSameSite::None,
            domain: Some("example.com".into()),
        };
        let c = device_cookie(&cross, "d0", 5);
        for part in [
            "device_token=d0",
            "HttpOnly",
            "Secure",
            "SameSite=None",
            "Path=/auth/login",
            "Domain=example.com",
            "Max-Age=5",
        ] {
            assert!(c.split("; ").any(|p| p == part), "{part} in {c}");
        }
        let cleared = cleared_cookie(&cross);
        assert!(cleared.starts_with("refresh_token=;"), "{cleared}");
        for part in [
            "SameSite=None",
            "Domain=example.com",
            "Path=/auth",
            "Max-Age=0",
        ] {
            assert!(
                cleared.split("; ").any(|p| p == part),
                "{part} in {cleared}"
            );
        }
        let lax = CookiePolicy {
            same_site: CookieSameSite::Lax,
            domain: None,
        };
        assert!(refresh_cookie(&lax, "t", 1).contains("SameSite=Lax"));
        assert!(!refresh_cookie(&lax, "t", 1).contains("Domain"));
    }
}

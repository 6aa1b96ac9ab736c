//! The token routes, no authorizer in front: `POST /auth/login`, `/auth/register`,
//! `/auth/refresh`, `/auth/logout`: each request's body, its handler, and its answer.

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};

use crate::domain::{MAX_PASSWORD_BYTES, MAX_USERNAME_LEN};
use crate::error::AuthError;
use crate::http::handlers::Api;
use crate::http::request::{
    bad, check_cross_site, cookies, email_field, json_body, json_object, new_password,
    required_string, MAX_COOKIE_HEADER_BYTES, MAX_DEVICE_ID_CHARS,
};
use crate::http::response::{
    cleared_cookie, error_response, issued_response, respond, with_cookie, DEVICE_COOKIE,
    REFRESH_COOKIE,
};
use crate::service::accounts::RegisterInput;
use crate::service::LoginInput;

/// Device tokens considered per login (the body's and a few cookies); more is not a browser.
const MAX_DEVICE_TOKENS: usize = 4;

/// Refresh tokens a logout acts on when several cookies of that name arrive (cookie tossing).
const MAX_LOGOUT_TOKENS: usize = 4;

/// `POST /auth/login`, and its second step `POST /auth/login/mfa` ([`super::mfa`]).
pub async fn login(api: Api, req: Request) -> Response<Body> {
    if req.uri().path() == "/auth/login/mfa" {
        return super::mfa::login_mfa(&api, &req).await;
    }
    let result = match check_cross_site(&req, &api.allowed_origins).and_then(|()| parse_login(&req))
    {
        Ok(input) => api.service.login(input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(issued) => issued_response(StatusCode::OK, &issued, &api.cookies),
        Err(e) => error_response(&e),
    }
}

pub async fn refresh(api: Api, req: Request) -> Response<Body> {
    if let Err(e) = check_cross_site(&req, &api.allowed_origins) {
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
    match api.service.refresh(&token).await {
        Ok(issued) => issued_response(StatusCode::OK, &issued, &api.cookies),
        Err(e @ AuthError::InvalidGrant) => {
            with_cookie(error_response(&e), cleared_cookie(&api.cookies))
        }
        Err(e) => error_response(&e),
    }
}

pub async fn logout(api: Api, req: Request) -> Response<Body> {
    // A cross-site logout changes nothing, the cookie included.
    if let Err(e) = check_cross_site(&req, &api.allowed_origins) {
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
        if let Err(e) = api.service.logout(Some(token), request.all_devices).await {
            result = Err(e);
        }
    }
    let resp = match result {
        Ok(()) => respond(StatusCode::NO_CONTENT, Body::Empty),
        // The session may still be alive: say so rather than pretend.
        Err(e) => error_response(&e),
    };
    with_cookie(resp, cleared_cookie(&api.cookies))
}

/// `POST /auth/register` (no authorizer).
pub async fn register(api: Api, req: Request) -> Response<Body> {
    // Off: 403 whatever the body says (nothing about it is looked at).
    let enabled = || match api.service.signup_enabled() {
        true => Ok(()),
        false => Err(AuthError::SignupDisabled),
    };
    let result = match check_cross_site(&req, &api.allowed_origins)
        .and_then(|()| enabled())
        .and_then(|()| parse_register(&req))
    {
        Ok(input) => api.service.register(input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(issued) => issued_response(StatusCode::CREATED, &issued, &api.cookies),
        Err(e) => error_response(&e),
    }
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

/// The body's `username`: a non-empty string of at most 128 bytes (its syntax is the
/// service's to judge).
fn username_field(body: &Map<String, Value>) -> Result<String, AuthError> {
    required_string(
        body,
        "username",
        MAX_USERNAME_LEN,
        "username must be a non-empty string of at most 128 bytes.",
    )
}

pub fn parse_login(req: &Request) -> Result<LoginInput, AuthError> {
    let body = json_body(req)?;
    let username = username_field(&body)?;
    let password = required_string(
        &body,
        "password",
        MAX_PASSWORD_BYTES,
        "password must be a non-empty string of at most 1024 bytes.",
    )?;
    let device_id = device_id(&body, req)?;
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
        password: password.into(),
        device_id,
        device_tokens,
    })
}

/// The body's `device_id`, or one derived from the `User-Agent`.
pub(crate) fn device_id(body: &Map<String, Value>, req: &Request) -> Result<String, AuthError> {
    match body.get("device_id") {
        None | Some(Value::Null) => Ok(default_device_id(req)),
        Some(Value::String(s))
            if !s.is_empty()
                && s.chars().count() <= MAX_DEVICE_ID_CHARS
                && !s.chars().any(char::is_control) =>
        {
            Ok(s.clone())
        }
        Some(_) => Err(bad(
            "device_id must be a non-empty string of at most 128 characters.",
        )),
    }
}

/// `POST /auth/register`: `{"username", "password", "device_id"?, "email"?}`.
pub fn parse_register(req: &Request) -> Result<RegisterInput, AuthError> {
    let body = json_body(req)?;
    let username = username_field(&body)?;
    let password = new_password(&body, "password", "password must be a non-empty string.")?;
    Ok(RegisterInput {
        username,
        password,
        device_id: device_id(&body, req)?,
        email: email_field(&body, "email")?,
    })
}

/// What refresh and logout read from a request.
struct TokenRequest {
    /// The body's `refresh_token` (wins), or every `refresh_token` cookie: more than one
    /// means a sibling site tossed one in, and only logout may act on them (all of them).
    pub tokens: Vec<String>,
    /// The body's `all_devices`, `false` unless literally `true`.
    pub all_devices: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

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
}

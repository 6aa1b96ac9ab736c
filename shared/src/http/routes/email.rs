//! A way back in: `GET /auth/me` and `POST /auth/email` (behind the authorizer, served by the
//! account function) and the public `POST /auth/email/verify`, `POST /auth/password/forgot`,
//! `POST /auth/password/reset` (the recovery function).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Serialize;

use crate::domain::{rfc3339, Email, User};
use crate::error::AuthError;
use crate::http::handlers::Api;
use crate::http::request::{
    bad, check_cross_site, current_password, email_field, json_body, new_password, required_string,
};
use crate::http::response::{error_response, json_response, no_content};
use crate::service::accounts::Caller;

/// Longest mailed token worth reading (ours are 43 characters).
const MAX_TOKEN_BYTES: usize = 512;

/// The public recovery routes: verify, forgot, reset.
pub async fn recovery(api: Api, req: Request) -> Response<Body> {
    if let Err(e) = check_cross_site(&req, &api.allowed_origins) {
        return error_response(&e);
    }
    let service = &api.service;
    let result = match req.uri().path() {
        "/auth/email/verify" => match token_field(&req) {
            Ok((token, _)) => service.verify_email(&token).await.map(|()| no_content()),
            Err(e) => Err(e),
        },
        "/auth/password/forgot" => match forgot_body(&req) {
            Ok(email) => service.forgot_password(email).await.map(|()| accepted()),
            Err(e) => Err(e),
        },
        "/auth/password/reset" => match token_field(&req) {
            Ok((token, Some(new))) => service
                .reset_password(&token, new)
                .await
                .map(|()| no_content()),
            Ok((_, None)) => Err(bad("new_password must be a non-empty string.")),
            Err(e) => Err(e),
        },
        _ => Err(AuthError::NotFound),
    };
    result.unwrap_or_else(|e| error_response(&e))
}

/// 202 `{}`.
pub fn accepted() -> Response<Body> {
    json_response(StatusCode::ACCEPTED, &serde_json::json!({}))
}

/// `{"token", "new_password"?}`: the token, and the new password when the body has one.
fn token_field(req: &Request) -> Result<(String, Option<SecretString>), AuthError> {
    let body = json_body(req)?;
    let token = required_string(
        &body,
        "token",
        MAX_TOKEN_BYTES,
        "token must be a non-empty string.",
    )?;
    let new = match body.get("new_password") {
        None => None,
        Some(_) => Some(new_password(
            &body,
            "new_password",
            "new_password must be a non-empty string.",
        )?),
    };
    Ok((token, new))
}

/// `{"email"}` of `forgot`.
fn forgot_body(req: &Request) -> Result<Email, AuthError> {
    let body = json_body(req)?;
    email_field(&body, "email")?.ok_or(bad(
        "email must be an address like name@example.com (at most 254 bytes).",
    ))
}

/// `POST /auth/email`: `{"email", "current_password"}`.
pub fn parse_email_change(req: &Request) -> Result<(Email, SecretString), AuthError> {
    let body = json_body(req)?;
    let email = email_field(&body, "email")?.ok_or(bad(
        "email must be an address like name@example.com (at most 254 bytes).",
    ))?;
    Ok((email, current_password(&body)?))
}

/// `POST /auth/email` for the account function.
pub async fn change_email(api: &Api, caller: &Caller, req: &Request) -> Response<Body> {
    let result =
        match check_cross_site(req, &api.allowed_origins).and_then(|()| parse_email_change(req)) {
            Ok((email, current)) => {
                api.service
                    .request_email_change(caller, email, current)
                    .await
            }
            Err(e) => Err(e),
        };
    match result {
        Ok(()) => accepted(),
        Err(e) => error_response(&e),
    }
}

/// `GET /auth/me` for the account function.
pub async fn me(api: &Api, caller: &Caller) -> Response<Body> {
    match api.service.me(caller).await {
        Ok(user) => profile_response(&user),
        Err(e) => error_response(&e),
    }
}

/// The profile of `GET /auth/me`.
pub fn profile_response(user: &User) -> Response<Body> {
    #[derive(Serialize)]
    struct Mfa {
        totp: bool,
        passkeys: u32,
        recovery_codes_left: u32,
    }
    #[derive(Serialize)]
    struct Profile<'a> {
        sub: &'a str,
        username: &'a str,
        email: Option<&'a str>,
        email_verified: bool,
        roles: &'a [String],
        created_at: String,
        mfa: Mfa,
        identities: Vec<Linked<'a>>,
    }
    #[derive(Serialize)]
    struct Linked<'a> {
        provider: &'a str,
        linked_at: String,
    }
    json_response(
        StatusCode::OK,
        &Profile {
            sub: &user.user_id,
            username: user.username.as_str(),
            email: user.email.as_ref().map(Email::as_str),
            email_verified: user.email.is_some() && user.email_verified,
            roles: &user.roles,
            created_at: rfc3339(user.created_at),
            mfa: Mfa {
                totp: user.totp.enabled(),
                passkeys: u32::try_from(user.passkeys.len()).unwrap_or(u32::MAX),
                recovery_codes_left: match user.totp.enabled() {
                    true => u32::try_from(user.totp.recovery_codes.len()).unwrap_or(u32::MAX),
                    false => 0,
                },
            },
            identities: user
                .identities
                .iter()
                .map(|i| Linked {
                    provider: &i.provider,
                    linked_at: rfc3339(i.linked_at),
                })
                .collect(),
        },
    )
}

//! The second factor's routes: `POST /auth/login/mfa` (the login function, no authorizer) and,
//! behind the authorizer (the account function), `POST|DELETE /auth/mfa/totp`,
//! `POST /auth/mfa/totp/confirm`, `POST /auth/mfa/recovery-codes`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::SecondFactor;
use crate::error::AuthError;
use crate::http::handlers::Api;
use crate::http::request::{bad, check_cross_site, current_password, json_body, required_string};
use crate::http::response::{error_response, issued_response, json_response, no_content};
use crate::service::accounts::Caller;
use crate::service::mfa::{MfaLoginInput, RecoveryCodes};

/// Longest code worth reading (a TOTP code is 6 digits, a recovery code 19 characters).
const MAX_CODE_BYTES: usize = 64;
/// Longest `mfa_token` worth reading (ours are 43 characters).
const MAX_MFA_TOKEN_BYTES: usize = 512;

/// `POST /auth/login/mfa`: `{"mfa_token", "code"}` or `{"mfa_token", "recovery_code"}`.
pub async fn login_mfa(api: &Api, req: &Request) -> Response<Body> {
    let result = match check_cross_site(req, &api.allowed_origins).and_then(|()| parse_login(req)) {
        Ok(input) => api.service.login_mfa(input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(issued) => issued_response(StatusCode::OK, &issued, &api.cookies),
        Err(e) => error_response(&e),
    }
}

fn parse_login(req: &Request) -> Result<MfaLoginInput, AuthError> {
    let body = json_body(req)?;
    let mfa_token = required_string(
        &body,
        "mfa_token",
        MAX_MFA_TOKEN_BYTES,
        "mfa_token must be the non-empty string the login answered with.",
    )?;
    let factor = match (body.get("code"), body.get("recovery_code")) {
        (Some(_), None) => SecondFactor::Totp(code_field(&body, "code")?),
        (None, Some(_)) => SecondFactor::Recovery(code_field(&body, "recovery_code")?),
        _ => {
            return Err(bad(
                "Send exactly one of code (the authenticator's 6 digits) and recovery_code.",
            ))
        }
    };
    Ok(MfaLoginInput { mfa_token, factor })
}

/// A code field: a non-empty string of at most 64 bytes (right or wrong is the service's to
/// judge, and a wrong one is a failed login, not a malformed request).
fn code_field(body: &Map<String, Value>, name: &str) -> Result<String, AuthError> {
    required_string(
        body,
        name,
        MAX_CODE_BYTES,
        "The code must be a non-empty string of at most 64 bytes.",
    )
}

/// A TOTP code (six digits, spaces ignored) or else a recovery code.
fn any_factor(code: String) -> SecondFactor {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        SecondFactor::Totp(digits)
    } else {
        SecondFactor::Recovery(code)
    }
}

/// The `/auth/mfa/...` routes of the account function (the caller already resolved).
pub async fn mfa_routes(api: &Api, caller: &Caller, req: &Request) -> Response<Body> {
    if let Err(e) = check_cross_site(req, &api.allowed_origins) {
        return error_response(&e);
    }
    let service = &api.service;
    let result = async {
        let body = json_body(req)?;
        match (req.method().as_str(), req.uri().path()) {
            ("POST", "/auth/mfa/totp") => {
                let enrolment = service.begin_totp(caller, current_password(&body)?).await?;
                #[derive(Serialize)]
                struct Enrolment<'a> {
                    secret: &'a str,
                    otpauth_uri: &'a str,
                }
                Ok(json_response(
                    StatusCode::OK,
                    &Enrolment {
                        secret: enrolment.secret.expose_secret(),
                        otpauth_uri: enrolment.otpauth_uri.expose_secret(),
                    },
                ))
            }
            ("POST", "/auth/mfa/totp/confirm") => {
                let code = code_field(&body, "code")?;
                Ok(codes_response(service.confirm_totp(caller, &code).await?))
            }
            ("DELETE", "/auth/mfa/totp") => {
                let current = current_password(&body)?;
                let factor = any_factor(code_field(&body, "code")?);
                service.disable_totp(caller, current, factor).await?;
                Ok(no_content())
            }
            ("POST", "/auth/mfa/recovery-codes") => {
                let code = code_field(&body, "code")?;
                Ok(codes_response(
                    service.regenerate_recovery_codes(caller, code).await?,
                ))
            }
            _ => Err(AuthError::NotFound),
        }
    }
    .await;
    result.unwrap_or_else(|e| error_response(&e))
}

/// 200 `{"recovery_codes": [...]}`.
fn codes_response(codes: RecoveryCodes) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &serde_json::json!({ "recovery_codes": codes.0 }),
    )
}

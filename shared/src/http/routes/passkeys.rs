//! The passkey routes. The passkeys function (the only one linking a WebAuthn crate):
//! `POST /auth/passkeys/register/options` and `POST /auth/passkeys/register` behind the
//! authorizer, `POST /auth/passkeys/login/options` and `POST /auth/passkeys/login` open. The
//! account function: `GET /auth/passkeys`, `DELETE /auth/passkeys/{passkey_id}`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};

use crate::domain::MAX_PASSKEY_NAME;
use crate::error::{AuthError, Cause};
use crate::http::handlers::Api;
use crate::http::request::{bad, check_cross_site, json_body, required_string};
use crate::http::response::{error_response, issued_response, json_response};
use crate::service::passkeys::{CeremonyOptions, PasskeyLoginInput, PasskeyRegistration};

/// Longest `challenge_id` worth reading (ours are 22 characters).
const MAX_CHALLENGE_ID_BYTES: usize = 64;

/// The passkeys function's four routes.
pub async fn passkeys(api: Api, req: Request) -> Response<Body> {
    let result = match check_cross_site(&req, &api.allowed_origins) {
        Err(e) => Err(e),
        Ok(()) => match req.uri().path() {
            "/auth/passkeys/login/options" => api
                .service
                .passkey_login_options()
                .await
                .map(|o| options_response(&o)),
            "/auth/passkeys/login" => match parse_login(&req) {
                Ok(input) => match api.service.login_with_passkey(input).await {
                    Ok(issued) => Ok(issued_response(StatusCode::OK, &issued, &api.cookies)),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            path => register(&api, &req, path).await,
        },
    };
    result.unwrap_or_else(|e| error_response(&e))
}

/// The two registration routes: the caller is the authorizer's, never the body's.
async fn register(api: &Api, req: &Request, path: &str) -> Result<Response<Body>, AuthError> {
    let caller = super::account::caller(req).ok_or_else(|| {
        // Only reachable if a route was deployed without the authorizer.
        AuthError::Internal(Cause::msg(
            "passkey registration invoked without an authorizer context",
        ))
    })?;
    match path {
        "/auth/passkeys/register/options" => api
            .service
            .passkey_registration_options(&caller)
            .await
            .map(|o| options_response(&o)),
        "/auth/passkeys/register" => {
            let input = parse_registration(req)?;
            let passkey = api.service.register_passkey(&caller, input).await?;
            Ok(json_response(
                StatusCode::CREATED,
                &serde_json::json!({
                    "passkey_id": passkey.credential_id,
                    "name": passkey.name,
                    "created_at": crate::domain::rfc3339(passkey.created_at),
                }),
            ))
        }
        _ => Err(AuthError::NotFound),
    }
}

fn options_response(o: &CeremonyOptions) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &serde_json::json!({ "challenge_id": o.challenge_id, "publicKey": o.public_key }),
    )
}

/// `challenge_id` and `credential` (a JSON object: `PublicKeyCredential.toJSON()`).
fn ceremony_fields(body: &Map<String, Value>) -> Result<(String, Vec<u8>), AuthError> {
    let challenge_id = required_string(
        body,
        "challenge_id",
        MAX_CHALLENGE_ID_BYTES,
        "challenge_id must be the string the options call answered with.",
    )?;
    let credential = match body.get("credential") {
        Some(c @ Value::Object(_)) => serde_json::to_vec(c)
            .map_err(|_| bad("credential must be the PublicKeyCredential's JSON form."))?,
        _ => {
            return Err(bad(
                "credential must be the PublicKeyCredential's JSON form (toJSON()).",
            ))
        }
    };
    Ok((challenge_id, credential))
}

fn parse_login(req: &Request) -> Result<PasskeyLoginInput, AuthError> {
    let body = json_body(req)?;
    let (challenge_id, credential) = ceremony_fields(&body)?;
    Ok(PasskeyLoginInput {
        challenge_id,
        credential,
        device_id: super::token::device_id(&body, req)?,
    })
}

fn parse_registration(req: &Request) -> Result<PasskeyRegistration, AuthError> {
    let body = json_body(req)?;
    let (challenge_id, credential) = ceremony_fields(&body)?;
    let name = match body.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if !s.trim().is_empty()
                && s.trim().chars().count() <= MAX_PASSKEY_NAME
                && !s.chars().any(char::is_control) =>
        {
            Some(s.trim().to_string())
        }
        Some(_) => {
            return Err(bad(
                "name must be a non-empty string of at most 64 characters.",
            ))
        }
    };
    Ok(PasskeyRegistration {
        challenge_id,
        credential,
        name,
    })
}

/// The template's `DELETE /auth/passkeys/{passkey_id}`.
pub const PASSKEY_PATH: &str = "/auth/passkeys/";

/// The `{passkey_id}` of `DELETE /auth/passkeys/{passkey_id}`: a credential id as base64url
/// (WebAuthn caps credential ids at 1023 bytes: 1364 characters).
pub fn passkey_id_param(req: &Request) -> Option<String> {
    use lambda_http::RequestExt;
    let id = match req
        .path_parameters_ref()
        .and_then(|p| p.first("passkey_id"))
    {
        Some(id) => id.to_string(),
        None => req.uri().path().strip_prefix(PASSKEY_PATH)?.to_string(),
    };
    let valid = !id.is_empty()
        && id.len() <= 1364
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(id)
}

/// `GET /auth/passkeys`: `{"passkeys": [{"passkey_id", "name", "created_at", "last_used_at"}]}`.
pub(super) fn passkeys_response(passkeys: &[crate::domain::Passkey]) -> Response<Body> {
    use crate::domain::rfc3339;
    let passkeys: Vec<serde_json::Value> = passkeys
        .iter()
        .map(|p| {
            serde_json::json!({
                "passkey_id": p.credential_id,
                "name": p.name,
                "created_at": rfc3339(p.created_at),
                "last_used_at": p.last_used_at.map(rfc3339),
            })
        })
        .collect();
    json_response(StatusCode::OK, &serde_json::json!({ "passkeys": passkeys }))
}

//! The account routes, behind the authorizer: `GET|DELETE /auth/sessions`,
//! `DELETE /auth/sessions/{session_id}`, `POST /auth/password` (and `GET /auth/me`,
//! `POST /auth/email`, whose handlers are in [`super::email`]). The caller is who the
//! authorizer says it is, never anything in the body.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;

use crate::domain::Username;
use crate::error::{AuthError, Cause};
use crate::http::handlers::Api;
use crate::http::request::{
    authorizer_text, check_cross_site, current_password, json_body, new_password,
};
use crate::http::response::{error_response, no_content, sessions_response};
use crate::service::accounts::Caller;

use super::passkeys::{passkey_id_param, PASSKEY_PATH};

/// The self-service routes, all behind the authorizer: `GET /auth/sessions`,
/// `DELETE /auth/sessions`, `DELETE /auth/sessions/{session_id}`, `POST /auth/password`.
pub async fn account(api: Api, req: Request) -> Response<Body> {
    let Some(caller) = caller(&req) else {
        // Only reachable if a route was deployed without the authorizer.
        return error_response(&AuthError::Internal(Cause::msg(
            "account route invoked without an authorizer context",
        )));
    };
    let path = req.uri().path();
    let result = match (req.method().as_str(), path) {
        ("GET", "/auth/sessions") => match api.service.sessions_of(&caller).await {
            Ok(sessions) => return sessions_response(&sessions),
            Err(e) => Err(e),
        },
        ("DELETE", "/auth/sessions") => api.service.revoke_other_sessions(&caller).await.map(drop),
        ("GET", "/auth/me") => return super::email::me(&api, &caller).await,
        ("POST", "/auth/email") => return super::email::change_email(&api, &caller, &req).await,
        ("GET", "/auth/passkeys") => match api.service.passkeys_of(&caller).await {
            Ok(passkeys) => return super::passkeys::passkeys_response(&passkeys),
            Err(e) => Err(e),
        },
        ("DELETE", p) if p.starts_with(PASSKEY_PATH) => match passkey_id_param(&req) {
            Some(id) => api.service.remove_passkey(&caller, &id).await,
            None => Err(AuthError::PasskeyNotFound),
        },
        (_, p) if p.starts_with("/auth/mfa/") => {
            return super::mfa::mfa_routes(&api, &caller, &req).await
        }
        ("DELETE", _) => match session_id_param(&req) {
            Some(id) => api.service.revoke_own_session(&caller, &id).await,
            None => Err(AuthError::NotFound),
        },
        ("POST", "/auth/password") => {
            match check_cross_site(&req, &api.allowed_origins)
                .and_then(|()| parse_password_change(&req))
            {
                Ok((current, new)) => api.service.change_password(&caller, current, new).await,
                Err(e) => Err(e),
            }
        }
        _ => Err(AuthError::NotFound),
    };
    match result {
        Ok(()) => no_content(),
        Err(e) => error_response(&e),
    }
}

/// Who is calling a route behind the authorizer: the `sub`, `username` and `session_id` of
/// the authorizer's context (HTTP API or REST). `None` only if the route was deployed
/// without the authorizer.
pub fn caller(req: &Request) -> Option<Caller> {
    let text = |name: &str| authorizer_text(req, name);
    Some(Caller {
        user_id: text("sub")?.to_string(),
        username: Username::parse(text("username")?).ok()?,
        session_id: text("session_id")?.to_string(),
    })
}

/// The `{session_id}` of `DELETE /auth/sessions/{session_id}`: API Gateway's path parameter,
/// or the last path segment (the dev server's events carry only the path).
pub fn session_id_param(req: &Request) -> Option<String> {
    use lambda_http::RequestExt;
    let id = match req
        .path_parameters_ref()
        .and_then(|p| p.first("session_id"))
    {
        Some(id) => id.to_string(),
        None => req
            .uri()
            .path()
            .strip_prefix("/auth/sessions/")?
            .to_string(),
    };
    let valid = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then_some(id)
}

/// `POST /auth/password`: `{"current_password", "new_password"}`.
pub fn parse_password_change(req: &Request) -> Result<(SecretString, SecretString), AuthError> {
    let body = json_body(req)?;
    let current = current_password(&body)?;
    let new = new_password(
        &body,
        "new_password",
        "new_password must be a non-empty string.",
    )?;
    Ok((current, new))
}

//! The token endpoints: parse, call [`AuthService`], map the result. Nothing else.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use std::sync::Arc;

use crate::error::AuthError;
use crate::service::AuthService;

use super::request::{
    bad, caller, check_cross_site, parse_login, parse_password_change, parse_register,
    session_id_param, token_request, TokenRequest,
};
use crate::config::CookiePolicy;

use super::response::{
    cleared_cookie, error_response, issued_response, no_content, respond, sessions_response,
    with_cookie,
};

/// What the token endpoints need: the service, and the origins a browser may call from
/// (`CORS_ALLOW_ORIGIN`) besides the API's own.
#[derive(Clone)]
pub struct Api {
    pub service: Arc<AuthService>,
    pub allowed_origins: Arc<[String]>,
    /// `COOKIE_SAMESITE`, `COOKIE_DOMAIN`.
    pub cookies: Arc<CookiePolicy>,
}

impl Api {
    pub fn new(service: Arc<AuthService>, allowed_origins: &[String]) -> Api {
        Api {
            service,
            allowed_origins: allowed_origins.into(),
            cookies: Arc::new(CookiePolicy::default()),
        }
    }

    /// The cookies' `SameSite` and `Domain` (default: `Strict`, host-only).
    pub fn with_cookies(mut self, policy: CookiePolicy) -> Api {
        self.cookies = Arc::new(policy);
        self
    }
}

/// Refresh tokens a logout acts on when several cookies of that name arrive (cookie tossing).
const MAX_LOGOUT_TOKENS: usize = 4;

pub async fn login(api: Api, req: Request) -> Response<Body> {
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

/// The self-service routes, all behind the authorizer: `GET /auth/sessions`,
/// `DELETE /auth/sessions`, `DELETE /auth/sessions/{session_id}`, `POST /auth/password`.
pub async fn account(api: Api, req: Request) -> Response<Body> {
    let Some(caller) = caller(&req) else {
        // Only reachable if a route was deployed without the authorizer.
        tracing::error!("account route invoked without an authorizer context");
        return error_response(&AuthError::Internal);
    };
    let path = req.uri().path();
    let result = match (req.method().as_str(), path) {
        ("GET", "/auth/sessions") => match api.service.sessions_of(&caller).await {
            Ok(sessions) => return sessions_response(&sessions),
            Err(e) => Err(e),
        },
        ("DELETE", "/auth/sessions") => api.service.revoke_other_sessions(&caller).await.map(drop),
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

/// The token endpoints and the account routes, one Lambda function each. Each handler takes
/// the [`Api`] by value (two `Arc`s) so that it is a plain `fn(Api, Request) -> Future`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Login,
    Refresh,
    Logout,
    Register,
    Account,
}

impl Endpoint {
    /// Whether the function signs tokens, so loads the signing key at start-up (logout's and
    /// the account function's roles cannot read the secret at all).
    pub fn signs(self) -> bool {
        matches!(
            self,
            Endpoint::Login | Endpoint::Refresh | Endpoint::Register
        )
    }
}

/// Any endpoint by name (the dev server and the tests). A function's `main` passes its own
/// handler to [`crate::app::run_endpoint`] instead, so its binary links only that handler's
/// code (sign-up's password estimator, with its dictionaries, stays out of login's).
pub async fn handle(api: &Api, endpoint: Endpoint, req: Request) -> Response<Body> {
    match endpoint {
        Endpoint::Login => login(api.clone(), req).await,
        Endpoint::Refresh => refresh(api.clone(), req).await,
        Endpoint::Logout => logout(api.clone(), req).await,
        Endpoint::Register => register(api.clone(), req).await,
        Endpoint::Account => account(api.clone(), req).await,
    }
}

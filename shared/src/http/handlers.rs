//! What every route handler gets ([`Api`]), which function serves which routes ([`Endpoint`]),
//! and the dispatch by endpoint the dev server and the tests use. The handlers themselves are
//! one module per route group in [`super::routes`].

use lambda_http::{Body, Request, Response};

use std::sync::Arc;

use crate::service::AuthService;

pub use super::routes::account::account;
pub use super::routes::email::recovery;
pub use super::routes::oauth::oauth;
pub use super::routes::passkeys::passkeys;
pub use super::routes::token::{login, logout, refresh, register};
use crate::config::CookiePolicy;

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

/// The token endpoints and the account routes, one Lambda function each. Each handler takes
/// the [`Api`] by value (two `Arc`s) so that it is a plain `fn(Api, Request) -> Future`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Login,
    Refresh,
    Logout,
    Register,
    Account,
    /// The public email routes: verify, forgot, reset.
    Recovery,
    /// The passkey ceremonies (registration behind the authorizer, sign-in open).
    Passkeys,
    /// Sign-in through OpenID providers (start and callback open; link and unlink behind the
    /// authorizer).
    Oauth,
}

impl Endpoint {
    /// Whether the function signs tokens, so loads the signing key at start-up (logout's and
    /// the account function's roles cannot read the secret at all).
    pub fn signs(self) -> bool {
        matches!(
            self,
            Endpoint::Login
                | Endpoint::Refresh
                | Endpoint::Register
                | Endpoint::Passkeys
                | Endpoint::Oauth
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
        Endpoint::Recovery => recovery(api.clone(), req).await,
        Endpoint::Passkeys => passkeys(api.clone(), req).await,
        Endpoint::Oauth => oauth(api.clone(), req).await,
    }
}

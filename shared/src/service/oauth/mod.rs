//! Sign-in through an OpenID provider (authorization code + PKCE): `start` and `link` begin a
//! flow, the callback finishes it once. What is ours: the flow (server-side, ten minutes,
//! single use, bound to the browser by a cookie whose hash it keeps), the code exchange, every
//! check of the ID token ([`crate::crypto::id_token`]), and the user an identity (provider,
//! `sub`) signs in as. An account is never found by email: only a linked identity leads to it.

mod flow;
pub mod providers;
mod users;

use std::sync::Arc;

use crate::config::OidcProvider;
use crate::crypto::id_token::IdTokenError;
use crate::error::{AuthError, Cause, StoreError};
use crate::ports::{ClientSecrets, ProviderHttp};
use crate::service::{AuthService, Issued};
use providers::{Directory, DirectoryError};

/// The cookie that binds a flow to the browser that began it.
pub const FLOW_COOKIE: &str = "oauth_flow";
/// Its path: sent to the callback (and nowhere else outside these routes).
pub const FLOW_COOKIE_PATH: &str = "/auth/oauth";

/// What the service needs to talk to providers; only the oauth function (and the dev server
/// and the tests) wire one.
pub struct OauthClient {
    directory: Directory,
    http: Arc<dyn ProviderHttp>,
    secrets: Arc<dyn ClientSecrets>,
}

impl OauthClient {
    pub fn new(
        http: Arc<dyn ProviderHttp>,
        secrets: Arc<dyn ClientSecrets>,
        clock: Arc<dyn crate::ports::Clock>,
    ) -> Self {
        OauthClient {
            directory: Directory::new(http.clone(), clock),
            http,
            secrets,
        }
    }
}

/// A flow begun: where to send the browser, and the flow cookie's value (its hash is stored).
pub struct FlowStart {
    pub authorize_url: String,
    pub binding: String,
}

impl std::fmt::Debug for FlowStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowStart(..)")
    }
}

/// Why a flow ended without its purpose: the `#error=` code the browser is sent back with.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The provider said no (the user denied, or the provider refused the request).
    #[error("the provider denied the request")]
    AccessDenied,
    /// No such flow (forged, replayed, expired, another provider's), or not this browser's.
    #[error("unknown, used, expired or unbound state")]
    InvalidState,
    /// The callback had no code.
    #[error("no authorization code")]
    InvalidRequest,
    /// The provider refused the code (used already, or not issued to us); its `error` code.
    #[error("the provider refused the code: {0}")]
    InvalidGrant(String),
    #[error("the ID token was refused: {0}")]
    InvalidIdToken(#[source] IdTokenError),
    #[error("the provider or a backing service is unavailable")]
    Unavailable(#[source] Cause),
    #[error("sign-up is disabled")]
    SignupDisabled,
    #[error("the account is disabled")]
    AccountDisabled,
    /// Linking: the identity is another user's.
    #[error("the identity belongs to another user")]
    IdentityTaken,
    /// Linking: the user has an identity at this provider already.
    #[error("an identity of this provider is linked already")]
    AlreadyLinked,
    /// Linking: the session that asked has ended.
    #[error("the session that asked to link has ended")]
    SessionEnded,
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl FlowError {
    pub fn code(&self) -> &'static str {
        match self {
            FlowError::AccessDenied => "access_denied",
            FlowError::InvalidState => "invalid_state",
            FlowError::InvalidRequest => "invalid_request",
            FlowError::InvalidGrant(_) => "invalid_grant",
            FlowError::InvalidIdToken(_) => "invalid_id_token",
            FlowError::Unavailable(_) => "temporarily_unavailable",
            FlowError::SignupDisabled => "signup_disabled",
            FlowError::AccountDisabled => "account_disabled",
            FlowError::IdentityTaken => "identity_taken",
            FlowError::AlreadyLinked => "already_linked",
            FlowError::SessionEnded => "session_ended",
            FlowError::Internal(_) => "server_error",
        }
    }

    fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        FlowError::Unavailable(Cause::new(e))
    }
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => FlowError::unavailable(e),
            other => FlowError::Internal(Cause::new(other)),
        }
    }
}

impl From<AuthError> for FlowError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unavailable { .. } => FlowError::unavailable(e),
            AuthError::AccountDisabled => FlowError::AccountDisabled,
            AuthError::InvalidToken => FlowError::SessionEnded,
            other => FlowError::Internal(Cause::new(other)),
        }
    }
}

impl From<DirectoryError> for FlowError {
    fn from(e: DirectoryError) -> Self {
        FlowError::unavailable(e)
    }
}

/// A callback as it arrived (`GET /auth/oauth/{provider}/callback`).
pub struct Callback {
    pub provider: String,
    pub code: Option<String>,
    pub state: Option<String>,
    /// The provider's `error` parameter (the user denied, ...).
    pub error: Option<String>,
    /// The flow cookie's value, if the browser sent one.
    pub binding: Option<String>,
    /// This API's public base URL (the redirect URI is built from it).
    pub api_base: String,
}

/// How a flow ended: signed in (the tokens to set as cookies), linked, or refused.
pub enum Landed {
    SignedIn(Issued),
    Linked,
}

pub struct CallbackOutcome {
    /// Where the browser goes back to: the flow's own target (none when no flow was found).
    pub redirect_to: Option<String>,
    pub result: Result<Landed, FlowError>,
}

/// The redirect URI registered with every provider for `provider`.
pub fn redirect_uri(api_base: &str, provider: &str) -> String {
    format!("{api_base}/auth/oauth/{provider}/callback")
}

impl AuthService {
    /// Signs in through OpenID providers with `client` (without one, the oauth routes answer 503).
    pub fn set_oauth(&mut self, client: OauthClient) {
        self.oauth = Some(Arc::new(client));
    }

    fn oauth(&self) -> Result<&OauthClient, AuthError> {
        self.oauth.as_deref().ok_or_else(|| {
            AuthError::unavailable_because("OpenID sign-in is not wired in this function")
        })
    }

    /// The provider `id` of `OIDC_PROVIDERS`; 404 for any other.
    pub fn oauth_provider(&self, id: &str) -> Result<&OidcProvider, AuthError> {
        self.cfg
            .oauth
            .provider(id)
            .ok_or(AuthError::ProviderNotFound)
    }

    /// `redirect_to` if a flow may send the browser back there; 400 otherwise.
    pub fn check_redirect(&self, redirect_to: &str) -> Result<(), AuthError> {
        match self.cfg.oauth.allows_redirect(redirect_to) {
            true => Ok(()),
            false => Err(AuthError::InvalidRequest(
                "redirect_to must be an absolute URL on an origin of OAUTH_REDIRECT_ALLOWLIST.",
            )),
        }
    }

    /// Where a flow that found no state of its own sends the browser: the first allowed
    /// origin (the app), if any.
    pub fn default_redirect(&self) -> Option<String> {
        self.cfg
            .oauth
            .redirect_allowlist
            .first()
            .map(|o| format!("{o}/"))
    }
}

#[cfg(test)]
mod tests;

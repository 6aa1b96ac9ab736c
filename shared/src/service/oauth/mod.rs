//! Sign-in through an OpenID provider (authorization code + PKCE): `start` and `link` begin a
//! flow, the callback finishes it once. What is ours: the flow (server-side, ten minutes,
//! single use, bound to the browser by a cookie whose hash it keeps), the code exchange, every
//! check of the ID token ([`crate::crypto::id_token`]), and the user an identity (provider,
//! `sub`) signs in as. An account is never found by email: only a linked identity leads to it.

pub mod providers;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use super::accounts::Caller;
use super::auth::PendingLogin;
use super::{AuthService, Issued};
use crate::config::OidcProvider;
use crate::crypto::device_token;
use crate::crypto::id_token::{verify_id_token, Expected, IdClaims, IdTokenError};
use crate::domain::{
    email_token_hash, new_email_token, Email, FlowPurpose, Identity, OauthFlow, ThrottleKey, User,
    Username, AMR_FEDERATED, FLOW_TTL,
};
use crate::error::{AuthError, Cause, Chain, KeyError, StoreError};
use crate::ports::{ClientSecrets, ProviderCallError, ProviderHttp};
use crate::telemetry::{count, Metric};
use providers::{Directory, DirectoryError, ProviderMetadata};

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

/// `application/x-www-form-urlencoded` / query-string escaping: all but `A-Z a-z 0-9 - . _ ~`.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What is stored of a state or flow cookie we made (as [`email_token_hash`] reads one back).
fn sha256(raw: &str) -> crate::domain::TokenHash {
    crate::domain::TokenHash(Sha256::digest(raw.as_bytes()).into())
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

    /// `GET /auth/oauth/{provider}/start`: a sign-in flow; the caller has checked nothing.
    pub async fn oauth_start(
        &self,
        provider: &str,
        redirect_to: &str,
        api_base: &str,
    ) -> Result<FlowStart, AuthError> {
        let provider = self.oauth_provider(provider)?;
        self.check_redirect(redirect_to)?;
        self.begin_flow(provider, FlowPurpose::SignIn, redirect_to, api_base)
            .await
    }

    /// `POST /auth/oauth/{provider}/link`: a flow whose callback links the identity to the
    /// caller (whose session must stand now, and still at the callback).
    pub async fn oauth_link(
        &self,
        caller: &Caller,
        provider: &str,
        redirect_to: &str,
        api_base: &str,
    ) -> Result<FlowStart, AuthError> {
        let provider = self.oauth_provider(provider)?;
        self.check_redirect(redirect_to)?;
        let user = self.caller_user(caller).await?;
        let purpose = FlowPurpose::Link {
            username: user.username,
            user_id: user.user_id,
            session_id: caller.session_id.clone(),
        };
        self.begin_flow(provider, purpose, redirect_to, api_base)
            .await
    }

    async fn begin_flow(
        &self,
        provider: &OidcProvider,
        purpose: FlowPurpose,
        redirect_to: &str,
        api_base: &str,
    ) -> Result<FlowStart, AuthError> {
        let client = self.oauth()?;
        // Down, or a discovery document we cannot use: either way, not now.
        let metadata = client
            .directory
            .metadata(provider)
            .await
            .map_err(AuthError::unavailable)?;
        let state = new_email_token();
        let nonce = new_email_token();
        let verifier = new_email_token();
        let binding = new_email_token();
        let flow = OauthFlow {
            state_hash: sha256(&state),
            provider: provider.id.clone(),
            purpose,
            nonce: nonce.clone(),
            code_verifier: verifier.clone(),
            redirect_to: redirect_to.to_string(),
            binding: sha256(&binding),
            expires_at: self.clock.now().saturating_add(FLOW_TTL),
        };
        self.identities.put_flow(&flow).await?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let scope = provider.scopes.join(" ");
        let redirect = redirect_uri(api_base, &provider.id);
        let params = [
            ("response_type", "code"),
            ("client_id", provider.client_id.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("scope", scope.as_str()),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
            .collect();
        tracing::info!(event = "oauth_flow_started", provider = %provider.id, "flow started");
        Ok(FlowStart {
            authorize_url: format!("{}?{}", metadata.authorization_endpoint, query.join("&")),
            binding,
        })
    }

    /// `GET /auth/oauth/{provider}/callback`: finishes the flow its `state` names, once.
    #[tracing::instrument(skip_all, fields(provider = %input.provider, user_id))]
    pub async fn oauth_callback(&self, input: Callback) -> CallbackOutcome {
        let started_ms = self.clock.now_ms();
        let (redirect_to, result) = match self.take_own_flow(&input).await {
            Err((redirect_to, e)) => (redirect_to, Err(e)),
            Ok(flow) => {
                let result = self.finish_flow(&input, &flow, started_ms).await;
                (Some(flow.redirect_to), result)
            }
        };
        match &result {
            Ok(Landed::SignedIn(_)) => count(Metric::FederatedSignIn),
            Ok(Landed::Linked) => {}
            Err(e) => {
                count(Metric::FederatedFailed(e.code()));
                match e {
                    FlowError::Unavailable(_) | FlowError::Internal(_) => tracing::warn!(
                        event = "oauth_failed",
                        reason = e.code(),
                        error = %Chain(e),
                        "OpenID flow failed"
                    ),
                    _ => tracing::info!(
                        event = "oauth_failed",
                        reason = e.code(),
                        error = %Chain(e),
                        "OpenID flow refused"
                    ),
                }
            }
        }
        CallbackOutcome {
            redirect_to,
            result,
        }
    }

    /// Takes (spends) the flow of the callback's `state`, whatever follows; it must be live,
    /// of this provider, and this browser's (its cookie). Refused: the flow's target if there
    /// was a flow (it is on the allowlist), and why.
    async fn take_own_flow(
        &self,
        input: &Callback,
    ) -> Result<OauthFlow, (Option<String>, FlowError)> {
        // The state's hash (garbage that cannot be one of ours costs no read).
        let hash = input
            .state
            .as_deref()
            .and_then(email_token_hash)
            .ok_or((None, FlowError::InvalidState))?;
        let flow = match self.identities.take_flow(&hash).await {
            Ok(Some(flow)) => flow,
            Ok(None) => return Err((None, FlowError::InvalidState)),
            Err(e) => return Err((None, e.into())),
        };
        let bound = input
            .binding
            .as_deref()
            .and_then(email_token_hash)
            .is_some_and(|b| b.matches(&flow.binding));
        if flow.provider != input.provider || self.clock.now() >= flow.expires_at || !bound {
            if !bound {
                // Someone else's state in this browser: a login CSRF, or a lost cookie.
                tracing::info!(
                    event = "oauth_flow_unbound",
                    "callback without its flow cookie"
                );
            }
            return Err((Some(flow.redirect_to), FlowError::InvalidState));
        }
        Ok(flow)
    }

    async fn finish_flow(
        &self,
        input: &Callback,
        flow: &OauthFlow,
        started_ms: u64,
    ) -> Result<Landed, FlowError> {
        if input.error.is_some() {
            return Err(FlowError::AccessDenied);
        }
        let code = input.code.as_deref().ok_or(FlowError::InvalidRequest)?;
        let provider = self
            .cfg
            .oauth
            .provider(&flow.provider)
            .ok_or(FlowError::InvalidState)?;
        let claims = self
            .verified_claims(provider, flow, code, &input.api_base)
            .await?;
        match &flow.purpose {
            FlowPurpose::SignIn => self
                .sign_in_federated(provider, &claims, started_ms)
                .await
                .map(Landed::SignedIn),
            FlowPurpose::Link {
                username,
                user_id,
                session_id,
            } => {
                let caller = Caller {
                    user_id: user_id.clone(),
                    username: username.clone(),
                    session_id: session_id.clone(),
                };
                self.link_federated(&caller, provider, &claims).await?;
                Ok(Landed::Linked)
            }
        }
    }

    /// Exchanges `code` (with the flow's PKCE verifier) and checks the ID token it brings.
    async fn verified_claims(
        &self,
        provider: &OidcProvider,
        flow: &OauthFlow,
        code: &str,
        api_base: &str,
    ) -> Result<IdClaims, FlowError> {
        let client = self.oauth().map_err(FlowError::from)?;
        let metadata = client.directory.metadata(provider).await?;
        let id_token = self
            .exchange_code(client, provider, &metadata, flow, code, api_base)
            .await?;
        let expected = Expected {
            issuer: &metadata.issuer,
            client_id: &provider.client_id,
            nonce: &flow.nonce,
            algorithms: &metadata.algorithms,
            now: self.clock.now(),
        };
        let keys = client.directory.keys(provider, &metadata).await?;
        match verify_id_token(&id_token, &keys, &expected) {
            // A key the cached set lacks: the provider may have rotated (once a minute).
            Err(IdTokenError::UnknownKey) => {
                match client.directory.refetch_keys(provider, &metadata).await? {
                    Some(fresh) => verify_id_token(&id_token, &fresh, &expected),
                    None => Err(IdTokenError::UnknownKey),
                }
            }
            other => other,
        }
        .map_err(FlowError::InvalidIdToken)
    }

    async fn exchange_code(
        &self,
        client: &OauthClient,
        provider: &OidcProvider,
        metadata: &ProviderMetadata,
        flow: &OauthFlow,
        code: &str,
        api_base: &str,
    ) -> Result<String, FlowError> {
        let secret = match &provider.client_secret_id {
            None => None,
            Some(id) => Some(
                client
                    .secrets
                    .client_secret(id)
                    .await
                    .map_err(|e| match e {
                        KeyError::Unavailable(_) => FlowError::unavailable(e),
                        other => FlowError::Internal(Cause::new(other)),
                    })?,
            ),
        };
        let redirect = redirect_uri(api_base, &provider.id);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", flow.code_verifier.as_str()),
        ];
        // A confidential client authenticates as its provider prefers (Basic unless only the
        // form is offered); a public one names itself in the form.
        let by_form = secret.is_some()
            && !metadata
                .auth_methods
                .iter()
                .any(|m| m == "client_secret_basic")
            && metadata
                .auth_methods
                .iter()
                .any(|m| m == "client_secret_post");
        let exposed;
        let basic = match &secret {
            Some(secret) if !by_form => Some((provider.client_id.as_str(), secret)),
            Some(secret) => {
                exposed = secrecy::ExposeSecret::expose_secret(secret).to_string();
                form.push(("client_id", provider.client_id.as_str()));
                form.push(("client_secret", exposed.as_str()));
                None
            }
            None => {
                form.push(("client_id", provider.client_id.as_str()));
                None
            }
        };
        let answer = client
            .http
            .post_form(&metadata.token_endpoint, &form, basic)
            .await
            .map_err(|e| match e {
                ProviderCallError::Status { status, body } if (400..500).contains(&status) => {
                    // The provider's code (RFC 6749 §5.2), for the log: a short word at most.
                    let code = body
                        .get("error")
                        .and_then(serde_json::Value::as_str)
                        .filter(|c| {
                            c.len() <= 64 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                        })
                        .unwrap_or("unknown");
                    FlowError::InvalidGrant(code.to_string())
                }
                other => FlowError::unavailable(other),
            })?;
        answer
            .get("id_token")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or(FlowError::InvalidIdToken(IdTokenError::Malformed))
    }

    /// The user (provider, `sub`) is linked to, signed in; or, with sign-up on, a new one.
    async fn sign_in_federated(
        &self,
        provider: &OidcProvider,
        claims: &IdClaims,
        started_ms: u64,
    ) -> Result<Issued, FlowError> {
        let key = self.keys.current().await.map_err(AuthError::from)?;
        let now = self.clock.now();
        let Some(identity) = self.identities.identity(&provider.id, &claims.sub).await? else {
            return self
                .sign_up_federated(provider, claims, &key, started_ms, now)
                .await;
        };
        let user = self
            .users
            .get_user(&identity.username)
            .await?
            .filter(|u| u.user_id == identity.user_id)
            .ok_or_else(|| {
                FlowError::Internal(Cause::msg("a linked identity whose user is gone"))
            })?;
        tracing::Span::current().record("user_id", user.user_id.as_str());
        if user.disabled {
            count(Metric::LoginFailed);
            tracing::info!(event = "login_failed", reason = "disabled", "login refused");
            return Err(FlowError::AccountDisabled);
        }
        let pending = PendingLogin {
            device_id: device_token::new_device_id(),
            throttle_key: ThrottleKey {
                username: user.username.clone(),
                device: None,
            },
            started_ms,
            amr: vec![AMR_FEDERATED.to_string()],
        };
        Ok(self.complete_login(&key, &user, pending, now).await?)
    }

    /// A new user for an identity no one has: its username the provider's verified address
    /// if free (else `provider-` and random hex), its address that one if verified and free
    /// (else none: an address held by another account is never joined), no password.
    async fn sign_up_federated(
        &self,
        provider: &OidcProvider,
        claims: &IdClaims,
        key: &crate::crypto::keyring::SigningKey,
        started_ms: u64,
        now: u64,
    ) -> Result<Issued, FlowError> {
        if !self.cfg.signup.enabled {
            return Err(FlowError::SignupDisabled);
        }
        let verified_email = claims
            .email
            .as_deref()
            .filter(|_| claims.email_verified)
            .and_then(|e| Email::parse(e).ok());
        let mut names: Vec<Username> = verified_email
            .as_ref()
            .and_then(|e| Username::parse(e.as_str()).ok())
            .into_iter()
            .collect();
        for _ in 0..3 {
            let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
            names.extend(Username::parse(&format!("{}-{suffix}", provider.id)).ok());
        }
        let mut email = verified_email;
        let mut names = names.into_iter();
        let mut next_name = || {
            names.next().ok_or(FlowError::Internal(Cause::msg(
                "every username candidate was taken",
            )))
        };
        let mut username = next_name()?;
        loop {
            let user = User {
                email: email.clone(),
                email_verified: email.is_some(),
                identities: vec![crate::domain::LinkedIdentity {
                    provider: provider.id.clone(),
                    subject: claims.sub.clone(),
                    linked_at: now,
                }],
                ..User::new(
                    uuid::Uuid::new_v4().to_string(),
                    username.clone(),
                    String::new(),
                    self.cfg.signup.default_roles.clone(),
                    now,
                )
            };
            let identity = Identity {
                provider: provider.id.clone(),
                subject: claims.sub.clone(),
                username: user.username.clone(),
                user_id: user.user_id.clone(),
                linked_at: now,
            };
            let amr = vec![AMR_FEDERATED.to_string()];
            let device_id = device_token::new_device_id();
            let (session, token) = self.new_session_with(&user, device_id, started_ms, now, amr);
            let mut issued = self
                .issue(key, &user, &session, &token, now)
                .map_err(FlowError::from)?;
            match self
                .identities
                .create_federated_user(&user, &identity, &session)
                .await
            {
                Ok(()) => {
                    tracing::Span::current().record("user_id", user.user_id.as_str());
                    count(Metric::FederatedSignup);
                    count(Metric::Registration);
                    crate::security_event!(
                        info,
                        "federated_signup",
                        user_id = Some(user.user_id.as_str()),
                        session_id = Some(session.session_id.as_str()),
                        provider = provider.id.as_str(),
                        "user signed up through an OpenID provider"
                    );
                    issued.device_token =
                        Some(self.device_token(key, &user, None, started_ms, now));
                    return Ok(issued);
                }
                // The address is another account's: this one goes without it, and is not named
                // after it either (an account called by someone else's address misleads).
                Err(StoreError::EmailTaken) if email.is_some() => {
                    if email.as_ref().map(Email::as_str) == Some(username.as_str()) {
                        username = next_name()?;
                    }
                    email = None;
                }
                // The username is taken: the next candidate.
                Err(StoreError::Conflict) => username = next_name()?,
                // A concurrent sign-up of the same identity won: sign in as its user.
                Err(StoreError::NotFound) => {
                    return Box::pin(self.sign_in_federated(provider, claims, started_ms)).await
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Links the identity to `caller`, whose session must still stand.
    async fn link_federated(
        &self,
        caller: &Caller,
        provider: &OidcProvider,
        claims: &IdClaims,
    ) -> Result<(), FlowError> {
        let user = self.caller_user(caller).await?;
        tracing::Span::current().record("user_id", user.user_id.as_str());
        if let Some(existing) = self.identities.identity(&provider.id, &claims.sub).await? {
            return Err(match existing.user_id == user.user_id {
                true => FlowError::AlreadyLinked,
                false => FlowError::IdentityTaken,
            });
        }
        if user.identity_at(&provider.id).is_some() {
            return Err(FlowError::AlreadyLinked);
        }
        let identity = Identity {
            provider: provider.id.clone(),
            subject: claims.sub.clone(),
            username: user.username.clone(),
            user_id: user.user_id.clone(),
            linked_at: self.clock.now(),
        };
        match self.identities.link_identity(&identity).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(FlowError::IdentityTaken),
            Err(StoreError::NotFound) => return Err(FlowError::SessionEnded),
            Err(e) => return Err(e.into()),
        }
        count(Metric::IdentityLinked);
        crate::security_event!(
            info,
            "identity_linked",
            user_id = Some(user.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            provider = provider.id.as_str(),
            "identity linked"
        );
        Ok(())
    }

    /// `DELETE /auth/identities/{provider}`: unlinks the caller's identity there, unless it is
    /// the account's last way to sign in.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn unlink_identity(&self, caller: &Caller, provider: &str) -> Result<(), AuthError> {
        let user = self.caller_user(caller).await?;
        let linked = user
            .identity_at(provider)
            .cloned()
            .ok_or(AuthError::IdentityNotFound)?;
        if !user.could_sign_in_without(&linked) {
            return Err(AuthError::LastSignInMethod);
        }
        match self.identities.unlink_identity(&user, &linked).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(AuthError::IdentityNotFound),
            Err(StoreError::Conflict) => return Err(AuthError::LastSignInMethod),
            Err(e) => return Err(e.into()),
        }
        count(Metric::IdentityUnlinked);
        crate::security_event!(
            info,
            "identity_unlinked",
            user_id = Some(caller.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            provider = provider,
            "identity unlinked"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;

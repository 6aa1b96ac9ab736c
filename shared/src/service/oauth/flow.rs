//! A flow's two ends: `start` and `link` begin one (PKCE S256, `state`, `nonce`, kept
//! server-side under the hash of its state and bound to the browser by the flow cookie), the
//! callback takes it once, exchanges the code and checks the ID token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use super::providers::ProviderMetadata;
use super::{redirect_uri, Callback, CallbackOutcome, FlowError, FlowStart, Landed, OauthClient};
use crate::config::OidcProvider;
use crate::crypto::id_token::{verify_id_token, Expected, IdClaims, IdTokenError};
use crate::domain::{email_token_hash, new_email_token, FlowPurpose, OauthFlow, FLOW_TTL};
use crate::error::{AuthError, Cause, Chain, KeyError};
use crate::ports::ProviderCallError;
use crate::service::accounts::Caller;
use crate::service::AuthService;
use crate::telemetry::{count, Metric};

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

impl AuthService {
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
}

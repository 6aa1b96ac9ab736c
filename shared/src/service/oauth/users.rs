//! Who a verified identity is: the user (provider, `sub`) is linked to, or a new one (never
//! found by email); linking it to a signed-in user, unlinking it (never the last way in).

use super::FlowError;
use crate::config::OidcProvider;
use crate::crypto::device_token;
use crate::crypto::id_token::IdClaims;
use crate::domain::{Email, Identity, ThrottleKey, User, Username, AMR_FEDERATED};
use crate::error::{AuthError, Cause, StoreError};
use crate::service::accounts::Caller;
use crate::service::auth::PendingLogin;
use crate::service::{AuthService, Issued};
use crate::telemetry::{count, Metric};

impl AuthService {
    /// The user (provider, `sub`) is linked to, signed in; or, with sign-up on, a new one.
    pub(super) async fn sign_in_federated(
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
    pub(super) async fn link_federated(
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

//! Passkeys: registering one (behind the authorizer), signing in with one (no username), the
//! caller's list and removal. The WebAuthn checks are the [`RelyingParty`]'s; what is ours is
//! the ceremony (single use, server-side, 300 s, bound to its user), the passkey's owner, the
//! counter written only from the value read, and the session a sign-in becomes.

use super::accounts::Caller;
use super::auth::PendingLogin;
use super::AuthService;
use crate::domain::{
    new_ceremony_id, Ceremony, CeremonyKind, Passkey, ThrottleKey, AMR_PASSKEY, CEREMONY_TTL,
};
use crate::error::{AuthError, Chain, StoreError};
use crate::ports::{RelyingParty, WebAuthnError};
use crate::service::Issued;
use crate::telemetry::{count, Metric};

/// An options call's answer: what the browser passes to `navigator.credentials`, and the id
/// its answer comes back with.
pub struct CeremonyOptions {
    pub challenge_id: String,
    pub public_key: serde_json::Value,
}

/// `POST /auth/passkeys/login`.
pub struct PasskeyLoginInput {
    pub challenge_id: String,
    /// The assertion, `PublicKeyCredential.toJSON()` as sent.
    pub credential: Vec<u8>,
    pub device_id: String,
}

/// `POST /auth/passkeys/register`.
pub struct PasskeyRegistration {
    pub challenge_id: String,
    /// The attestation, `PublicKeyCredential.toJSON()` as sent.
    pub credential: Vec<u8>,
    pub name: Option<String>,
}

/// The name of a passkey registered without one.
pub const DEFAULT_PASSKEY_NAME: &str = "Passkey";

impl AuthService {
    fn relying_party(&self) -> Result<&dyn RelyingParty, AuthError> {
        self.relying_party.as_deref().ok_or_else(|| {
            AuthError::unavailable_because(
                "passkeys are off: no WEBAUTHN_RP_ID (or APP_URL) is set",
            )
        })
    }

    /// Stores a new ceremony of `kind` over `state`, answering with its id and `options`.
    async fn begin_ceremony(
        &self,
        kind: CeremonyKind,
        user: Option<(crate::domain::Username, String)>,
        start: crate::ports::CeremonyStart,
    ) -> Result<CeremonyOptions, AuthError> {
        let ceremony = Ceremony {
            id: new_ceremony_id(),
            kind,
            user,
            state: start.state,
            expires_at: self.clock.now().saturating_add(CEREMONY_TTL),
        };
        self.passkeys.put_ceremony(&ceremony).await?;
        Ok(CeremonyOptions {
            challenge_id: ceremony.id,
            public_key: start.options,
        })
    }

    /// Takes (spends) the ceremony `id` if it is a live one of `kind`; any other id, an
    /// expired or used one, is `refused`.
    async fn take_ceremony(
        &self,
        id: &str,
        kind: CeremonyKind,
        refused: AuthError,
    ) -> Result<Ceremony, AuthError> {
        match self.passkeys.take_ceremony(id).await? {
            Some(c) if c.kind == kind && self.clock.now() < c.expires_at => Ok(c),
            _ => {
                tracing::info!(event = "passkey_ceremony_refused", kind = kind.as_str());
                Err(refused)
            }
        }
    }

    /// `POST /auth/passkeys/register/options`: a registration for the caller, its passkeys
    /// excluded (an authenticator holding one says so instead of making another).
    pub async fn passkey_registration_options(
        &self,
        caller: &Caller,
    ) -> Result<CeremonyOptions, AuthError> {
        let rp = self.relying_party()?;
        let user = self.caller_user(caller).await?;
        let existing = self.passkeys.passkeys_of(&user).await?;
        let start = rp
            .registration_options(&user, &existing)
            .map_err(AuthError::internal)?;
        let owner = Some((user.username.clone(), user.user_id.clone()));
        self.begin_ceremony(CeremonyKind::Register, owner, start)
            .await
    }

    /// `POST /auth/passkeys/register`: verifies the attestation against the caller's own
    /// ceremony and stores the passkey.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn register_passkey(
        &self,
        caller: &Caller,
        input: PasskeyRegistration,
    ) -> Result<Passkey, AuthError> {
        let rp = self.relying_party()?;
        let user = self.caller_user(caller).await?;
        let refused = AuthError::InvalidPasskeyRegistration;
        let ceremony = self
            .take_ceremony(&input.challenge_id, CeremonyKind::Register, refused.clone())
            .await?;
        // Another user's ceremony (its options name that user's handle) is no use to this one.
        if ceremony.user.as_ref().map(|(_, id)| id) != Some(&user.user_id) {
            tracing::info!(
                event = "passkey_ceremony_refused",
                reason = "other_user",
                "registration refused"
            );
            return Err(refused);
        }
        let new = rp
            .verify_registration(&ceremony.state, &input.credential)
            .map_err(|e| webauthn_refusal(e, refused.clone()))?;
        let passkey = Passkey {
            credential_id: new.credential_id,
            username: user.username.clone(),
            user_id: user.user_id.clone(),
            name: input
                .name
                .unwrap_or_else(|| DEFAULT_PASSKEY_NAME.to_string()),
            public_key: new.public_key,
            sign_count: new.sign_count,
            state: new.state,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        match self.passkeys.add_passkey(&passkey).await {
            Ok(()) => {}
            // Registered already (by anyone): refused, the stored one untouched.
            Err(StoreError::Conflict) => return Err(refused),
            // The user was deleted (or replaced) meanwhile.
            Err(StoreError::NotFound) => return Err(AuthError::InvalidToken),
            Err(e) => return Err(e.into()),
        }
        count(Metric::PasskeyAdded);
        crate::security_event!(
            info,
            "passkey_added",
            user_id = Some(user.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            passkey_id = passkey.credential_id.as_str(),
            "passkey added"
        );
        Ok(passkey)
    }

    /// `POST /auth/passkeys/login/options`: a discoverable sign-in (no credential list).
    pub async fn passkey_login_options(&self) -> Result<CeremonyOptions, AuthError> {
        let start = self
            .relying_party()?
            .login_options()
            .map_err(AuthError::internal)?;
        self.begin_ceremony(CeremonyKind::Login, None, start).await
    }

    /// `POST /auth/passkeys/login`: a session for the passkey's user, `amr` `["hwk","mfa"]`.
    /// The ceremony is spent first, whatever follows: an assertion is tried once.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn login_with_passkey(&self, input: PasskeyLoginInput) -> Result<Issued, AuthError> {
        let started_ms = self.clock.now_ms();
        let rp = self.relying_party()?;
        let key = self.keys.current().await?;
        let ceremony = self
            .take_ceremony(
                &input.challenge_id,
                CeremonyKind::Login,
                AuthError::InvalidPasskey,
            )
            .await
            .inspect_err(|_| count(Metric::PasskeyLoginFailed("invalid")))?;
        let invalid = |why: &str| {
            count(Metric::PasskeyLoginFailed("invalid"));
            tracing::info!(
                event = "passkey_login_failed",
                reason = why,
                "passkey refused"
            );
            AuthError::InvalidPasskey
        };
        let credential_id = rp
            .assertion_credential_id(&input.credential)
            .map_err(|_| invalid("malformed"))?;
        let Some(passkey) = self.passkeys.passkey(&credential_id).await? else {
            return Err(invalid("unknown_credential"));
        };
        tracing::Span::current().record("user_id", passkey.user_id.as_str());
        let used = match rp.verify_assertion(&ceremony.state, &input.credential, &passkey) {
            Ok(used) => used,
            Err(WebAuthnError::CounterRegressed) => {
                count(Metric::PasskeyLoginFailed("counter"));
                crate::security_event!(
                    warn,
                    "passkey_counter_regressed",
                    user_id = Some(passkey.user_id.as_str()),
                    session_id = None::<&str>,
                    passkey_id = passkey.credential_id.as_str(),
                    stored_count = passkey.sign_count,
                    "passkey refused: its signature counter went backwards (a cloned authenticator?)"
                );
                return Err(AuthError::InvalidPasskey);
            }
            Err(e @ WebAuthnError::State(_)) => return Err(AuthError::internal(e)),
            Err(WebAuthnError::Refused(why)) => return Err(invalid(&why)),
        };
        let user = self
            .users
            .get_user(&passkey.username)
            .await?
            .filter(|u| u.user_id == passkey.user_id)
            .ok_or_else(|| invalid("owner_gone"))?;
        if user.disabled {
            count(Metric::LoginFailed);
            tracing::info!(event = "login_failed", reason = "disabled", "login refused");
            return Err(AuthError::AccountDisabled);
        }
        // From the counter read only: of two uses racing (a clone beside the real one), one.
        let now = self.clock.now();
        if !self.passkeys.record_use(&passkey, &used, now).await? {
            return Err(invalid("concurrent_use"));
        }
        let pending = PendingLogin {
            device_id: input.device_id,
            throttle_key: ThrottleKey {
                username: user.username.clone(),
                device: None,
            },
            started_ms,
            amr: AMR_PASSKEY.iter().map(|m| m.to_string()).collect(),
        };
        self.complete_login(&key, &user, pending, now).await
    }

    /// The caller's passkeys, oldest first (the caller's session must stand).
    pub async fn passkeys_of(&self, caller: &Caller) -> Result<Vec<Passkey>, AuthError> {
        let user = self.caller_user(caller).await?;
        Ok(self.passkeys.passkeys_of(&user).await?)
    }

    /// Removes one of the caller's passkeys; any other id, another user's included, is
    /// [`AuthError::PasskeyNotFound`] (and nothing changes).
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn remove_passkey(&self, caller: &Caller, passkey_id: &str) -> Result<(), AuthError> {
        let user = self.caller_user(caller).await?;
        // An account made through an OpenID provider may have unlinked it, keeping only passkeys.
        if user.passkeys.iter().any(|p| p == passkey_id)
            && !user.could_sign_in_without_passkey(passkey_id)
        {
            return Err(AuthError::LastSignInMethod);
        }
        match self.passkeys.remove_passkey(&user, passkey_id).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(AuthError::PasskeyNotFound),
            Err(StoreError::Conflict) => return Err(AuthError::LastSignInMethod),
            Err(e) => return Err(e.into()),
        }
        count(Metric::PasskeyRemoved);
        crate::security_event!(
            info,
            "passkey_removed",
            user_id = Some(caller.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            passkey_id = passkey_id,
            "passkey removed"
        );
        Ok(())
    }
}

/// A relying party's refusal as the caller sees it (`refused`); its own failure is ours (500).
fn webauthn_refusal(e: WebAuthnError, refused: AuthError) -> AuthError {
    match e {
        WebAuthnError::State(_) => AuthError::internal(e),
        other => {
            tracing::info!(event = "passkey_refused", error = %Chain(&other), "refused");
            refused
        }
    }
}

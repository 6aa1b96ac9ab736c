//! The WebAuthn relying party ([`RelyingParty`]) on the `webauthn_rp` crate: pure Rust
//! (RustCrypto's ES256, ES384, EdDSA and RS256 verifiers), no OpenSSL. Behind shared's
//! `passkeys` feature: only the passkeys function links it.
//!
//! What the crate checks for us, per the WebAuthn Level 3 ceremonies: the challenge (its
//! state's, single use by our store), the origin (one of [`Passkeys::allowed_origins`]), no
//! cross-origin iframe, the RP ID hash, user presence and verification, the algorithm, canonical
//! CBOR, attestation `none` (or self), the user handle against the passkey's owner, the
//! signature, and the signature counter (a counter that does not move past a non-zero stored
//! one is refused: [`WebAuthnError::CounterRegressed`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{
    CredProtect, PublicKeyCredentialUserEntity, RegistrationVerificationOptions, UserHandle,
};
use webauthn_rp::request::{AsciiDomain, ExtensionInfo, PublicKeyCredentialDescriptor, RpId};
use webauthn_rp::response::auth::error::AuthCeremonyErr;
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, PublicKeyCredentialCreationOptions, Registration,
    RegistrationServerState,
};

use crate::config::Passkeys;
use crate::domain::{NewCredential, Passkey, PasskeyUse, User};
use crate::ports::{CeremonyStart, RelyingParty, WebAuthnError};

/// Bytes in a user handle: SHA-256 of the user id (no personal data, any id shape).
const HANDLE_LEN: usize = 32;
type Handle = UserHandle<HANDLE_LEN>;
/// A stored public key as the crate decodes it (Ed25519, P-256 x/y, P-384 x/y, RSA).
type StoredKey = CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>;

/// The user handle of `user_id`: what the authenticator keeps with the passkey and returns in
/// each assertion (checked against the passkey's owner).
pub fn user_handle(user_id: &str) -> [u8; HANDLE_LEN] {
    Sha256::digest(user_id.as_bytes()).into()
}

pub struct WebAuthnRp {
    rp_id: RpId,
    rp_name: String,
    origins: Vec<String>,
}

impl WebAuthnRp {
    /// `None` when passkeys are off (no RP ID).
    pub fn new(cfg: &Passkeys) -> Option<WebAuthnRp> {
        let id = cfg.rp_id.clone()?;
        let rp_id = RpId::Domain(AsciiDomain::try_from(id).ok()?);
        Some(WebAuthnRp {
            rp_id,
            rp_name: cfg.rp_name.clone(),
            origins: cfg.allowed_origins(),
        })
    }
}

fn refused(e: impl std::fmt::Display) -> WebAuthnError {
    WebAuthnError::Refused(e.to_string())
}

fn state_error(e: impl std::fmt::Debug) -> WebAuthnError {
    WebAuthnError::State(format!("{e:?}"))
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, WebAuthnError> {
    serde_json::to_value(value).map_err(state_error)
}

impl RelyingParty for WebAuthnRp {
    fn registration_options(
        &self,
        user: &User,
        exclude: &[Passkey],
    ) -> Result<CeremonyStart, WebAuthnError> {
        let handle = Handle::from(user_handle(&user.user_id));
        let name = user.username.as_str().try_into().map_err(state_error)?;
        let exclude = exclude
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
            .filter_map(|id| CredentialId::try_from(id).ok())
            .map(|id| PublicKeyCredentialDescriptor {
                id,
                transports: AuthTransports::NONE,
            })
            .collect();
        let mut options = PublicKeyCredentialCreationOptions::passkey(
            &self.rp_id,
            PublicKeyCredentialUserEntity {
                name,
                id: &handle,
                display_name: None,
            },
            exclude,
        );
        // credProtect asked for (user verification required to use the credential at all) but
        // not enforced: an authenticator without the extension (Chromium's virtual one, older
        // security keys) would otherwise be refused by the browser before it is even asked.
        // Every sign-in requires user verification anyway (request options and the check).
        options.extensions.cred_protect =
            CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
        let (server, client) = options.start_ceremony().map_err(state_error)?;
        let mut options = to_json(&client)?;
        // The crate names the RP by its id; the authenticator shows WEBAUTHN_RP_NAME.
        if let Some(rp) = options
            .get_mut("rp")
            .and_then(serde_json::Value::as_object_mut)
        {
            rp.insert("name".into(), self.rp_name.clone().into());
        }
        Ok(CeremonyStart {
            options,
            state: server.encode().map_err(state_error)?,
        })
    }

    fn verify_registration(
        &self,
        state: &[u8],
        credential: &[u8],
    ) -> Result<NewCredential, WebAuthnError> {
        let server = RegistrationServerState::<HANDLE_LEN>::decode(state).map_err(state_error)?;
        let registration = Registration::from_json_relaxed(credential).map_err(refused)?;
        let options = RegistrationVerificationOptions::<'_, '_, String, &str> {
            allowed_origins: &self.origins,
            ..Default::default()
        };
        let registered = server
            .verify(&self.rp_id, &registration, &options)
            .map_err(refused)?;
        let dynamic = registered.dynamic_state();
        Ok(NewCredential {
            credential_id: URL_SAFE_NO_PAD.encode(registered.id().as_ref()),
            public_key: registered.static_state().encode().map_err(state_error)?,
            sign_count: dynamic.sign_count,
            state: dynamic.encode().map_err(state_error)?.to_vec(),
        })
    }

    fn login_options(&self) -> Result<CeremonyStart, WebAuthnError> {
        let (server, client) = DiscoverableCredentialRequestOptions::passkey(&self.rp_id)
            .start_ceremony()
            .map_err(state_error)?;
        Ok(CeremonyStart {
            options: to_json(&client)?,
            state: server.encode().map_err(state_error)?,
        })
    }

    fn assertion_credential_id(&self, credential: &[u8]) -> Result<String, WebAuthnError> {
        let assertion = DiscoverableAuthentication::<HANDLE_LEN>::from_json_relaxed(credential)
            .map_err(refused)?;
        Ok(URL_SAFE_NO_PAD.encode(assertion.raw_id().as_ref()))
    }

    fn verify_assertion(
        &self,
        state: &[u8],
        credential: &[u8],
        passkey: &Passkey,
    ) -> Result<PasskeyUse, WebAuthnError> {
        let server = DiscoverableAuthenticationServerState::decode(state).map_err(state_error)?;
        let assertion = DiscoverableAuthentication::<HANDLE_LEN>::from_json_relaxed(credential)
            .map_err(refused)?;
        let static_state =
            StaticState::<StoredKey>::decode(passkey.public_key.as_slice()).map_err(state_error)?;
        let stored: [u8; 7] = passkey.state.as_slice().try_into().map_err(state_error)?;
        let dynamic_state = DynamicState::decode(stored).map_err(state_error)?;
        let owner = Handle::from(user_handle(&passkey.user_id));
        let mut cred =
            AuthenticatedCredential::new(assertion.raw_id(), &owner, static_state, dynamic_state)
                .map_err(refused)?;
        let options = AuthenticationVerificationOptions::<'_, '_, String, &str> {
            allowed_origins: &self.origins,
            ..Default::default()
        };
        match server.verify(&self.rp_id, &assertion, &mut cred, &options) {
            Ok(_) => {}
            Err(AuthCeremonyErr::SignatureCounter) => return Err(WebAuthnError::CounterRegressed),
            Err(e) => return Err(refused(e)),
        }
        let dynamic = cred.dynamic_state();
        Ok(PasskeyUse {
            sign_count: dynamic.sign_count,
            state: dynamic.encode().map_err(state_error)?.to_vec(),
        })
    }
}

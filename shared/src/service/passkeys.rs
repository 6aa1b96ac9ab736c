//! The caller's passkeys: `GET /auth/passkeys` and `DELETE /auth/passkeys/{passkey_id}`
//! (registering one and signing in with one build on the same store).

use super::accounts::Caller;
use super::AuthService;
use crate::domain::Passkey;
use crate::error::{AuthError, StoreError};

impl AuthService {
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
        match self.passkeys.remove_passkey(&user, passkey_id).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(AuthError::PasskeyNotFound),
            Err(e) => return Err(e.into()),
        }
        crate::security_event!(
            info,
            "passkey_removed",
            user_id = Some(caller.user_id.as_str()),
            session_id = Some(caller.session_id.as_str()),
            "passkey removed"
        );
        Ok(())
    }
}

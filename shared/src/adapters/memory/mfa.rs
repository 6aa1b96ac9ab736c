//! [`MfaStore`] in memory, with the DynamoDB adapter's conditions.

use async_trait::async_trait;

use super::{lock, MemoryStore};
use crate::domain::{MfaChallenge, TokenHash, TotpState, User};
use crate::error::StoreError;
use crate::ports::MfaStore;

impl MemoryStore {
    /// Applies `change` to `user`'s stored state if it is still that user and `allowed` holds.
    fn change_totp(
        &self,
        user: &User,
        allowed: impl FnOnce(&TotpState) -> bool,
        change: impl FnOnce(&mut TotpState),
    ) -> bool {
        let mut users = lock(&self.users);
        match users.get_mut(&user.username) {
            Some(stored) if stored.user_id == user.user_id && allowed(&stored.totp) => {
                change(&mut stored.totp);
                true
            }
            _ => false,
        }
    }
}

#[async_trait]
impl MfaStore for MemoryStore {
    async fn set_pending_totp(&self, user: &User, sealed: &str) -> Result<(), StoreError> {
        self.change_totp(
            user,
            |t| t.secret.is_none(),
            |t| t.pending = Some(sealed.into()),
        )
        .then_some(())
        .ok_or(StoreError::Conflict)
    }

    async fn enable_totp(
        &self,
        user: &User,
        sealed: &str,
        step: u64,
        recovery: &[String],
    ) -> Result<(), StoreError> {
        self.change_totp(
            user,
            |t| t.secret.is_none() && t.pending.as_deref() == Some(sealed),
            |t| {
                *t = TotpState {
                    secret: Some(sealed.into()),
                    pending: None,
                    last_step: step,
                    recovery_codes: recovery.to_vec(),
                }
            },
        )
        .then_some(())
        .ok_or(StoreError::Conflict)
    }

    async fn spend_totp_step(&self, user: &User, step: u64) -> Result<bool, StoreError> {
        Ok(self.change_totp(
            user,
            |t| t.secret.is_some() && t.last_step < step,
            |t| t.last_step = step,
        ))
    }

    async fn spend_recovery_code(&self, user: &User, hash: &str) -> Result<bool, StoreError> {
        Ok(self.change_totp(
            user,
            |t| t.recovery_codes.iter().any(|c| c == hash),
            |t| t.recovery_codes.retain(|c| c != hash),
        ))
    }

    async fn replace_recovery_codes(
        &self,
        user: &User,
        recovery: &[String],
    ) -> Result<(), StoreError> {
        self.change_totp(
            user,
            |t| t.secret.is_some(),
            |t| t.recovery_codes = recovery.to_vec(),
        )
        .then_some(())
        .ok_or(StoreError::Conflict)
    }

    async fn disable_totp(&self, user: &User) -> Result<(), StoreError> {
        self.change_totp(user, |_| true, |t| *t = TotpState::default())
            .then_some(())
            .ok_or(StoreError::NotFound)
    }

    async fn put_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        let mut all = lock(&self.challenges);
        if all.contains_key(&challenge.hash) {
            return Err(StoreError::Conflict);
        }
        all.insert(challenge.hash, challenge.clone());
        Ok(())
    }

    async fn get_challenge(&self, hash: &TokenHash) -> Result<Option<MfaChallenge>, StoreError> {
        Ok(lock(&self.challenges).get(hash).cloned())
    }

    async fn spend_challenge(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(lock(&self.challenges).remove(hash).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Username;
    use crate::ports::UserStore;

    #[tokio::test]
    async fn the_memory_twin_spends_steps_and_codes_once_as_dynamodb_does() {
        let store = MemoryStore::new();
        let user = User::new(
            "u1",
            Username::parse("tia").unwrap(),
            String::new(),
            vec![],
            0,
        );
        store.create_user(&user).await.unwrap();
        store.set_pending_totp(&user, "p").await.unwrap();
        assert!(store.enable_totp(&user, "q", 1, &[]).await.is_err());
        store
            .enable_totp(&user, "p", 10, &["h1".into(), "h2".into()])
            .await
            .unwrap();
        assert!(store.set_pending_totp(&user, "r").await.is_err());
        assert!(!store.spend_totp_step(&user, 10).await.unwrap());
        assert!(store.spend_totp_step(&user, 11).await.unwrap());
        assert!(store.spend_recovery_code(&user, "h1").await.unwrap());
        assert!(!store.spend_recovery_code(&user, "h1").await.unwrap());
        store.disable_totp(&user).await.unwrap();
        assert!(!store.spend_totp_step(&user, 12).await.unwrap());
        assert!(!store.spend_recovery_code(&user, "h2").await.unwrap());
    }
}

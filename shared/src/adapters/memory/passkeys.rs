//! [`PasskeyStore`] in memory, with the DynamoDB adapter's conditions.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{lock, MemoryStore};
use crate::domain::{Ceremony, Passkey, PasskeyUse, User};
use crate::error::StoreError;
use crate::ports::PasskeyStore;

#[derive(Default)]
pub(super) struct PasskeyState {
    passkeys: HashMap<String, Passkey>,
    ceremonies: HashMap<String, Ceremony>,
}

#[async_trait]
impl PasskeyStore for MemoryStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        let mut state = lock(&self.passkeys);
        if state.ceremonies.contains_key(&ceremony.id) {
            return Err(StoreError::Conflict);
        }
        state
            .ceremonies
            .insert(ceremony.id.clone(), ceremony.clone());
        Ok(())
    }

    async fn take_ceremony(&self, id: &str) -> Result<Option<Ceremony>, StoreError> {
        Ok(lock(&self.passkeys).ceremonies.remove(id))
    }

    async fn add_passkey(&self, passkey: &Passkey) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let mut state = lock(&self.passkeys);
        if state.passkeys.contains_key(&passkey.credential_id) {
            return Err(StoreError::Conflict);
        }
        let user = users
            .get_mut(&passkey.username)
            .filter(|u| u.user_id == passkey.user_id)
            .ok_or(StoreError::NotFound)?;
        user.passkeys.push(passkey.credential_id.clone());
        state
            .passkeys
            .insert(passkey.credential_id.clone(), passkey.clone());
        Ok(())
    }

    async fn passkey(&self, credential_id: &str) -> Result<Option<Passkey>, StoreError> {
        Ok(lock(&self.passkeys).passkeys.get(credential_id).cloned())
    }

    async fn passkeys_of(&self, user: &User) -> Result<Vec<Passkey>, StoreError> {
        let state = lock(&self.passkeys);
        let mut all: Vec<Passkey> = user
            .passkeys
            .iter()
            .filter_map(|id| state.passkeys.get(id))
            .filter(|p| p.user_id == user.user_id)
            .cloned()
            .collect();
        all.sort_by_key(|p| p.created_at);
        Ok(all)
    }

    async fn remove_passkey(&self, user: &User, credential_id: &str) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let mut state = lock(&self.passkeys);
        let owned = state
            .passkeys
            .get(credential_id)
            .is_some_and(|p| p.user_id == user.user_id);
        let stored = users
            .get_mut(&user.username)
            .filter(|u| u.user_id == user.user_id);
        match (owned, stored) {
            (true, Some(stored)) if !stored.could_sign_in_without_passkey(credential_id) => {
                Err(StoreError::Conflict)
            }
            (true, Some(stored)) => {
                state.passkeys.remove(credential_id);
                stored.passkeys.retain(|id| id != credential_id);
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn record_use(
        &self,
        passkey: &Passkey,
        used: &PasskeyUse,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.passkeys);
        match state.passkeys.get_mut(&passkey.credential_id) {
            Some(stored)
                if stored.sign_count == passkey.sign_count && stored.user_id == passkey.user_id =>
            {
                stored.sign_count = used.sign_count;
                stored.state = used.state.clone();
                stored.last_used_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

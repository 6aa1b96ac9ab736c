//! [`IdentityStore`] in memory, with the DynamoDB adapter's conditions.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{lock, MemoryStore};
use crate::domain::{Identity, LinkedIdentity, OauthFlow, Session, TokenHash, User};
use crate::error::StoreError;
use crate::ports::{IdentityStore, UserStore};

#[derive(Default)]
pub(super) struct IdentityState {
    identities: HashMap<(String, String), Identity>,
    flows: HashMap<TokenHash, OauthFlow>,
}

#[async_trait]
impl IdentityStore for MemoryStore {
    async fn put_flow(&self, flow: &OauthFlow) -> Result<(), StoreError> {
        let mut state = lock(&self.identities);
        if state.flows.contains_key(&flow.state_hash) {
            return Err(StoreError::Conflict);
        }
        state.flows.insert(flow.state_hash, flow.clone());
        Ok(())
    }

    async fn take_flow(&self, state_hash: &TokenHash) -> Result<Option<OauthFlow>, StoreError> {
        Ok(lock(&self.identities).flows.remove(state_hash))
    }

    async fn identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let key = (provider.to_string(), subject.to_string());
        Ok(lock(&self.identities).identities.get(&key).cloned())
    }

    async fn create_federated_user(
        &self,
        user: &User,
        identity: &Identity,
        session: &Session,
    ) -> Result<(), StoreError> {
        let key = (identity.provider.clone(), identity.subject.clone());
        if lock(&self.identities).identities.contains_key(&key) {
            return Err(StoreError::NotFound);
        }
        self.create_user_with_session(user, session).await?;
        lock(&self.identities)
            .identities
            .insert(key, identity.clone());
        Ok(())
    }

    async fn link_identity(&self, identity: &Identity) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let mut state = lock(&self.identities);
        let key = (identity.provider.clone(), identity.subject.clone());
        if state.identities.contains_key(&key) {
            return Err(StoreError::Conflict);
        }
        let user = users
            .get_mut(&identity.username)
            .filter(|u| u.user_id == identity.user_id)
            .ok_or(StoreError::NotFound)?;
        if user.identity_at(&identity.provider).is_some() {
            return Err(StoreError::Conflict);
        }
        user.identities.push(identity.linked());
        user.identities.sort();
        state.identities.insert(key, identity.clone());
        Ok(())
    }

    async fn unlink_identity(
        &self,
        user: &User,
        identity: &LinkedIdentity,
    ) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let mut state = lock(&self.identities);
        let key = (identity.provider.clone(), identity.subject.clone());
        if state.identities.get(&key).map(|i| &i.user_id) != Some(&user.user_id) {
            return Err(StoreError::NotFound);
        }
        let stored = users
            .get_mut(&user.username)
            .filter(|u| u.user_id == user.user_id && u.identities.contains(identity))
            .ok_or(StoreError::Conflict)?;
        if !stored.could_sign_in_without(identity) {
            return Err(StoreError::Conflict);
        }
        stored.identities.retain(|i| i != identity);
        state.identities.remove(&key);
        Ok(())
    }
}

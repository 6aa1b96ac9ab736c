//! [`EmailStore`] in memory, with the DynamoDB adapter's rules: one owner per address, one
//! outstanding token per user and kind, spending a token conditional on it being that one.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{lock, MemoryStore};
use crate::domain::{Email, EmailToken, EmailTokenKind, SessionCutoff, TokenHash, User, Username};
use crate::error::StoreError;
use crate::ports::EmailStore;

#[derive(Default)]
pub(super) struct EmailState {
    /// Address → its owner (as created).
    pub(super) claims: HashMap<Email, User>,
    tokens: HashMap<TokenHash, EmailToken>,
    /// The outstanding token of each user and kind.
    outstanding: HashMap<(Username, &'static str), TokenHash>,
    /// Address → (window start, mails in it).
    rate: HashMap<Email, (u64, u32)>,
}

impl EmailState {
    fn owned_by(&self, email: &Email, user_id: &str) -> bool {
        self.claims
            .get(email)
            .is_none_or(|owner| owner.user_id == user_id)
    }

    fn is_outstanding(&self, token: &EmailToken) -> bool {
        self.outstanding
            .get(&(token.username.clone(), token.kind.as_str()))
            .is_some_and(|h| h.matches(&token.hash))
    }
}

#[async_trait]
impl EmailStore for MemoryStore {
    async fn owner_of(&self, email: &Email) -> Result<Option<Username>, StoreError> {
        Ok(lock(&self.email)
            .claims
            .get(email)
            .map(|u| u.username.clone()))
    }

    async fn reserve_mail(&self, email: &Email, now: u64, max: u32) -> Result<bool, StoreError> {
        let mut state = lock(&self.email);
        let window = state.rate.entry(email.clone()).or_insert((now, 0));
        if window.0 + 3600 <= now {
            *window = (now, 0);
        }
        if window.1 >= max {
            return Ok(false);
        }
        window.1 += 1;
        Ok(true)
    }

    async fn put_token(&self, token: &EmailToken) -> Result<(), StoreError> {
        let users = lock(&self.users);
        if users
            .get(&token.username)
            .is_none_or(|u| u.user_id != token.user_id)
        {
            return Err(StoreError::NotFound);
        }
        let mut state = lock(&self.email);
        state.tokens.insert(token.hash, token.clone());
        state
            .outstanding
            .insert((token.username.clone(), token.kind.as_str()), token.hash);
        Ok(())
    }

    async fn get_token(&self, hash: &TokenHash) -> Result<Option<EmailToken>, StoreError> {
        Ok(lock(&self.email).tokens.get(hash).cloned())
    }

    async fn confirm_email(
        &self,
        token: &EmailToken,
        previous: Option<&Email>,
    ) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let mut state = lock(&self.email);
        let user = users
            .get_mut(&token.username)
            .filter(|u| u.user_id == token.user_id && token.kind == EmailTokenKind::Verify)
            .ok_or(StoreError::Conflict)?;
        if !state.is_outstanding(token) {
            return Err(StoreError::Conflict);
        }
        if !state.owned_by(&token.email, &token.user_id) {
            return Err(StoreError::EmailTaken);
        }
        user.email = Some(token.email.clone());
        user.email_verified = true;
        let user = user.clone();
        if let Some(old) = previous.filter(|p| **p != token.email) {
            state.claims.remove(old);
        }
        state.claims.insert(token.email.clone(), user);
        state.tokens.remove(&token.hash);
        for kind in ["verify", "reset"] {
            state.outstanding.remove(&(token.username.clone(), kind));
        }
        Ok(())
    }

    async fn reset_password(
        &self,
        token: &EmailToken,
        new_hash: &str,
        cutoff: &SessionCutoff,
    ) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let mut state = lock(&self.email);
        let user = users
            .get_mut(&token.username)
            .filter(|u| u.user_id == token.user_id && u.email.as_ref() == Some(&token.email))
            .ok_or(StoreError::Conflict)?;
        if token.kind != EmailTokenKind::Reset || !state.is_outstanding(token) {
            return Err(StoreError::Conflict);
        }
        user.password_hash = new_hash.to_string();
        user.sessions_cutoff = Some(cutoff.clone());
        user.email_verified = true;
        state.tokens.remove(&token.hash);
        state.outstanding.remove(&(token.username.clone(), "reset"));
        Ok(())
    }

    async fn set_email(
        &self,
        user: &User,
        email: &Email,
        verified: bool,
    ) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let mut state = lock(&self.email);
        if !state.owned_by(email, &user.user_id) {
            return Err(StoreError::EmailTaken);
        }
        let stored = users
            .get_mut(&user.username)
            .filter(|u| u.user_id == user.user_id)
            .ok_or(StoreError::NotFound)?;
        if let Some(old) = stored.email.clone().filter(|old| old != email) {
            state.claims.remove(&old);
        }
        stored.email = Some(email.clone());
        stored.email_verified = verified;
        state.claims.insert(email.clone(), stored.clone());
        for kind in ["verify", "reset"] {
            state.outstanding.remove(&(user.username.clone(), kind));
        }
        Ok(())
    }

    async fn delete_registration(&self, user: &User, session_id: &str) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        if users
            .get(&user.username)
            .is_some_and(|u| u.user_id == user.user_id)
        {
            users.remove(&user.username);
        }
        lock(&self.sessions).remove(&(user.username.clone(), session_id.to_string()));
        if let Some(email) = &user.email {
            let mut state = lock(&self.email);
            if state.owned_by(email, &user.user_id) {
                state.claims.remove(email);
            }
        }
        Ok(())
    }
}

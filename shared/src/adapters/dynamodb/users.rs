//! [`UserStore`] over the users table.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use crate::domain::{PasswordReplacement, Session, User, Username};
use crate::error::StoreError;
use crate::ports::UserStore;

use super::item::*;
use super::transact::put;
use super::*;

#[async_trait]
impl UserStore for DynamoStore {
    async fn get_user(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.users_table)
            .key("username", s(username.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item.as_ref().map(user_from_item).transpose()
    }

    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.users_table)
            .set_item(Some(user_to_item(user)))
            .condition_expression("attribute_not_exists(username)")
            .send()
            .await;
        conditional(result)?.map(drop).ok_or(StoreError::Conflict)
    }

    async fn set_disabled(&self, username: &Username, disabled: bool) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.users_table)
            .key("username", s(username.as_str()))
            .update_expression("SET disabled = :d")
            .condition_expression("attribute_exists(username)")
            .expression_attribute_values(":d", AttributeValue::Bool(disabled))
            .send()
            .await;
        conditional(result)?.map(drop).ok_or(StoreError::NotFound)
    }

    /// One TransactWriteItems: the user and the session, each conditional on not existing.
    async fn create_user_with_session(
        &self,
        user: &User,
        session: &Session,
    ) -> Result<(), StoreError> {
        match self.transact(self.new_user_items(user, session)?).await? {
            None => Ok(()),
            Some(NEW_USER_EMAIL_CLAIM) => Err(StoreError::EmailTaken),
            Some(_) => Err(StoreError::Conflict),
        }
    }

    async fn replace_password(&self, change: PasswordReplacement<'_>) -> Result<(), StoreError> {
        let PasswordReplacement {
            username,
            expected,
            new_hash,
            cutoff,
        } = change;
        let mut set = vec!["password_hash = :new"];
        let mut values = HashMap::from([(":new".to_string(), s(new_hash))]);
        if !expected.is_empty() {
            values.insert(":old".to_string(), s(expected));
        }
        let mut remove = "";
        if let Some(cut) = cutoff {
            set.push("sessions_cutoff_ms = :cut");
            values.insert(":cut".into(), n(cut.at_ms));
            match &cut.kept {
                Some(kept) => {
                    set.push("kept_session = :kept");
                    values.insert(":kept".into(), s(kept));
                }
                None => remove = " REMOVE kept_session",
            }
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.users_table)
            .key("username", s(username.as_str()))
            .update_expression(format!("SET {}{remove}", set.join(", ")))
            .condition_expression(match expected.is_empty() {
                // No password yet (a federated sign-up): set one only if there still is none.
                true => "attribute_exists(username) AND attribute_not_exists(password_hash)",
                false => "password_hash = :old",
            })
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        conditional(result)?.map(drop).ok_or(StoreError::Conflict)
    }
}

/// Where [`DynamoStore::new_user_items`] puts the address claim (when the user has one).
pub(super) const NEW_USER_EMAIL_CLAIM: usize = 2;

impl DynamoStore {
    /// A sign-up's writes, each on condition that it is new: the user, its first session and,
    /// at [`NEW_USER_EMAIL_CLAIM`], its address claim.
    pub(super) fn new_user_items(
        &self,
        user: &User,
        session: &Session,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = vec![
            put(
                &self.users_table,
                user_to_item(user),
                Some("attribute_not_exists(username)"),
                &[],
            )?,
            put(
                &self.sessions_table,
                session_to_item(session),
                Some("attribute_not_exists(session_id)"),
                &[],
            )?,
        ];
        if let Some(email) = &user.email {
            items.push(put(
                &self.users_table,
                super::email::claim_item(email, user),
                Some("attribute_not_exists(username)"),
                &[],
            )?);
        }
        Ok(items)
    }
}

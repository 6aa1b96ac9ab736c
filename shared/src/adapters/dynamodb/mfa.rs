//! [`MfaStore`] on the user item: the sealed TOTP secret (pending until confirmed, then on),
//! the last spent time step, and the recovery codes as a string set of hashes. Each change is
//! one conditional `UpdateItem`, so a step or a recovery code is spent once however many
//! requests present it at the same moment.
//!
//! A pending second step (an `mfa_token`) is an item of the sessions table,
//! `#mfa-token#<sha256 hex>` (TTL at its expiry), spent by a conditional `DeleteItem`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use std::collections::HashMap;

use crate::domain::{MfaChallenge, TokenHash, User, Username};
use crate::error::StoreError;
use crate::ports::MfaStore;

use super::item::*;
use super::*;

impl DynamoStore {
    /// One conditional update of `user`'s item; `Ok(false)` when the condition failed.
    async fn update_user(
        &self,
        user: &User,
        expression: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.users_table)
            .key("username", s(user.username.as_str()))
            .update_expression(expression)
            .condition_expression(format!("user_id = :uid AND ({condition})"))
            .expression_attribute_values(":uid", s(&user.user_id));
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        Ok(conditional(request.send().await)?.is_some())
    }
}

fn challenge_key(hash: &TokenHash) -> Item {
    HashMap::from([
        (
            "username".to_string(),
            s(&format!("#mfa-token#{}", hash.to_hex())),
        ),
        ("session_id".to_string(), s("challenge")),
    ])
}

fn challenge_from_item(item: &Item, hash: &TokenHash) -> Result<MfaChallenge, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("mfa token: {what}"));
    Ok(MfaChallenge {
        hash: *hash,
        username: Username::parse(&get_s(item, "owner")?).map_err(|_| corrupt("owner"))?,
        user_id: get_s(item, "owner_id")?,
        device_id: get_s(item, "device_id")?,
        known_device: get_s(item, "known_device").ok(),
        started_ms: get_n(item, "started_ms")?,
        expires_at: get_n(item, "expires_at")?,
    })
}

fn hashes(codes: &[String]) -> AttributeValue {
    AttributeValue::Ss(codes.to_vec())
}

#[async_trait]
impl MfaStore for DynamoStore {
    async fn set_pending_totp(&self, user: &User, sealed: &str) -> Result<(), StoreError> {
        let done = self
            .update_user(
                user,
                "SET totp_pending = :s",
                "attribute_not_exists(totp_secret)",
                vec![(":s", s(sealed))],
            )
            .await?;
        done.then_some(()).ok_or(StoreError::Conflict)
    }

    async fn enable_totp(
        &self,
        user: &User,
        sealed: &str,
        step: u64,
        recovery: &[String],
    ) -> Result<(), StoreError> {
        let done = self
            .update_user(
                user,
                "SET totp_secret = :s, totp_last_step = :step, recovery_codes = :codes \
                 REMOVE totp_pending",
                "totp_pending = :s AND attribute_not_exists(totp_secret)",
                vec![
                    (":s", s(sealed)),
                    (":step", n(step)),
                    (":codes", hashes(recovery)),
                ],
            )
            .await?;
        done.then_some(()).ok_or(StoreError::Conflict)
    }

    async fn spend_totp_step(&self, user: &User, step: u64) -> Result<bool, StoreError> {
        self.update_user(
            user,
            "SET totp_last_step = :step",
            "attribute_exists(totp_secret) AND totp_last_step < :step",
            vec![(":step", n(step))],
        )
        .await
    }

    async fn spend_recovery_code(&self, user: &User, hash: &str) -> Result<bool, StoreError> {
        self.update_user(
            user,
            "DELETE recovery_codes :one",
            "contains(recovery_codes, :h)",
            vec![(":one", hashes(&[hash.to_string()])), (":h", s(hash))],
        )
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user: &User,
        recovery: &[String],
    ) -> Result<(), StoreError> {
        let done = self
            .update_user(
                user,
                "SET recovery_codes = :codes",
                "attribute_exists(totp_secret)",
                vec![(":codes", hashes(recovery))],
            )
            .await?;
        done.then_some(()).ok_or(StoreError::Conflict)
    }

    async fn disable_totp(&self, user: &User) -> Result<(), StoreError> {
        let done = self
            .update_user(
                user,
                "REMOVE totp_secret, totp_last_step, recovery_codes, totp_pending",
                "attribute_exists(username)",
                vec![],
            )
            .await?;
        done.then_some(()).ok_or(StoreError::NotFound)
    }

    async fn put_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        let mut item = challenge_key(&challenge.hash);
        item.insert("owner".into(), s(challenge.username.as_str()));
        item.insert("owner_id".into(), s(&challenge.user_id));
        item.insert("device_id".into(), s(&challenge.device_id));
        if let Some(device) = &challenge.known_device {
            item.insert("known_device".into(), s(device));
        }
        item.insert("started_ms".into(), n(challenge.started_ms));
        item.insert("expires_at".into(), n(challenge.expires_at));
        item.insert(TTL_ATTRIBUTE.into(), n(challenge.expires_at));
        self.put_new_session_item(item).await
    }

    async fn get_challenge(&self, hash: &TokenHash) -> Result<Option<MfaChallenge>, StoreError> {
        self.consistent_item(&self.sessions_table, challenge_key(hash))
            .await?
            .as_ref()
            .map(|item| challenge_from_item(item, hash))
            .transpose()
    }

    async fn spend_challenge(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let deleted = conditional(
            self.client
                .delete_item()
                .table_name(&self.sessions_table)
                .set_key(Some(challenge_key(hash)))
                .condition_expression("attribute_exists(username)")
                .send()
                .await,
        )?;
        Ok(deleted.is_some())
    }
}

//! DynamoDB adapter for [`UserStore`] and [`SessionStore`].
//!
//! Table design (see docs/development.md, "Data model"):
//! - users: partition key `username` (S). `user_id`, `password_hash`, `roles` (L), `disabled`,
//!   `created_at`.
//! - sessions: partition key `username` (S), sort key `session_id` (S): one user's sessions
//!   are one Query away (logout-all, eviction, `authctl sessions list`), no scan, no GSI.
//!   `ttl` (N, epoch seconds) is the TTL attribute; expiry is also checked on every read.

mod email;
mod identities;
mod item;
mod mfa;
mod passkeys;
mod revocation;
mod sessions;
mod throttle;
mod transact;
mod users;

pub use revocation::{REVOCATION_SESSION_ATTRIBUTES, REVOCATION_USER_ATTRIBUTES};

use item::*;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;

use crate::domain::Username;
use crate::error::StoreError;

pub const TTL_ATTRIBUTE: &str = "ttl";
pub(super) const BATCH_WRITE_MAX: usize = 25;
pub(super) const UNPROCESSED_RETRIES: u32 = 5;

pub(super) type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    users_table: String,
    sessions_table: String,
}

impl DynamoStore {
    /// The session item and its user's item in one strongly consistent BatchGetItem (retrying
    /// only keys DynamoDB left unprocessed), each limited to `projection` if given.
    async fn session_and_user(
        &self,
        username: &Username,
        session_id: &str,
        session_projection: Option<&[&str]>,
        user_projection: Option<&[&str]>,
    ) -> Result<(Option<Item>, Option<Item>), StoreError> {
        let keys = |key: Item, projection: Option<&[&str]>| {
            let mut b = KeysAndAttributes::builder().keys(key).consistent_read(true);
            if let Some(attrs) = projection {
                // Placeholders for every name: some attribute names are reserved words.
                let names: Vec<String> = (0..attrs.len()).map(|i| format!("#a{i}")).collect();
                b = b.projection_expression(names.join(", "));
                for (name, attr) in names.iter().zip(attrs) {
                    b = b.expression_attribute_names(name, *attr);
                }
            }
            b.build().map_err(StoreError::unavailable)
        };
        let mut request = HashMap::from([
            (
                self.sessions_table.clone(),
                keys(Self::session_key(username, session_id), session_projection)?,
            ),
            (
                self.users_table.clone(),
                keys(
                    HashMap::from([("username".to_string(), s(username.as_str()))]),
                    user_projection,
                )?,
            ),
        ]);
        let (mut session, mut user) = (None, None);
        for attempt in 0..=UNPROCESSED_RETRIES {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for (table, items) in out.responses.unwrap_or_default() {
                for item in items {
                    if table == self.sessions_table {
                        session = Some(item);
                    } else if table == self.users_table {
                        user = Some(item);
                    }
                }
            }
            request = out.unprocessed_keys.unwrap_or_default();
            if request.is_empty() {
                return Ok((session, user));
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(StoreError::unavailable(Throttled))
    }
    pub fn new(client: Client, users_table: String, sessions_table: String) -> Self {
        DynamoStore {
            client,
            users_table,
            sessions_table,
        }
    }

    fn session_key(username: &Username, session_id: &str) -> Item {
        HashMap::from([
            ("username".to_string(), s(username.as_str())),
            ("session_id".to_string(), s(session_id)),
        ])
    }

    /// One item of `table` (a mailed token, a pending second step, a passkey), read strongly
    /// consistent: a token spent a moment ago is seen spent.
    pub(super) async fn consistent_item(
        &self,
        table: &str,
        key: Item,
    ) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?
            .item)
    }

    /// Writes a new item of the sessions table (a pending second step, a ceremony: fresh
    /// random ids), [`StoreError::Conflict`] if one is there already.
    /// Whether `username` is still the user `user_id` (a strongly consistent read): after a
    /// transaction's condition on the user failed, whether the user is gone (or another one
    /// now) or only the rest of the condition failed.
    pub(super) async fn still_owner(
        &self,
        username: &Username,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let key = HashMap::from([("username".to_string(), s(username.as_str()))]);
        let item = self.consistent_item(&self.users_table, key).await?;
        Ok(item.is_some_and(|item| get_s(&item, "user_id").is_ok_and(|id| id == user_id)))
    }

    /// Deletes the sessions-table item `key` if it is there and returns it as it was: of any
    /// number of concurrent calls for one key, one gets it (a ceremony, a flow: single use).
    pub(super) async fn take_session_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let deleted = conditional(
            self.client
                .delete_item()
                .table_name(&self.sessions_table)
                .set_key(Some(key))
                .condition_expression("attribute_exists(username)")
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
                .await,
        )?;
        Ok(deleted.and_then(|out| out.attributes))
    }

    pub(super) async fn put_new_session_item(&self, item: Item) -> Result<(), StoreError> {
        let written = conditional(
            self.client
                .put_item()
                .table_name(&self.sessions_table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(username)")
                .send()
                .await,
        )?;
        written.map(drop).ok_or(StoreError::Conflict)
    }
}

/// The one shape of every conditional write here: `Ok(Some(output))` when it was written,
/// `Ok(None)` when its condition failed (what that means is the caller's: a conflict, a lost
/// race, nothing to do), and [`StoreError::Unavailable`] for anything else.
pub(super) fn conditional<T, E, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<Option<T>, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(StoreError::unavailable(e)),
    }
}

/// Whether an SDK error is DynamoDB's ConditionalCheckFailedException (of any operation).
pub(super) fn is_conditional_failure<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(20u64 << attempt.min(6))
}

#[derive(Debug, thiserror::Error)]
#[error("DynamoDB left items unprocessed after retries (throttled)")]
pub(super) struct Throttled;

//! DynamoDB adapter for [`UserStore`] and [`SessionStore`].
//!
//! Table design (see README "Data model"):
//! - users: partition key `username` (S). `user_id`, `password_hash`, `roles` (L), `disabled`,
//!   `created_at`.
//! - sessions: partition key `username` (S), sort key `session_id` (S): one user's sessions
//!   are one Query away (logout-all, eviction, `authctl sessions list`), no scan, no GSI.
//!   `ttl` (N, epoch seconds) is the TTL attribute; expiry is also checked on every read.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;

use crate::domain::revocation::{LiveSession, LiveUser};
use crate::domain::{
    FailureRecord, LockoutPolicy, NextAttempt, Session, SessionCutoff, SessionSummary, ThrottleKey,
    TokenHash, User, Username,
};
use crate::error::StoreError;
use crate::ports::{Reservation, RevocationStore, SessionStore, ThrottleStore, UserStore};

pub const TTL_ATTRIBUTE: &str = "ttl";
const BATCH_WRITE_MAX: usize = 25;
const UNPROCESSED_RETRIES: u32 = 5;

type Item = HashMap<String, AttributeValue>;

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
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} missing or not S"
        ))),
    }
}

fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("attribute {name} is not a u64"))),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} missing or not N"
        ))),
    }
}

/// `<name>_ms`, or for an item written before milliseconds were stored, `<name>` seconds
/// (rounded down: a grace window then looks older than it is, never younger).
fn get_ms(item: &Item, name: &str) -> Result<u64, StoreError> {
    match get_n(item, &format!("{name}_ms")) {
        Ok(ms) => Ok(ms),
        Err(_) => Ok(get_n(item, name)?.saturating_mul(1000)),
    }
}

fn get_hash(item: &Item, name: &str) -> Result<Option<TokenHash>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => TokenHash::from_hex(v)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} is not a hash"))),
        _ => Err(StoreError::Corrupt(format!("attribute {name} is not S"))),
    }
}

fn get_list_s(item: &Item, name: &str) -> Result<Vec<String>, StoreError> {
    match item.get(name) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::S(x) => Ok(x.clone()),
                _ => Err(StoreError::Corrupt(format!("{name} holds a non-string"))),
            })
            .collect(),
        _ => Err(StoreError::Corrupt(format!("attribute {name} is not L"))),
    }
}

fn username_of(item: &Item) -> Result<Username, StoreError> {
    Username::parse(&get_s(item, "username")?)
        .map_err(|_| StoreError::Corrupt("username is not valid".into()))
}

pub(crate) fn user_to_item(user: &User) -> Item {
    let mut item = HashMap::from([
        ("username".to_string(), s(user.username.as_str())),
        ("user_id".to_string(), s(&user.user_id)),
        ("password_hash".to_string(), s(&user.password_hash)),
        (
            "roles".to_string(),
            AttributeValue::L(user.roles.iter().map(|r| s(r)).collect()),
        ),
        ("disabled".to_string(), AttributeValue::Bool(user.disabled)),
        ("created_at".to_string(), n(user.created_at)),
    ]);
    if let Some(cut) = &user.sessions_cutoff {
        cutoff_attributes(&mut item, cut);
    }
    item
}

/// `sessions_cutoff_ms` and, when a session was kept, `kept_session`.
fn cutoff_attributes(item: &mut Item, cut: &SessionCutoff) {
    item.insert("sessions_cutoff_ms".into(), n(cut.at_ms));
    if let Some(kept) = &cut.kept {
        item.insert("kept_session".into(), s(kept));
    }
}

fn user_from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        username: username_of(item)?,
        user_id: get_s(item, "user_id")?,
        password_hash: get_s(item, "password_hash")?,
        roles: get_list_s(item, "roles")?,
        disabled: matches!(item.get("disabled"), Some(AttributeValue::Bool(true))),
        created_at: get_n(item, "created_at").unwrap_or(0),
        sessions_cutoff: cutoff_of(item)?,
    })
}

fn cutoff_of(item: &Item) -> Result<Option<SessionCutoff>, StoreError> {
    Ok(match item.get("sessions_cutoff_ms") {
        None => None,
        Some(_) => Some(SessionCutoff {
            at_ms: get_n(item, "sessions_cutoff_ms")?,
            kept: item
                .get("kept_session")
                .and_then(|v| v.as_s().ok())
                .cloned(),
        }),
    })
}

fn session_to_item(session: &Session) -> Item {
    let mut item = DynamoStore::session_key(&session.username, &session.session_id);
    item.insert("user_id".into(), s(&session.user_id));
    item.insert("device_id".into(), s(&session.device_id));
    // Seconds for people and tools, milliseconds for the eviction order.
    item.insert("created_at".into(), n(session.created_at()));
    item.insert("created_at_ms".into(), n(session.created_at_ms));
    item.insert("last_used_at".into(), n(session.last_used_at));
    item.insert("expires_at".into(), n(session.expires_at));
    item.insert("absolute_expires_at".into(), n(session.absolute_expires_at));
    item.insert(TTL_ATTRIBUTE.into(), n(session.ends_at()));
    item.insert("token_hash".into(), s(&session.token_hash.to_hex()));
    if let Some(prev) = &session.prev_hash {
        item.insert("prev_hash".into(), s(&prev.to_hex()));
    }
    item.insert("rotated_at".into(), n(session.rotated_at_ms / 1000));
    item.insert("rotated_at_ms".into(), n(session.rotated_at_ms));
    if let Some(kid) = &session.successor_kid {
        item.insert("successor_kid".into(), s(kid));
    }
    item.insert(
        "spent".into(),
        AttributeValue::L(session.spent.iter().map(|h| s(&h.to_hex())).collect()),
    );
    item.insert("version".into(), n(session.version));
    item
}

fn session_from_item(item: &Item) -> Result<Session, StoreError> {
    Ok(Session {
        username: username_of(item)?,
        session_id: get_s(item, "session_id")?,
        user_id: get_s(item, "user_id")?,
        device_id: get_s(item, "device_id")?,
        created_at_ms: get_ms(item, "created_at")?,
        last_used_at: get_n(item, "last_used_at")?,
        expires_at: get_n(item, "expires_at")?,
        absolute_expires_at: get_n(item, "absolute_expires_at")?,
        token_hash: get_hash(item, "token_hash")?
            .ok_or_else(|| StoreError::Corrupt("token_hash missing".into()))?,
        prev_hash: get_hash(item, "prev_hash")?,
        rotated_at_ms: get_ms(item, "rotated_at")?,
        successor_kid: item
            .get("successor_kid")
            .and_then(|v| v.as_s().ok())
            .cloned(),
        spent: get_list_s(item, "spent")?
            .iter()
            .map(|h| TokenHash::from_hex(h).ok_or_else(|| StoreError::Corrupt("spent hash".into())))
            .collect::<Result<_, _>>()?,
        version: get_n(item, "version")?,
    })
}

fn summary_from_item(item: &Item) -> Result<SessionSummary, StoreError> {
    let expires_at = get_n(item, "expires_at")?;
    let absolute = get_n(item, "absolute_expires_at")?;
    Ok(SessionSummary {
        session_id: get_s(item, "session_id")?,
        device_id: get_s(item, "device_id")?,
        created_at_ms: get_ms(item, "created_at")?,
        last_used_at: get_n(item, "last_used_at")?,
        expires_at: expires_at.min(absolute),
    })
}

/// Whether an SDK error is DynamoDB's ConditionalCheckFailedException (of any operation).
fn is_conditional_failure<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(20u64 << attempt.min(6))
}

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
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict),
            Err(e) => Err(StoreError::unavailable(e)),
        }
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
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// One TransactWriteItems: the user and the session, each conditional on not existing.
    async fn create_user_with_session(
        &self,
        user: &User,
        session: &Session,
    ) -> Result<(), StoreError> {
        let put = |table: &str, item: Item, condition: &str| {
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression(condition)
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(StoreError::unavailable)
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(
                &self.users_table,
                user_to_item(user),
                "attribute_not_exists(username)",
            )?)
            .transact_items(put(
                &self.sessions_table,
                session_to_item(session),
                "attribute_not_exists(session_id)",
            )?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let conflict = e.as_service_error().is_some_and(|s| {
                    s.is_transaction_canceled_exception()
                        && transaction_reasons(s)
                            .iter()
                            .any(|code| code == "ConditionalCheckFailed")
                });
                if conflict {
                    Err(StoreError::Conflict)
                } else {
                    Err(StoreError::unavailable(e))
                }
            }
        }
    }

    async fn replace_password(
        &self,
        username: &Username,
        expected: &str,
        new_hash: &str,
        cutoff: Option<&SessionCutoff>,
    ) -> Result<(), StoreError> {
        let mut set = vec!["password_hash = :new"];
        let mut values = HashMap::from([
            (":new".to_string(), s(new_hash)),
            (":old".to_string(), s(expected)),
        ]);
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
            .condition_expression("password_hash = :old")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }
}

/// The cancellation reason codes of a cancelled transaction, in item order.
fn transaction_reasons(
    err: &aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
) -> Vec<String> {
    match err {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => t
            .cancellation_reasons()
            .iter()
            .filter_map(|r| r.code().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.sessions_table)
            .set_item(Some(session_to_item(session)))
            .condition_expression("attribute_not_exists(session_id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn load_for_refresh(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(Option<Session>, Option<User>), StoreError> {
        let (session, user) = self
            .session_and_user(username, session_id, None, None)
            .await?;
        Ok((
            session.as_ref().map(session_from_item).transpose()?,
            user.as_ref().map(user_from_item).transpose()?,
        ))
    }

    async fn rotate(&self, next: &Session, expected_version: u64) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.sessions_table)
            .set_item(Some(session_to_item(next)))
            .condition_expression("attribute_exists(session_id) AND version = :v")
            .expression_attribute_values(":v", n(expected_version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn delete_session_if_token(
        &self,
        username: &Username,
        session_id: &str,
        token_hash: &TokenHash,
        now: u64,
    ) -> Result<Option<Session>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.sessions_table)
            .set_key(Some(Self::session_key(username, session_id)))
            .condition_expression("(token_hash = :h OR prev_hash = :h) AND #ttl > :now")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":h", s(&token_hash.to_hex()))
            .expression_attribute_values(":now", n(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.as_ref().map(session_from_item).transpose(),
            Err(e) if is_conditional_failure(&e) => Ok(None),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn delete_session(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.sessions_table)
            .set_key(Some(Self::session_key(username, session_id)))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn list_sessions(&self, username: &Username) -> Result<Vec<SessionSummary>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.sessions_table)
                .key_condition_expression("username = :u")
                .expression_attribute_values(":u", s(username.as_str()))
                .projection_expression(
                    "session_id, device_id, created_at, created_at_ms, last_used_at, expires_at, absolute_expires_at",
                )
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in page.items.unwrap_or_default() {
                out.push(summary_from_item(&item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| (a.created_at_ms, &a.session_id).cmp(&(b.created_at_ms, &b.session_id)));
        Ok(out)
    }

    async fn delete_sessions(
        &self,
        username: &Username,
        session_ids: &[String],
    ) -> Result<(), StoreError> {
        for chunk in session_ids.chunks(BATCH_WRITE_MAX) {
            let mut writes = Vec::with_capacity(chunk.len());
            for id in chunk {
                let delete = DeleteRequest::builder()
                    .set_key(Some(Self::session_key(username, id)))
                    .build()
                    .map_err(StoreError::unavailable)?;
                writes.push(WriteRequest::builder().delete_request(delete).build());
            }
            let mut request = HashMap::from([(self.sessions_table.clone(), writes)]);
            let mut attempt = 0;
            loop {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(request))
                    .send()
                    .await
                    .map_err(StoreError::unavailable)?;
                request = out.unprocessed_items.unwrap_or_default();
                request.retain(|_, w| !w.is_empty());
                if request.is_empty() {
                    break;
                }
                if attempt >= UNPROCESSED_RETRIES {
                    return Err(StoreError::unavailable(Throttled));
                }
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
        }
        Ok(())
    }
}

/// Failed-login counters live in the sessions table under a partition no username can have
/// (`#` is not allowed in usernames), so no extra table is needed and TTL cleans them up: one
/// item for the username from anywhere, one per known device (`device#<id>`).
fn throttle_key(key: &ThrottleKey) -> Item {
    HashMap::from([
        (
            "username".to_string(),
            s(&format!("#login-failures#{}", key.username.as_str())),
        ),
        (
            "session_id".to_string(),
            s(&match &key.device {
                None => "throttle".to_string(),
                Some(device) => format!("device#{device}"),
            }),
        ),
    ])
}

fn failure_record(item: &Item) -> Result<FailureRecord, StoreError> {
    Ok(FailureRecord {
        failures: u32::try_from(get_n(item, "failures")?).unwrap_or(u32::MAX),
        last_failure: get_n(item, "last_failure")?,
        locked_until: match item.get("locked_until") {
            None => None,
            Some(_) => Some(get_n(item, "locked_until")?),
        },
    })
}

/// How long a counter item is kept: past its window and the longest lockout.
fn throttle_ttl(now: u64, policy: &LockoutPolicy) -> AttributeValue {
    n(now
        .saturating_add(policy.window)
        .saturating_add(policy.cap)
        .saturating_add(1))
}

#[async_trait]
impl ThrottleStore for DynamoStore {
    /// One conditional UpdateItem in the common case: DynamoDB applies updates of one item one
    /// at a time, and the condition lets an increment through only while the count is below
    /// the threshold (or a lockout has run out), so of any number of concurrent attempts at most
    /// the threshold's worth get `Granted`. A refusal returns the item (ALL_OLD on condition
    /// failure), so telling "locked" from "no record yet" costs no extra read.
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Reservation, StoreError> {
        let cutoff = n(now.saturating_sub(policy.window));
        for _ in 0..=UNPROCESSED_RETRIES {
            let counted = self
                .client
                .update_item()
                .table_name(&self.sessions_table)
                .set_key(Some(throttle_key(key)))
                .update_expression(
                    "ADD failures :one SET last_failure = :now, #ttl = :ttl REMOVE locked_until",
                )
                // No record yet is the common case (a success deletes it): ADD creates it at 1.
                .condition_expression(
                    "attribute_not_exists(username) OR \
                     (last_failure >= :cutoff AND (failures < :max OR locked_until <= :now))",
                )
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":ttl", throttle_ttl(now, policy))
                .expression_attribute_values(":cutoff", cutoff.clone())
                .expression_attribute_values(":max", n(u64::from(policy.max_failures)))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let current = match counted {
                Ok(out) => {
                    let record = failure_record(&out.attributes.unwrap_or_default())?;
                    return Ok(Reservation::Granted {
                        failures: record.failures,
                    });
                }
                Err(e) if is_conditional_failure(&e) => e
                    .as_service_error()
                    .and_then(|e| match e {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item.clone(),
                        _ => None,
                    })
                    .map(|item| failure_record(&item))
                    .transpose()?,
                Err(e) => return Err(StoreError::unavailable(e)),
            };
            match policy.next_attempt(current.as_ref(), now) {
                NextAttempt::Refuse { until } => return Ok(Reservation::Refused { until }),
                // The record changed between the two (a lockout ran out, a success cleared
                // it): try the increment again.
                NextAttempt::Count => continue,
                NextAttempt::Restart => {}
            }
            // A stale record (its window passed): start again at 1, unless a concurrent attempt
            // just did (then the increment above takes the next turn).
            let mut item = throttle_key(key);
            item.insert("failures".into(), n(1));
            item.insert("last_failure".into(), n(now));
            item.insert(TTL_ATTRIBUTE.into(), throttle_ttl(now, policy));
            let started = self
                .client
                .put_item()
                .table_name(&self.sessions_table)
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(username) OR (last_failure < :cutoff AND \
                     (attribute_not_exists(locked_until) OR locked_until <= :now))",
                )
                .expression_attribute_values(":cutoff", cutoff.clone())
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            match started {
                Ok(_) => return Ok(Reservation::Granted { failures: 1 }),
                Err(e) if is_conditional_failure(&e) => continue,
                Err(e) => return Err(StoreError::unavailable(e)),
            }
        }
        // Still contended after every retry: so many attempts on one name at once is itself
        // the attack this guards against; refuse briefly rather than check a password.
        Ok(Reservation::Refused {
            until: now.saturating_add(1),
        })
    }

    async fn lock_until(&self, key: &ThrottleKey, until: u64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.sessions_table)
            .set_key(Some(throttle_key(key)))
            .update_expression("SET locked_until = :until")
            // Never shorten a lockout, never resurrect a cleared record.
            .condition_expression(
                "attribute_exists(username) AND \
                 (attribute_not_exists(locked_until) OR locked_until < :until)",
            )
            .expression_attribute_values(":until", n(until))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.sessions_table)
            .set_key(Some(throttle_key(key)))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("DynamoDB left items unprocessed after retries (throttled)")]
struct Throttled;
/// The attributes the session-checking authorizer reads; the template's IAM condition
/// (`dynamodb:Attributes`) allows these and nothing else.
pub const REVOCATION_SESSION_ATTRIBUTES: &[&str] = &[
    "username",
    "session_id",
    "user_id",
    "created_at",
    "created_at_ms",
    "expires_at",
    "absolute_expires_at",
];
pub const REVOCATION_USER_ATTRIBUTES: &[&str] = &[
    "username",
    "user_id",
    "disabled",
    "sessions_cutoff_ms",
    "kept_session",
];

#[async_trait]
impl RevocationStore for DynamoStore {
    async fn live_status(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(Option<LiveSession>, Option<LiveUser>), StoreError> {
        let (session, user) = self
            .session_and_user(
                username,
                session_id,
                Some(REVOCATION_SESSION_ATTRIBUTES),
                Some(REVOCATION_USER_ATTRIBUTES),
            )
            .await?;
        let session = match session {
            None => None,
            Some(item) => Some(LiveSession {
                user_id: get_s(&item, "user_id")?,
                created_at_ms: get_ms(&item, "created_at")?,
                ends_at: get_n(&item, "expires_at")?.min(get_n(&item, "absolute_expires_at")?),
            }),
        };
        let user = match user {
            None => None,
            Some(item) => Some(LiveUser {
                user_id: get_s(&item, "user_id")?,
                disabled: matches!(item.get("disabled"), Some(AttributeValue::Bool(true))),
                sessions_cutoff: cutoff_of(&item)?,
            }),
        };
        Ok((session, user))
    }
}

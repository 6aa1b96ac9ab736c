//! [`EmailStore`]: address claims, mailed tokens and the per-address mail counter.
//!
//! - An address is claimed by an item of the users table under a partition no username can
//!   have (`#email#<address>`, `#` is not allowed in usernames), holding its owner: the claim
//!   and the user's `email` are written in one transaction, so two users never hold one
//!   address, and `forgot` finds the owner with one GetItem (no scan, no index).
//! - A mailed token is an item of the sessions table (`#email-token#<sha256 hex>`, TTL at its
//!   expiry); the user item names the one outstanding token of each kind (`verify_token`,
//!   `reset_token`). Spending a token is a write conditional on that name, so a token works
//!   once, and a newer one (or a reset, or a verified address) voids the rest.
//! - Mails per address: `#mail-rate#<address>` in the sessions table, counted as the lockout
//!   counts failures (a conditional increment; a new window once the hour has passed).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use crate::domain::{Email, EmailToken, EmailTokenKind, SessionCutoff, TokenHash, User, Username};
use crate::error::StoreError;
use crate::ports::EmailStore;

use super::item::*;
use super::transact::{delete, put, update};
use super::*;

const HOUR: u64 = 3600;

fn claim_key(email: &Email) -> Item {
    HashMap::from([(
        "username".to_string(),
        s(&format!("#email#{}", email.as_str())),
    )])
}

fn token_key(hash: &TokenHash) -> Item {
    HashMap::from([
        (
            "username".to_string(),
            s(&format!("#email-token#{}", hash.to_hex())),
        ),
        ("session_id".to_string(), s("token")),
    ])
}

fn rate_key(email: &Email) -> Item {
    HashMap::from([
        (
            "username".to_string(),
            s(&format!("#mail-rate#{}", email.as_str())),
        ),
        ("session_id".to_string(), s("window")),
    ])
}

fn user_key(username: &Username) -> Item {
    HashMap::from([("username".to_string(), s(username.as_str()))])
}

/// The user attribute naming the outstanding token of `kind`.
fn pointer(kind: EmailTokenKind) -> &'static str {
    match kind {
        EmailTokenKind::Verify => "verify_token",
        EmailTokenKind::Reset => "reset_token",
    }
}

/// The claim item of `email` for `user`.
pub(super) fn claim_item(email: &Email, user: &User) -> Item {
    let mut item = claim_key(email);
    item.insert("owner".into(), s(user.username.as_str()));
    item.insert("owner_id".into(), s(&user.user_id));
    item
}

/// A claim may be (re)written by its owner only.
const CLAIM_FREE: &str = "attribute_not_exists(username) OR owner_id = :uid";

impl DynamoStore {
    /// Releasing the user's old claim, when there is one and it is another address.
    fn release(
        &self,
        previous: Option<&Email>,
        new: &Email,
        user: &str,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        match previous.filter(|p| *p != new) {
            None => Ok(None),
            Some(old) => Ok(Some(delete(
                &self.users_table,
                claim_key(old),
                Some(CLAIM_FREE),
                &[(":uid", s(user))],
            )?)),
        }
    }
}

fn token_from_item(item: &Item, hash: &TokenHash) -> Result<EmailToken, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("email token: {what}"));
    Ok(EmailToken {
        hash: *hash,
        kind: EmailTokenKind::parse(&get_s(item, "kind")?).ok_or_else(|| corrupt("kind"))?,
        username: Username::parse(&get_s(item, "owner")?).map_err(|_| corrupt("owner"))?,
        user_id: get_s(item, "owner_id")?,
        email: Email::parse(&get_s(item, "email")?).map_err(|_| corrupt("email"))?,
        expires_at: get_n(item, "expires_at")?,
    })
}

#[async_trait]
impl EmailStore for DynamoStore {
    async fn owner_of(&self, email: &Email) -> Result<Option<Username>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.users_table)
            .set_key(Some(claim_key(email)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        match out.item {
            None => Ok(None),
            Some(item) => Username::parse(&get_s(&item, "owner")?)
                .map(Some)
                .map_err(|_| StoreError::Corrupt("email claim owner".into())),
        }
    }

    async fn reserve_mail(&self, email: &Email, now: u64, max: u32) -> Result<bool, StoreError> {
        let cutoff = n(now.saturating_sub(HOUR));
        for _ in 0..=UNPROCESSED_RETRIES {
            let counted = self
                .client
                .update_item()
                .table_name(&self.sessions_table)
                .set_key(Some(rate_key(email)))
                .update_expression("ADD mails :one")
                .condition_expression("window_start > :cutoff AND mails < :max")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":cutoff", cutoff.clone())
                .expression_attribute_values(":max", n(u64::from(max)))
                .return_values_on_condition_check_failure(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let current = match counted {
                Ok(_) => return Ok(true),
                Err(e) if is_conditional_failure(&e) => e.as_service_error().and_then(|e| match e {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item.clone(),
                    _ => None,
                }),
                Err(e) => return Err(StoreError::unavailable(e)),
            };
            let window_start = current
                .as_ref()
                .map(|item| get_n(item, "window_start"))
                .transpose()?;
            if window_start.is_some_and(|start| start > now.saturating_sub(HOUR)) {
                // The hour is running and its mails are spent.
                return Ok(false);
            }
            // No window yet, or a passed one: start a new one at 1, unless a concurrent call
            // just did (then the increment above takes the next turn).
            let mut item = rate_key(email);
            item.insert("window_start".into(), n(now));
            item.insert("mails".into(), n(1));
            item.insert(TTL_ATTRIBUTE.into(), n(now + HOUR + 1));
            let started = self
                .client
                .put_item()
                .table_name(&self.sessions_table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(username) OR window_start <= :cutoff")
                .expression_attribute_values(":cutoff", cutoff.clone())
                .send()
                .await;
            if conditional(started)?.is_some() {
                return Ok(true);
            }
        }
        // Still contended after every retry: many mails to one address at once is the flood
        // this guards against.
        Ok(false)
    }

    async fn put_token(&self, token: &EmailToken) -> Result<(), StoreError> {
        let mut item = token_key(&token.hash);
        item.insert("kind".into(), s(token.kind.as_str()));
        item.insert("owner".into(), s(token.username.as_str()));
        item.insert("owner_id".into(), s(&token.user_id));
        item.insert("email".into(), s(token.email.as_str()));
        item.insert("expires_at".into(), n(token.expires_at));
        item.insert(TTL_ATTRIBUTE.into(), n(token.expires_at));
        let failed = self
            .transact(vec![
                put(&self.sessions_table, item, None, &[])?,
                update(
                    &self.users_table,
                    user_key(&token.username),
                    format!("SET {} = :h", pointer(token.kind)),
                    "user_id = :uid",
                    &[(":h", s(&token.hash.to_hex())), (":uid", s(&token.user_id))],
                )?,
            ])
            .await?;
        match failed {
            None => Ok(()),
            Some(_) => Err(StoreError::NotFound),
        }
    }

    async fn get_token(&self, hash: &TokenHash) -> Result<Option<EmailToken>, StoreError> {
        self.consistent_item(&self.sessions_table, token_key(hash))
            .await?
            .as_ref()
            .map(|item| token_from_item(item, hash))
            .transpose()
    }

    async fn confirm_email(
        &self,
        token: &EmailToken,
        previous: Option<&Email>,
    ) -> Result<(), StoreError> {
        let uid = s(&token.user_id);
        // A verified address voids every reset link sent to the old one.
        let mut items = vec![
            update(
                &self.users_table,
                user_key(&token.username),
                "SET email = :e, email_verified = :t REMOVE verify_token, reset_token".into(),
                "verify_token = :h AND user_id = :uid",
                &[
                    (":e", s(token.email.as_str())),
                    (":t", AttributeValue::Bool(true)),
                    (":h", s(&token.hash.to_hex())),
                    (":uid", uid.clone()),
                ],
            )?,
            put(
                &self.users_table,
                {
                    let mut item = claim_key(&token.email);
                    item.insert("owner".into(), s(token.username.as_str()));
                    item.insert("owner_id".into(), uid.clone());
                    item
                },
                Some(CLAIM_FREE),
                &[(":uid", uid.clone())],
            )?,
            delete(&self.sessions_table, token_key(&token.hash), None, &[])?,
        ];
        items.extend(self.release(previous, &token.email, &token.user_id)?);
        match self.transact(items).await? {
            None => Ok(()),
            Some(1) => Err(StoreError::EmailTaken),
            Some(_) => Err(StoreError::Conflict),
        }
    }

    async fn reset_password(
        &self,
        token: &EmailToken,
        new_hash: &str,
        cutoff: &SessionCutoff,
    ) -> Result<(), StoreError> {
        let failed = self
            .transact(vec![
                update(
                    &self.users_table,
                    user_key(&token.username),
                    "SET password_hash = :p, sessions_cutoff_ms = :cut, email_verified = :t \
                     REMOVE reset_token, kept_session"
                        .into(),
                    "reset_token = :h AND user_id = :uid AND email = :e",
                    &[
                        (":p", s(new_hash)),
                        (":cut", n(cutoff.at_ms)),
                        (":t", AttributeValue::Bool(true)),
                        (":h", s(&token.hash.to_hex())),
                        (":uid", s(&token.user_id)),
                        (":e", s(token.email.as_str())),
                    ],
                )?,
                delete(&self.sessions_table, token_key(&token.hash), None, &[])?,
            ])
            .await?;
        match failed {
            None => Ok(()),
            Some(_) => Err(StoreError::Conflict),
        }
    }

    async fn set_email(
        &self,
        user: &User,
        email: &Email,
        verified: bool,
    ) -> Result<(), StoreError> {
        let uid = s(&user.user_id);
        let mut items = vec![
            update(
                &self.users_table,
                user_key(&user.username),
                "SET email = :e, email_verified = :v REMOVE verify_token, reset_token".into(),
                "user_id = :uid",
                &[
                    (":e", s(email.as_str())),
                    (":v", AttributeValue::Bool(verified)),
                    (":uid", uid.clone()),
                ],
            )?,
            put(
                &self.users_table,
                claim_item(email, user),
                Some(CLAIM_FREE),
                &[(":uid", uid)],
            )?,
        ];
        items.extend(self.release(user.email.as_ref(), email, &user.user_id)?);
        match self.transact(items).await? {
            None => Ok(()),
            Some(1) => Err(StoreError::EmailTaken),
            Some(_) => Err(StoreError::NotFound),
        }
    }

    async fn delete_registration(&self, user: &User, session_id: &str) -> Result<(), StoreError> {
        let uid = s(&user.user_id);
        let mut items = vec![
            delete(
                &self.users_table,
                user_key(&user.username),
                Some("user_id = :uid"),
                &[(":uid", uid.clone())],
            )?,
            delete(
                &self.sessions_table,
                DynamoStore::session_key(&user.username, session_id),
                None,
                &[],
            )?,
        ];
        if let Some(email) = &user.email {
            items.push(delete(
                &self.users_table,
                claim_key(email),
                Some("owner_id = :uid"),
                &[(":uid", uid)],
            )?);
        }
        match self.transact(items).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::Conflict),
        }
    }
}

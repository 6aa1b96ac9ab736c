//! [`ThrottleStore`]: the failed-login counters, in the sessions table.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{FailureRecord, LockoutPolicy, NextAttempt, ThrottleKey};
use crate::error::StoreError;
use crate::ports::{Reservation, ThrottleStore};

use super::item::*;
use super::*;

/// Failed-login counters live in the sessions table under a partition no username can have
/// (`#` is not allowed in usernames), so no extra table is needed and TTL cleans them up: one
/// item for the username from anywhere, one per known device (`device#<id>`).
pub(super) fn throttle_key(key: &ThrottleKey) -> Item {
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

pub(super) fn failure_record(item: &Item) -> Result<FailureRecord, StoreError> {
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
pub(super) fn throttle_ttl(now: u64, policy: &LockoutPolicy) -> AttributeValue {
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
            if conditional(started)?.is_some() {
                return Ok(Reservation::Granted { failures: 1 });
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
        // A failed condition: a longer lockout is already set, or the record was cleared.
        conditional(result).map(drop)
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

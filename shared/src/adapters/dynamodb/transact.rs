//! Transaction items and running a transaction: what every multi-item write here (sign-up,
//! address claims, mailed tokens, resets) is built from.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use crate::error::StoreError;

use super::*;

/// A transaction item's builder with its condition and the condition's values, if any (the
/// three builders share no trait for it).
macro_rules! conditioned {
    ($builder:expr, $condition:expr, $values:expr) => {{
        let mut b = $builder;
        if let Some(c) = $condition {
            b = b.condition_expression(c);
            for (k, v) in $values {
                b = b.expression_attribute_values(*k, v.clone());
            }
        }
        b.build().map_err(StoreError::unavailable)?
    }};
}

type Values<'a> = &'a [(&'a str, AttributeValue)];

pub(super) fn put(
    table: &str,
    item: Item,
    condition: Option<&str>,
    values: Values,
) -> Result<TransactWriteItem, StoreError> {
    let builder = Put::builder().table_name(table).set_item(Some(item));
    let p = conditioned!(builder, condition, values);
    Ok(TransactWriteItem::builder().put(p).build())
}

pub(super) fn delete(
    table: &str,
    key: Item,
    condition: Option<&str>,
    values: Values,
) -> Result<TransactWriteItem, StoreError> {
    let builder = Delete::builder().table_name(table).set_key(Some(key));
    let d = conditioned!(builder, condition, values);
    Ok(TransactWriteItem::builder().delete(d).build())
}

pub(super) fn update(
    table: &str,
    key: Item,
    expression: String,
    condition: &str,
    values: Values,
) -> Result<TransactWriteItem, StoreError> {
    let builder = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression);
    let u = conditioned!(builder, Some(condition), values);
    Ok(TransactWriteItem::builder().update(u).build())
}

impl DynamoStore {
    /// Runs one transaction; a cancelled one returns the index of the first item whose
    /// condition failed (`Ok(Some(i))`).
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<usize>, StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e) => {
                let failed = e.as_service_error().and_then(|s| {
                    if !s.is_transaction_canceled_exception() {
                        return None;
                    }
                    transaction_reasons(s)
                        .iter()
                        .position(|code| code == "ConditionalCheckFailed")
                });
                match failed {
                    Some(i) => Ok(Some(i)),
                    None => Err(StoreError::unavailable(e)),
                }
            }
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

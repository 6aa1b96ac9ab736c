//! [`SessionStore`] over the sessions table.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};

use crate::domain::{Session, SessionSummary, TokenHash, User, Username};
use crate::error::StoreError;
use crate::ports::SessionStore;

use super::item::*;
use super::*;

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
        conditional(result)?.map(drop).ok_or(StoreError::Conflict)
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
        Ok(conditional(result)?.is_some())
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
        match conditional(result)? {
            Some(out) => out.attributes.as_ref().map(session_from_item).transpose(),
            None => Ok(None),
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

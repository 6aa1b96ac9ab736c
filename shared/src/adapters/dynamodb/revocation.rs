//! [`RevocationStore`]: the session-checking authorizer's one read.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::revocation::{LiveSession, LiveUser};
use crate::domain::Username;
use crate::error::StoreError;
use crate::ports::RevocationStore;

use super::item::*;
use super::*;

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

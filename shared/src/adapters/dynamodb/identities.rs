//! [`IdentityStore`] on DynamoDB.
//!
//! - An identity is an item of the users table, `#identity#<provider>#<sub>` (a partition no
//!   username can have), so a callback finds its user with one GetItem. The user item lists its
//!   identities in the string set `linked_identities` (`provider:sub`) and their providers in
//!   `identity_providers` (one identity per provider: a condition can test a set for a member,
//!   not for a prefix). Linking and unlinking write the three in one transaction.
//! - A flow is an item of the sessions table, `#oauth#<hash of state>` (TTL at its expiry),
//!   taken by a conditional DeleteItem that returns it: single use under any concurrency.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{
    FlowPurpose, Identity, LinkedIdentity, OauthFlow, Session, TokenHash, User, Username,
};
use crate::error::StoreError;
use crate::ports::IdentityStore;

use super::item::*;
use super::transact::{delete, put, update};
use super::*;

fn identity_key(provider: &str, subject: &str) -> Item {
    HashMap::from([(
        "username".to_string(),
        s(&format!("#identity#{provider}#{subject}")),
    )])
}

fn flow_key(state_hash: &TokenHash) -> Item {
    HashMap::from([
        (
            "username".to_string(),
            s(&format!("#oauth#{}", state_hash.to_hex())),
        ),
        ("session_id".to_string(), s("flow")),
    ])
}

fn user_key(username: &Username) -> Item {
    HashMap::from([("username".to_string(), s(username.as_str()))])
}

fn identity_item(identity: &Identity) -> Item {
    let mut item = identity_key(&identity.provider, &identity.subject);
    item.insert("owner".into(), s(identity.username.as_str()));
    item.insert("owner_id".into(), s(&identity.user_id));
    item.insert("provider".into(), s(&identity.provider));
    item.insert("subject".into(), s(&identity.subject));
    item.insert("linked_at".into(), n(identity.linked_at));
    item
}

fn identity_from_item(item: &Item) -> Result<Identity, StoreError> {
    Ok(Identity {
        provider: get_s(item, "provider")?,
        subject: get_s(item, "subject")?,
        username: Username::parse(&get_s(item, "owner")?)
            .map_err(|_| StoreError::Corrupt("identity owner".into()))?,
        user_id: get_s(item, "owner_id")?,
        linked_at: get_n(item, "linked_at")?,
    })
}

fn flow_from_item(item: &Item, state_hash: &TokenHash) -> Result<OauthFlow, StoreError> {
    let hash = |name: &str| {
        TokenHash::from_hex(&get_s(item, name)?)
            .ok_or_else(|| StoreError::Corrupt(format!("flow {name}")))
    };
    let purpose = match get_s(item, "purpose")?.as_str() {
        "sign_in" => FlowPurpose::SignIn,
        "link" => FlowPurpose::Link {
            username: Username::parse(&get_s(item, "owner")?)
                .map_err(|_| StoreError::Corrupt("flow owner".into()))?,
            user_id: get_s(item, "owner_id")?,
            session_id: get_s(item, "owner_session")?,
        },
        _ => return Err(StoreError::Corrupt("flow purpose".into())),
    };
    Ok(OauthFlow {
        state_hash: *state_hash,
        provider: get_s(item, "provider")?,
        purpose,
        nonce: get_s(item, "nonce")?,
        code_verifier: get_s(item, "code_verifier")?,
        redirect_to: get_s(item, "redirect_to")?,
        binding: hash("binding")?,
        expires_at: get_n(item, "expires_at")?,
    })
}

#[async_trait]
impl IdentityStore for DynamoStore {
    async fn put_flow(&self, flow: &OauthFlow) -> Result<(), StoreError> {
        let mut item = flow_key(&flow.state_hash);
        item.insert("provider".into(), s(&flow.provider));
        match &flow.purpose {
            FlowPurpose::SignIn => {
                item.insert("purpose".into(), s("sign_in"));
            }
            FlowPurpose::Link {
                username,
                user_id,
                session_id,
            } => {
                item.insert("purpose".into(), s("link"));
                item.insert("owner".into(), s(username.as_str()));
                item.insert("owner_id".into(), s(user_id));
                item.insert("owner_session".into(), s(session_id));
            }
        }
        item.insert("nonce".into(), s(&flow.nonce));
        item.insert("code_verifier".into(), s(&flow.code_verifier));
        item.insert("redirect_to".into(), s(&flow.redirect_to));
        item.insert("binding".into(), s(&flow.binding.to_hex()));
        item.insert("expires_at".into(), n(flow.expires_at));
        item.insert(TTL_ATTRIBUTE.into(), n(flow.expires_at));
        self.put_new_session_item(item).await
    }

    async fn take_flow(&self, state_hash: &TokenHash) -> Result<Option<OauthFlow>, StoreError> {
        self.take_session_item(flow_key(state_hash))
            .await?
            .map(|item| flow_from_item(&item, state_hash))
            .transpose()
    }

    async fn identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError> {
        self.consistent_item(&self.users_table, identity_key(provider, subject))
            .await?
            .as_ref()
            .map(identity_from_item)
            .transpose()
    }

    async fn create_federated_user(
        &self,
        user: &User,
        identity: &Identity,
        session: &Session,
    ) -> Result<(), StoreError> {
        let mut items = self.new_user_items(user, session)?;
        let identity_at = items.len();
        items.push(put(
            &self.users_table,
            identity_item(identity),
            Some("attribute_not_exists(username)"),
            &[],
        )?);
        match self.transact(items).await? {
            None => Ok(()),
            Some(i) if i == identity_at => Err(StoreError::NotFound),
            Some(super::users::NEW_USER_EMAIL_CLAIM) => Err(StoreError::EmailTaken),
            Some(_) => Err(StoreError::Conflict),
        }
    }

    async fn link_identity(&self, identity: &Identity) -> Result<(), StoreError> {
        let linked = identity.linked();
        let failed = self
            .transact(vec![
                put(
                    &self.users_table,
                    identity_item(identity),
                    Some("attribute_not_exists(username)"),
                    &[],
                )?,
                update(
                    &self.users_table,
                    user_key(&identity.username),
                    "ADD linked_identities :entry, identity_providers :provider".into(),
                    "user_id = :uid AND NOT contains(identity_providers, :name)",
                    &[
                        (":entry", AttributeValue::Ss(vec![linked.encode()])),
                        (
                            ":provider",
                            AttributeValue::Ss(vec![identity.provider.clone()]),
                        ),
                        (":name", s(&identity.provider)),
                        (":uid", s(&identity.user_id)),
                    ],
                )?,
            ])
            .await?;
        match failed {
            None => Ok(()),
            Some(0) => Err(StoreError::Conflict),
            // The user is gone or another one now, or has an identity at this provider: the
            // service read the user just before, so which of them is told apart there.
            Some(_)
                if self
                    .still_owner(&identity.username, &identity.user_id)
                    .await? =>
            {
                Err(StoreError::Conflict)
            }
            Some(_) => Err(StoreError::NotFound),
        }
    }

    async fn unlink_identity(
        &self,
        user: &User,
        identity: &LinkedIdentity,
    ) -> Result<(), StoreError> {
        let uid = s(&user.user_id);
        let failed = self
            .transact(vec![
                delete(
                    &self.users_table,
                    identity_key(&identity.provider, &identity.subject),
                    Some("owner_id = :uid"),
                    &[(":uid", uid.clone())],
                )?,
                update(
                    &self.users_table,
                    user_key(&user.username),
                    "DELETE linked_identities :entry, identity_providers :provider".into(),
                    // The last-method rule, in the write: whatever else changed meanwhile
                    // (another identity unlinked, the last passkey removed), the user keeps a
                    // password, a passkey or another identity.
                    "user_id = :uid AND contains(linked_identities, :name) AND \
                     (attribute_exists(password_hash) OR attribute_exists(passkeys) \
                      OR size(linked_identities) > :one)",
                    &[
                        (":entry", AttributeValue::Ss(vec![identity.encode()])),
                        (
                            ":provider",
                            AttributeValue::Ss(vec![identity.provider.clone()]),
                        ),
                        (":name", s(&identity.encode())),
                        (":one", n(1)),
                        (":uid", uid),
                    ],
                )?,
            ])
            .await?;
        match failed {
            None => Ok(()),
            Some(0) => Err(StoreError::NotFound),
            Some(_) => Err(StoreError::Conflict),
        }
    }
}

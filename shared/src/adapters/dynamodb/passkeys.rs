//! [`PasskeyStore`] on DynamoDB.
//!
//! - A passkey is an item of the users table, `#passkey#<credential id>` (a partition no
//!   username can have), so a discoverable login finds it with one GetItem; the user item lists
//!   its passkeys' ids in the string set `passkeys`. Adding and removing write both in one
//!   transaction: a credential id belongs to one user, and another user's id is not found.
//! - A ceremony is an item of the sessions table, `#webauthn#<id>` (TTL at its expiry), taken
//!   by a conditional DeleteItem that returns it: single use under any concurrency.

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{Ceremony, CeremonyKind, Passkey, PasskeyUse, User, Username};
use crate::error::StoreError;
use crate::ports::PasskeyStore;

use super::item::*;
use super::transact::{delete, put, update};
use super::*;

fn passkey_key(credential_id: &str) -> Item {
    HashMap::from([(
        "username".to_string(),
        s(&format!("#passkey#{credential_id}")),
    )])
}

fn ceremony_key(id: &str) -> Item {
    HashMap::from([
        ("username".to_string(), s(&format!("#webauthn#{id}"))),
        ("session_id".to_string(), s("ceremony")),
    ])
}

fn user_key(username: &Username) -> Item {
    HashMap::from([("username".to_string(), s(username.as_str()))])
}

fn blob(item: &Item, name: &str) -> Result<Vec<u8>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::B(b)) => Ok(b.as_ref().to_vec()),
        _ => Err(StoreError::Corrupt(format!("attribute {name} is not B"))),
    }
}

fn passkey_from_item(item: &Item, credential_id: &str) -> Result<Passkey, StoreError> {
    Ok(Passkey {
        credential_id: credential_id.to_string(),
        username: Username::parse(&get_s(item, "owner")?)
            .map_err(|_| StoreError::Corrupt("passkey owner".into()))?,
        user_id: get_s(item, "owner_id")?,
        name: get_s(item, "name")?,
        public_key: blob(item, "public_key")?,
        sign_count: u32::try_from(get_n(item, "sign_count")?)
            .map_err(|_| StoreError::Corrupt("passkey sign_count".into()))?,
        state: blob(item, "state")?,
        created_at: get_n(item, "created_at")?,
        last_used_at: get_n(item, "last_used_at").ok(),
    })
}

fn ceremony_from_item(item: &Item, id: &str) -> Result<Ceremony, StoreError> {
    let kind = CeremonyKind::parse(&get_s(item, "kind")?)
        .ok_or_else(|| StoreError::Corrupt("ceremony kind".into()))?;
    let user = match (get_s(item, "owner").ok(), get_s(item, "owner_id").ok()) {
        (Some(name), Some(uid)) => Some((
            Username::parse(&name).map_err(|_| StoreError::Corrupt("ceremony owner".into()))?,
            uid,
        )),
        _ => None,
    };
    Ok(Ceremony {
        id: id.to_string(),
        kind,
        user,
        state: blob(item, "state")?,
        expires_at: get_n(item, "expires_at")?,
    })
}

#[async_trait]
impl PasskeyStore for DynamoStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        let mut item = ceremony_key(&ceremony.id);
        item.insert("kind".into(), s(ceremony.kind.as_str()));
        if let Some((name, uid)) = &ceremony.user {
            item.insert("owner".into(), s(name.as_str()));
            item.insert("owner_id".into(), s(uid));
        }
        item.insert(
            "state".into(),
            AttributeValue::B(Blob::new(ceremony.state.clone())),
        );
        item.insert("expires_at".into(), n(ceremony.expires_at));
        item.insert(TTL_ATTRIBUTE.into(), n(ceremony.expires_at));
        self.put_new_session_item(item).await
    }

    async fn take_ceremony(&self, id: &str) -> Result<Option<Ceremony>, StoreError> {
        self.take_session_item(ceremony_key(id))
            .await?
            .map(|item| ceremony_from_item(&item, id))
            .transpose()
    }

    async fn add_passkey(&self, passkey: &Passkey) -> Result<(), StoreError> {
        let mut item = passkey_key(&passkey.credential_id);
        item.insert("owner".into(), s(passkey.username.as_str()));
        item.insert("owner_id".into(), s(&passkey.user_id));
        item.insert("name".into(), s(&passkey.name));
        item.insert(
            "public_key".into(),
            AttributeValue::B(Blob::new(passkey.public_key.clone())),
        );
        item.insert("sign_count".into(), n(u64::from(passkey.sign_count)));
        item.insert(
            "state".into(),
            AttributeValue::B(Blob::new(passkey.state.clone())),
        );
        item.insert("created_at".into(), n(passkey.created_at));
        let failed = self
            .transact(vec![
                put(
                    &self.users_table,
                    item,
                    Some("attribute_not_exists(username)"),
                    &[],
                )?,
                update(
                    &self.users_table,
                    user_key(&passkey.username),
                    "ADD passkeys :id".into(),
                    "user_id = :uid",
                    &[
                        (
                            ":id",
                            AttributeValue::Ss(vec![passkey.credential_id.clone()]),
                        ),
                        (":uid", s(&passkey.user_id)),
                    ],
                )?,
            ])
            .await?;
        match failed {
            None => Ok(()),
            Some(0) => Err(StoreError::Conflict),
            Some(_) => Err(StoreError::NotFound),
        }
    }

    async fn passkey(&self, credential_id: &str) -> Result<Option<Passkey>, StoreError> {
        self.consistent_item(&self.users_table, passkey_key(credential_id))
            .await?
            .as_ref()
            .map(|item| passkey_from_item(item, credential_id))
            .transpose()
    }

    async fn passkeys_of(&self, user: &User) -> Result<Vec<Passkey>, StoreError> {
        let mut all = Vec::with_capacity(user.passkeys.len());
        for id in &user.passkeys {
            // One user has a handful: a GetItem each keeps this simple (BatchGetItem's
            // unprocessed keys would need the retry loop for no measurable gain).
            if let Some(p) = self.passkey(id).await? {
                if p.user_id == user.user_id {
                    all.push(p);
                }
            }
        }
        all.sort_by_key(|p| p.created_at);
        Ok(all)
    }

    async fn remove_passkey(&self, user: &User, credential_id: &str) -> Result<(), StoreError> {
        let uid = s(&user.user_id);
        let failed = self
            .transact(vec![
                delete(
                    &self.users_table,
                    passkey_key(credential_id),
                    Some("owner_id = :uid"),
                    &[(":uid", uid.clone())],
                )?,
                update(
                    &self.users_table,
                    user_key(&user.username),
                    "DELETE passkeys :id".into(),
                    // The last-method rule, in the write: a password, an identity or another
                    // passkey remains (whatever else was removed meanwhile).
                    "user_id = :uid AND (attribute_exists(password_hash) \
                     OR attribute_exists(linked_identities) OR size(passkeys) > :one)",
                    &[
                        (":id", AttributeValue::Ss(vec![credential_id.to_string()])),
                        (":one", n(1)),
                        (":uid", uid),
                    ],
                )?,
            ])
            .await?;
        match failed {
            None => Ok(()),
            // Still this user's: the passkey is its last way in.
            Some(1) if self.still_owner(&user.username, &user.user_id).await? => {
                Err(StoreError::Conflict)
            }
            Some(_) => Err(StoreError::NotFound),
        }
    }

    async fn record_use(
        &self,
        passkey: &Passkey,
        used: &PasskeyUse,
        now: u64,
    ) -> Result<bool, StoreError> {
        let written = conditional(
            self.client
                .update_item()
                .table_name(&self.users_table)
                .set_key(Some(passkey_key(&passkey.credential_id)))
                .update_expression("SET sign_count = :new, #state = :state, last_used_at = :now")
                .expression_attribute_names("#state", "state")
                .condition_expression("sign_count = :old AND owner_id = :uid")
                .expression_attribute_values(":new", n(u64::from(used.sign_count)))
                .expression_attribute_values(
                    ":state",
                    AttributeValue::B(Blob::new(used.state.clone())),
                )
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":old", n(u64::from(passkey.sign_count)))
                .expression_attribute_values(":uid", s(&passkey.user_id))
                .send()
                .await,
        )?;
        Ok(written.is_some())
    }
}

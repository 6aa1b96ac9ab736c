//! Items to and from domain values: users, sessions, session summaries.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{
    Email, LinkedIdentity, Session, SessionCutoff, SessionSummary, TokenHash, TotpState, User,
    Username,
};
use crate::error::StoreError;

use super::{DynamoStore, Item, TTL_ATTRIBUTE};

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} missing or not S"
        ))),
    }
}

pub(super) fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
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
pub(super) fn get_ms(item: &Item, name: &str) -> Result<u64, StoreError> {
    match get_n(item, &format!("{name}_ms")) {
        Ok(ms) => Ok(ms),
        Err(_) => Ok(get_n(item, name)?.saturating_mul(1000)),
    }
}

pub(super) fn get_hash(item: &Item, name: &str) -> Result<Option<TokenHash>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => TokenHash::from_hex(v)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} is not a hash"))),
        _ => Err(StoreError::Corrupt(format!("attribute {name} is not S"))),
    }
}

pub(super) fn get_list_s(item: &Item, name: &str) -> Result<Vec<String>, StoreError> {
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

pub(super) fn username_of(item: &Item) -> Result<Username, StoreError> {
    Username::parse(&get_s(item, "username")?)
        .map_err(|_| StoreError::Corrupt("username is not valid".into()))
}

pub(crate) fn user_to_item(user: &User) -> Item {
    let mut item = HashMap::from([
        ("username".to_string(), s(user.username.as_str())),
        ("user_id".to_string(), s(&user.user_id)),
        (
            "roles".to_string(),
            AttributeValue::L(user.roles.iter().map(|r| s(r)).collect()),
        ),
        ("disabled".to_string(), AttributeValue::Bool(user.disabled)),
        ("created_at".to_string(), n(user.created_at)),
    ]);
    // A user without a password (a federated sign-up) has no such attribute at all: what the
    // last-sign-in-method condition tests.
    if let Some(hash) = user.password() {
        item.insert("password_hash".into(), s(hash));
    }
    if !user.identities.is_empty() {
        let (entries, providers) = user
            .identities
            .iter()
            .map(|i| (i.encode(), i.provider.clone()))
            .unzip();
        item.insert("linked_identities".into(), AttributeValue::Ss(entries));
        item.insert("identity_providers".into(), AttributeValue::Ss(providers));
    }
    if let Some(cut) = &user.sessions_cutoff {
        cutoff_attributes(&mut item, cut);
    }
    if let Some(email) = &user.email {
        item.insert("email".into(), s(email.as_str()));
        item.insert(
            "email_verified".into(),
            AttributeValue::Bool(user.email_verified),
        );
    }
    item
}

/// `sessions_cutoff_ms` and, when a session was kept, `kept_session`.
pub(super) fn cutoff_attributes(item: &mut Item, cut: &SessionCutoff) {
    item.insert("sessions_cutoff_ms".into(), n(cut.at_ms));
    if let Some(kept) = &cut.kept {
        item.insert("kept_session".into(), s(kept));
    }
}

pub(super) fn user_from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        username: username_of(item)?,
        user_id: get_s(item, "user_id")?,
        password_hash: match item.get("password_hash") {
            None => String::new(),
            Some(_) => get_s(item, "password_hash")?,
        },
        roles: get_list_s(item, "roles")?,
        disabled: matches!(item.get("disabled"), Some(AttributeValue::Bool(true))),
        created_at: get_n(item, "created_at").unwrap_or(0),
        sessions_cutoff: cutoff_of(item)?,
        email: match item.get("email").and_then(|v| v.as_s().ok()) {
            None => None,
            Some(raw) => Some(
                Email::parse(raw).map_err(|_| StoreError::Corrupt("email is not valid".into()))?,
            ),
        },
        email_verified: matches!(item.get("email_verified"), Some(AttributeValue::Bool(true))),
        totp: TotpState {
            secret: item.get("totp_secret").and_then(|v| v.as_s().ok()).cloned(),
            pending: item
                .get("totp_pending")
                .and_then(|v| v.as_s().ok())
                .cloned(),
            last_step: match item.get("totp_last_step") {
                None => 0,
                Some(_) => get_n(item, "totp_last_step")?,
            },
            recovery_codes: item
                .get("recovery_codes")
                .and_then(|v| v.as_ss().ok())
                .cloned()
                .unwrap_or_default(),
        },
        passkeys: item
            .get("passkeys")
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default(),
        identities: {
            let mut all = item
                .get("linked_identities")
                .and_then(|v| v.as_ss().ok())
                .into_iter()
                .flatten()
                .map(|raw| {
                    LinkedIdentity::decode(raw)
                        .ok_or_else(|| StoreError::Corrupt("linked_identities".into()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            all.sort();
            all
        },
    })
}

pub(super) fn cutoff_of(item: &Item) -> Result<Option<SessionCutoff>, StoreError> {
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

pub(super) fn session_to_item(session: &Session) -> Item {
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
    item.insert(
        "amr".into(),
        AttributeValue::L(session.amr.iter().map(|m| s(m)).collect()),
    );
    item
}

pub(super) fn session_from_item(item: &Item) -> Result<Session, StoreError> {
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
        // Sessions from before `amr` existed were all password sign-ins.
        amr: match item.get("amr") {
            None => vec![crate::domain::AMR_PASSWORD.to_string()],
            Some(_) => get_list_s(item, "amr")?,
        },
    })
}

pub(super) fn summary_from_item(item: &Item) -> Result<SessionSummary, StoreError> {
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

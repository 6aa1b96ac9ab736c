//! Passkey storage against DynamoDB Local (the routes build on it): a credential id belongs to
//! one user, another user's passkey is not found (and not removed), the signature counter moves
//! only from the value read, and a ceremony is taken once however many requests race for it.

use std::sync::Arc;

use integration_tests::*;
use shared::domain::{Ceremony, CeremonyKind, Passkey, PasskeyUse, User, Username};
use shared::error::StoreError;
use shared::ports::{PasskeyStore, UserStore};

fn used(sign_count: u32) -> PasskeyUse {
    PasskeyUse {
        sign_count,
        state: vec![1, 2, sign_count as u8, 0, 0, 0, 1],
    }
}

async fn stored(env: &TestEnv, name: &str) -> User {
    let name = Username::parse(name).unwrap();
    env.app.store.get_user(&name).await.unwrap().unwrap()
}

fn passkey(user: &User, id: &str, created_at: u64) -> Passkey {
    Passkey {
        credential_id: id.into(),
        username: user.username.clone(),
        user_id: user.user_id.clone(),
        name: format!("key {id}"),
        public_key: vec![0xa5, 0x01, 0x02, id.len() as u8],
        sign_count: 0,
        state: vec![1, 2, 0, 0, 0, 0, 1],
        created_at,
        last_used_at: None,
    }
}

#[tokio::test]
async fn a_passkey_belongs_to_one_user_and_its_counter_moves_from_the_value_read() {
    let env = TestEnv::new().await;
    let ana = env.create_user("ana", "ana-password-1", &[]).await;
    let bob = env.create_user("bob", "bob-password-1", &[]).await;
    let store = env.app.store.clone();
    store
        .add_passkey(&passkey(&ana, "cred-2", 20))
        .await
        .unwrap();
    store
        .add_passkey(&passkey(&ana, "cred-1", 10))
        .await
        .unwrap();
    // The same credential id again, for anyone: refused, nothing written.
    for owner in [&ana, &bob] {
        assert!(matches!(
            store.add_passkey(&passkey(owner, "cred-1", 30)).await,
            Err(StoreError::Conflict)
        ));
    }
    assert!(stored(&env, "bob").await.passkeys.is_empty());
    let ana_now = stored(&env, "ana").await;
    let mut ids = ana_now.passkeys.clone();
    ids.sort();
    assert_eq!(ids, ["cred-1", "cred-2"]);
    let listed = store.passkeys_of(&ana_now).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|p| p.credential_id.as_str())
            .collect::<Vec<_>>(),
        ["cred-1", "cred-2"],
        "oldest first"
    );
    assert_eq!(
        listed[0],
        passkey(&ana, "cred-1", 10),
        "read back as written"
    );

    // Another user's id: not found, and still there.
    let bob_now = stored(&env, "bob").await;
    assert!(matches!(
        store.remove_passkey(&bob_now, "cred-1").await,
        Err(StoreError::NotFound)
    ));
    assert!(store.passkey("cred-1").await.unwrap().is_some());
    assert!(matches!(
        store.remove_passkey(&ana_now, "no-such-cred").await,
        Err(StoreError::NotFound)
    ));

    // The counter: from the value read only (a concurrent use, or a clone, loses).
    let read = store.passkey("cred-1").await.unwrap().unwrap();
    assert!(store.record_use(&read, &used(5), 1_000).await.unwrap());
    assert!(
        !store.record_use(&read, &used(6), 1_001).await.unwrap(),
        "stale read"
    );
    let after = store.passkey("cred-1").await.unwrap().unwrap();
    assert_eq!((after.sign_count, after.last_used_at), (5, Some(1_000)));
    assert_eq!(
        after.state,
        used(5).state,
        "the library's state moves with the counter"
    );

    store.remove_passkey(&ana_now, "cred-1").await.unwrap();
    assert!(store.passkey("cred-1").await.unwrap().is_none());
    assert_eq!(stored(&env, "ana").await.passkeys, ["cred-2"]);
    assert!(
        !store.record_use(&after, &used(7), 1_002).await.unwrap(),
        "a removed passkey"
    );

    // A user deleted and recreated under the same name is another user.
    let mut stale = ana.clone();
    stale.user_id = "someone-else".into();
    assert!(matches!(
        store.add_passkey(&passkey(&stale, "cred-9", 40)).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store.passkey("cred-9").await.unwrap().is_none(),
        "nothing half-written"
    );
}

#[tokio::test]
async fn a_ceremony_is_taken_once_of_eight_at_once() {
    let env = TestEnv::new().await;
    let ana = env.create_user("ana", "ana-password-1", &[]).await;
    let store: Arc<_> = env.app.store.clone();
    let ceremony = Ceremony {
        id: "c-1".into(),
        kind: CeremonyKind::Register,
        user: Some((ana.username.clone(), ana.user_id.clone())),
        state: (0u8..=255).collect(),
        expires_at: 1_800_000_300,
    };
    store.put_ceremony(&ceremony).await.unwrap();
    assert!(matches!(
        store.put_ceremony(&ceremony).await,
        Err(StoreError::Conflict)
    ));
    let takes: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_ceremony("c-1").await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for t in takes {
        taken.extend(t.await.unwrap());
    }
    assert_eq!(taken.len(), 1, "one of eight concurrent takes");
    assert!(taken[0] == ceremony, "read back as written");
    assert!(store.take_ceremony("c-1").await.unwrap().is_none());
    let login = Ceremony {
        id: "c-2".into(),
        kind: CeremonyKind::Login,
        user: None,
        state: vec![1, 2, 3],
        expires_at: 1_800_000_300,
    };
    store.put_ceremony(&login).await.unwrap();
    assert!(store.take_ceremony("c-2").await.unwrap() == Some(login));
}

#[tokio::test]
async fn the_caller_lists_and_removes_only_their_own_passkeys() {
    use serde_json::Value;
    use shared::http::handlers::Endpoint;
    let env = TestEnv::new().await;
    let ana = env.create_user("ana", "ana-password-1", &[]).await;
    let bob = env.create_user("bob", "bob-password-1", &[]).await;
    let store = env.app.store.clone();
    store
        .add_passkey(&passkey(&ana, "ana-key_1", 10))
        .await
        .unwrap();
    store
        .add_passkey(&passkey(&bob, "bob-key_1", 11))
        .await
        .unwrap();
    let who = identity_of(&env.login("ana", "ana-password-1").await);
    let call = |sample: &str, id: Option<&str>| {
        let mut event = account_event(sample, &who);
        if let Some(id) = id {
            event["pathParameters"]["passkey_id"] = Value::String(id.into());
            event["rawPath"] = Value::String(format!("/auth/passkeys/{id}"));
            event["requestContext"]["http"]["path"] = event["rawPath"].clone();
        }
        env.invoke(Endpoint::Account, event)
    };
    let listed = call("passkeys-list.json", None).await;
    assert_eq!(status(&listed), 200, "{listed}");
    let list = body(&listed)["passkeys"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["passkey_id"], "ana-key_1");
    assert_eq!(list[0]["name"], "key ana-key_1");
    assert!(list[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(list[0]["last_used_at"], Value::Null);
    let me = env
        .invoke(Endpoint::Account, account_event("me.json", &who))
        .await;
    assert_eq!(body(&me)["mfa"]["passkeys"], 1);
    // Another user's id, an unknown one, one that cannot be an id: 404, nothing removed.
    for id in ["bob-key_1", "nobody", "a%2Fb"] {
        let resp = call("passkey-delete.json", Some(id)).await;
        assert_eq!(status(&resp), 404, "{id}: {resp}");
        assert_eq!(body(&resp)["error"], "not_found");
    }
    assert!(store.passkey("bob-key_1").await.unwrap().is_some());
    let resp = call("passkey-delete.json", Some("ana-key_1")).await;
    assert_eq!(status(&resp), 204, "{resp}");
    assert!(store.passkey("ana-key_1").await.unwrap().is_none());
    let listed = call("passkeys-list.json", None).await;
    assert_eq!(body(&listed)["passkeys"], serde_json::json!([]));
}

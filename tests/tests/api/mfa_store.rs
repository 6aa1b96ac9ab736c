//! The second factor's storage (#30) against DynamoDB Local: a pending secret becomes the
//! enabled one only while it is still the pending one; a time step is spent once, however many
//! requests present it at once, and never an earlier one; a recovery code works once under
//! concurrency; what is stored is what the service sealed, never a secret in clear.

use std::sync::Arc;

use integration_tests::*;
use shared::domain::Username;
use shared::error::StoreError;
use shared::ports::{MfaStore, UserStore};

async fn stored(env: &TestEnv, name: &str) -> shared::domain::User {
    let name = Username::parse(name).unwrap();
    env.app.store.get_user(&name).await.unwrap().unwrap()
}

#[tokio::test]
async fn enrolment_steps_and_recovery_codes_are_each_spent_once() {
    let env = Arc::new(TestEnv::new().await);
    let user = env.create_user("tia", "tia-password-1", &[]).await;
    let store = env.app.store.clone();
    store.set_pending_totp(&user, "s1.k1.first").await.unwrap();
    store.set_pending_totp(&user, "s1.k1.second").await.unwrap();
    let codes: Vec<String> = (0..10).map(|i| format!("hash-{i}")).collect();
    // Only the current pending secret can be confirmed.
    assert!(
        matches!(
            store.enable_totp(&user, "s1.k1.first", 100, &codes).await,
            Err(StoreError::Conflict)
        ),
        "a conflict"
    );
    store
        .enable_totp(&user, "s1.k1.second", 100, &codes)
        .await
        .unwrap();
    let on = stored(&env, "tia").await;
    assert_eq!(on.totp.secret.as_deref(), Some("s1.k1.second"));
    assert_eq!((on.totp.pending, on.totp.last_step), (None, 100));
    assert_eq!(on.totp.recovery_codes.len(), 10);
    assert!(
        matches!(
            store.set_pending_totp(&user, "s1.k1.third").await,
            Err(StoreError::Conflict)
        ),
        "no new enrolment while TOTP is on"
    );

    // Step 100 was spent by the confirmation; 99 is older; 101 once, of ten at once.
    assert!(!store.spend_totp_step(&user, 100).await.unwrap());
    assert!(!store.spend_totp_step(&user, 99).await.unwrap());
    let spends: Vec<_> = (0..10)
        .map(|_| {
            let (store, user) = (store.clone(), user.clone());
            tokio::spawn(async move { store.spend_totp_step(&user, 101).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for s in spends {
        won += usize::from(s.await.unwrap());
    }
    assert_eq!(won, 1, "one of ten concurrent uses of a step");

    let uses: Vec<_> = (0..8)
        .map(|_| {
            let (store, user) = (store.clone(), user.clone());
            tokio::spawn(async move { store.spend_recovery_code(&user, "hash-3").await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for u in uses {
        won += usize::from(u.await.unwrap());
    }
    assert_eq!(won, 1, "one of eight concurrent uses of a recovery code");
    assert!(!store
        .spend_recovery_code(&user, "not-a-code")
        .await
        .unwrap());
    assert_eq!(stored(&env, "tia").await.totp.recovery_codes.len(), 9);

    let fresh: Vec<String> = (0..10).map(|i| format!("new-{i}")).collect();
    store.replace_recovery_codes(&user, &fresh).await.unwrap();
    assert!(!store.spend_recovery_code(&user, "hash-4").await.unwrap());
    assert!(store.spend_recovery_code(&user, "new-4").await.unwrap());

    store.disable_totp(&user).await.unwrap();
    let off = stored(&env, "tia").await;
    assert_eq!(off.totp, shared::domain::TotpState::default());
    assert!(!store.spend_totp_step(&user, 500).await.unwrap());
    // Another user of the same name (deleted and recreated) is not this one.
    let mut other = user.clone();
    other.user_id = "someone-else".into();
    assert!(
        matches!(
            store.set_pending_totp(&other, "s1.k1.x").await,
            Err(StoreError::Conflict)
        ),
        "a conflict"
    );
}

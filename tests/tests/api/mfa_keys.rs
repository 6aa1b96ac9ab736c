//! The data keys that will seal TOTP secrets at rest (#30), against moto's Secrets Manager:
//! provisioned once and never overwritten, read back as a key set that seals and opens, and a
//! malformed value is refused with its reason (never the key).

use integration_tests::*;
use shared::adapters::secrets_manager::SecretsManagerDataKeys;
use shared::aws::setup::ensure_mfa_key_secret;
use shared::error::KeyError;

#[tokio::test]
async fn the_data_key_secret_is_made_once_and_its_keys_seal_and_open() {
    let env = TestEnv::new().await;
    ensure_mfa_key_secret(&env.app.secrets, &env.cfg)
        .await
        .unwrap();
    let source =
        SecretsManagerDataKeys::new(env.app.secrets.clone(), env.cfg.mfa.key_secret_id.clone());
    let keys = source.load().await.unwrap();
    let sealed = keys.seal(b"JBSWY3DPEHPK3PXP", "user-1").unwrap();
    assert!(sealed.starts_with("s1.k1."), "{sealed}");

    // A second provisioning (another `make dev`, `authctl`) keeps the keys.
    ensure_mfa_key_secret(&env.app.secrets, &env.cfg)
        .await
        .unwrap();
    let again = source.load().await.unwrap();
    assert_eq!(again.open(&sealed, "user-1").unwrap(), b"JBSWY3DPEHPK3PXP");
    let stored = secret_at(&env.app, &env.cfg.mfa.key_secret_id, "AWSCURRENT").await;
    let value: serde_json::Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(value["k1"].as_str().map(str::len), Some(64));

    env.app
        .secrets
        .put_secret_value()
        .secret_id(&env.cfg.mfa.key_secret_id)
        .secret_string(r#"{"current": "k1", "k1": "short"}"#)
        .send()
        .await
        .unwrap();
    match source.load().await {
        Err(KeyError::Malformed(why)) => assert!(why.contains("shorter than 32"), "{why}"),
        other => panic!("{other:?}"),
    }
}

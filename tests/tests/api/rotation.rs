//! Signing-key rotation against moto: the four steps, retries, refusals, and tokens across
//! rotations (old verifies, new verifies, a version rotated out twice is refused).

use secrecy::ExposeSecret;
use std::sync::Arc;

use integration_tests::*;
use serde_json::json;
use shared::aws::rotation::{RotationError, Rotator, Step};
use shared::service::authorizer::Authorizer;

async fn stages(env: &TestEnv) -> Vec<(String, Vec<String>)> {
    let d = env
        .app
        .secrets
        .describe_secret()
        .secret_id(&env.cfg.signing_secret_id)
        .send()
        .await
        .unwrap();
    let mut v: Vec<(String, Vec<String>)> = d
        .version_ids_to_stages
        .unwrap_or_default()
        .into_iter()
        .collect();
    v.sort();
    v
}

async fn version_with(env: &TestEnv, stage: &str) -> Option<String> {
    stages(env)
        .await
        .into_iter()
        .find(|(_, s)| s.iter().any(|x| x == stage))
        .map(|(id, _)| id)
}

async fn v2_allows(authorizer: &Authorizer, token: &str) -> bool {
    let mut event = load_event("authorizer-v2.json");
    event["headers"]["authorization"] = json!(format!("Bearer {token}"));
    authorizer.handle_json(&event).await.unwrap()["isAuthorized"] == json!(true)
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn a_full_rotation_moves_current_and_keeps_the_old_version_as_previous() {
    let env = TestEnv::new().await;
    let before = version_with(&env, "AWSCURRENT").await.unwrap();

    let new = Rotator::for_cli(env.app.secrets.client().clone(), &env.cfg)
        .rotate_now(&env.cfg.signing_secret_id)
        .await
        .unwrap();

    assert_eq!(
        version_with(&env, "AWSCURRENT").await.as_deref(),
        Some(new.as_str())
    );
    assert_eq!(version_with(&env, "AWSPREVIOUS").await, Some(before));
    let value = env
        .app
        .secrets
        .get_secret_value()
        .secret_id(&env.cfg.signing_secret_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        shared::crypto::keyring::parse_signing_secret(
            env.cfg.signing_alg,
            value.secret_string().unwrap()
        )
        .unwrap()
        .signing
        .expose_secret()
        .len(),
        32
    );
}

#[tokio::test]
async fn retried_steps_are_idempotent() {
    let env = TestEnv::new().await;
    let rotator = Rotator::for_cli(env.app.secrets.client().clone(), &env.cfg);
    let id = &env.cfg.signing_secret_id;
    let token = uuid::Uuid::new_v4().to_string();
    rotator.run(id, &token, Step::Create).await.unwrap();
    let pending = |env: &TestEnv, token: String| {
        let secrets = env.app.secrets.client().clone();
        let id = id.clone();
        async move {
            secrets
                .get_secret_value()
                .secret_id(id)
                .version_id(token)
                .send()
                .await
                .unwrap()
                .secret_string
                .unwrap()
        }
    };
    let first = pending(&env, token.clone()).await;
    rotator.run(id, &token, Step::Create).await.unwrap();
    assert_eq!(
        pending(&env, token.clone()).await,
        first,
        "a retried create keeps the key"
    );
    for step in [
        Step::Set,
        Step::Set,
        Step::Test,
        Step::Test,
        Step::Finish,
        Step::Finish,
    ] {
        rotator.run(id, &token, step).await.unwrap();
    }
    assert_eq!(version_with(&env, "AWSCURRENT").await, Some(token.clone()));
    // Any step for a version that is already current is a no-op.
    rotator.run(id, &token, Step::Create).await.unwrap();
    assert_eq!(pending(&env, token).await, first);
}

#[tokio::test]
async fn steps_that_do_not_match_the_secret_state_are_refused() {
    let env = TestEnv::new().await;
    let rotator = Rotator::for_cli(env.app.secrets.client().clone(), &env.cfg);
    let id = &env.cfg.signing_secret_id;
    let unknown = uuid::Uuid::new_v4().to_string();
    for step in [Step::Set, Step::Test, Step::Finish] {
        assert!(matches!(
            rotator.run(id, &unknown, step).await,
            Err(RotationError::UnknownVersion(_))
        ));
    }
    let old = version_with(&env, "AWSCURRENT").await.unwrap();
    rotator.rotate_now(id).await.unwrap();
    // The old version is AWSPREVIOUS now: not staged for rotation.
    assert!(matches!(
        rotator.run(id, &old, Step::Finish).await,
        Err(RotationError::NotPending(_))
    ));
    // The Lambda flavour insists that rotation is enabled on the secret.
    assert!(matches!(
        Rotator::for_lambda(env.app.secrets.client().clone(), &env.cfg)
            .run(id, &unknown, Step::Create)
            .await,
        Err(RotationError::NotEnabled)
    ));
}

#[tokio::test]
async fn tokens_keep_working_across_rotations_until_rotated_out_twice() {
    let env = TestEnv::new().await;
    env.create_user("alice", "pw-123456", &[]).await;
    let authorizer = Authorizer::new(&env.cfg, env.app.keys.clone(), env.app.clock.clone());
    let rotator = Rotator::for_cli(env.app.secrets.client().clone(), &env.cfg);
    let login = body(&env.login("alice", "pw-123456").await);
    let old_access = login["access_token"].as_str().unwrap().to_string();
    let old_refresh = login["refresh_token"].as_str().unwrap().to_string();
    let v1 = kid(&old_access);
    // A second verifier with a long cache, warmed before the rotation.
    let long_cache = Authorizer::new(
        &env.cfg,
        Arc::new(shared::crypto::keyring::KeyRing::new(
            Arc::new(
                shared::adapters::secrets_manager::SecretsManagerKeySource::new(
                    env.app.secrets.clone(),
                    env.cfg.signing_secret_id.clone(),
                    env.cfg.signing_alg,
                ),
            ),
            env.cfg.signing_alg,
            env.app.clock.clone(),
            3_600,
        )),
        env.app.clock.clone(),
    );
    assert!(v2_allows(&long_cache, &old_access).await);

    // Rotate, then at once: refresh and an authorizer call with the old token both work.
    let v2 = rotator
        .rotate_now(&env.cfg.signing_secret_id)
        .await
        .unwrap();
    let refreshed = body(&env.refresh_with_body(&old_refresh).await);
    assert!(refreshed["access_token"].is_string(), "{refreshed}");
    assert!(v2_allows(&authorizer, &old_access).await);

    // A verifier that cached the ring before the rotation meets a v2 token: the unknown kid
    // triggers one reload and it verifies.
    env.clock.advance(env.cfg.secret_cache_ttl);
    let next = body(
        &env.refresh_with_body(refreshed["refresh_token"].as_str().unwrap())
            .await,
    );
    let v2_access = next["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        kid(&v2_access),
        v2,
        "new tokens are signed with the new current version"
    );
    assert!(
        v2_allows(&long_cache, &v2_access).await,
        "unknown kid: one reload"
    );
    assert!(
        v2_allows(&authorizer, &old_access).await,
        "v1 is AWSPREVIOUS: still verifies"
    );
    assert!(v2_allows(&authorizer, &v2_access).await);

    // Rotate again: v1 is gone.
    rotator
        .rotate_now(&env.cfg.signing_secret_id)
        .await
        .unwrap();
    env.clock.advance(env.cfg.secret_cache_ttl);
    assert!(
        !v2_allows(&authorizer, &old_access).await,
        "{v1} rotated out twice"
    );
    assert!(
        v2_allows(&authorizer, &v2_access).await,
        "v2 is AWSPREVIOUS now"
    );
}

/// Mid-rotation (after createSecret, before finishSecret) an instance that already sees the
/// new version may sign with it; every verifier holds AWSPENDING as verify-only, so its tokens
/// verify without a reload (which a flood of forged kids could keep rate-limited).
#[tokio::test]
async fn a_token_signed_by_the_pending_key_verifies_without_a_reload() {
    let env = TestEnv::new().await;
    let user = env.create_user("alice", "pw-123456", &[]).await;
    let token_id = uuid::Uuid::new_v4().to_string();
    Rotator::for_cli(env.app.secrets.client().clone(), &env.cfg)
        .run(&env.cfg.signing_secret_id, &token_id, Step::Create)
        .await
        .unwrap();
    let pending = env
        .app
        .secrets
        .get_secret_value()
        .secret_id(&env.cfg.signing_secret_id)
        .version_stage("AWSPENDING")
        .send()
        .await
        .unwrap();
    let key = shared::crypto::keyring::SigningKey::new(
        env.cfg.signing_alg,
        &shared::ports::KeyMaterial {
            kid: pending.version_id.clone().unwrap(),
            secret: shared::crypto::keyring::parse_signing_secret(
                env.cfg.signing_alg,
                pending.secret_string().unwrap(),
            )
            .unwrap()
            .signing,
        },
    )
    .unwrap();
    let now = shared::ports::Clock::now(env.app.clock.as_ref());
    let (jwt, _) = shared::crypto::tokens::mint_access_token(
        &key,
        &(&env.cfg).into(),
        &user,
        &"0".repeat(32),
        now,
    )
    .unwrap();

    // A verifier that loads its keys now, mid-rotation; a forged kid first uses up its one
    // reload for the next 30 s.
    let authorizer = Authorizer::new(&env.cfg, env.app.keys.clone(), env.app.clock.clone());
    let forged = format!(
        "{}.{}",
        jsonwebtoken::encode(
            &{
                let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                h.typ = Some("at+jwt".into());
                h.kid = Some("forged-kid".into());
                h
            },
            &json!({}),
            &jsonwebtoken::EncodingKey::from_secret(b"x"),
        )
        .map(|t| t.rsplit_once('.').unwrap().0.to_string())
        .unwrap_or_default(),
        "AAAA"
    );
    assert!(!v2_allows(&authorizer, &forged).await);

    assert!(
        v2_allows(&authorizer, &jwt).await,
        "the pending key's token"
    );
    assert_eq!(kid(&jwt), token_id);
}

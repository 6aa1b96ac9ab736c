//! Signing-key rotation against moto: the four steps, retries, refusals, and tokens across
//! rotations (old verifies, new verifies, a version rotated out twice is refused).

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
        .secret_id(&env.cfg.signing.secret_id)
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

fn rotator(env: &TestEnv) -> Rotator {
    Rotator::for_cli(env.app.secrets.client().clone(), &env.cfg)
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn a_full_rotation_moves_current_and_keeps_the_old_version_as_previous() {
    let env = TestEnv::new().await;
    let before = version_with(&env, "AWSCURRENT").await.unwrap();

    let new = rotator(&env)
        .rotate_now(&env.cfg.signing.secret_id)
        .await
        .unwrap();

    assert_eq!(
        version_with(&env, "AWSCURRENT").await.as_deref(),
        Some(new.as_str())
    );
    assert_eq!(version_with(&env, "AWSPREVIOUS").await, Some(before));
    assert_eq!(env.current_key().await.1.len(), 32);
}

#[tokio::test]
async fn retried_steps_are_idempotent() {
    let env = TestEnv::new().await;
    let rotator = rotator(&env);
    let id = &env.cfg.signing.secret_id;
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
    let rotator = rotator(&env);
    let id = &env.cfg.signing.secret_id;
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
    let env = TestEnv::with_user("alice", "pw-123456").await;
    let authorizer = Authorizer::new(&env.cfg, env.app.keys.clone(), env.app.clock.clone());
    let rotator = rotator(&env);
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
                    env.cfg.signing.secret_id.clone(),
                    env.cfg.signing.alg,
                ),
            ),
            env.cfg.signing.alg,
            env.app.clock.clone(),
            3_600,
        )),
        env.app.clock.clone(),
    );
    assert!(v2_allows(&long_cache, &old_access).await);

    // Rotate, then at once: refresh and an authorizer call with the old token both work.
    let v2 = rotator
        .rotate_now(&env.cfg.signing.secret_id)
        .await
        .unwrap();
    let refreshed = body(&env.refresh_with_body(&old_refresh).await);
    assert!(refreshed["access_token"].is_string(), "{refreshed}");
    assert!(v2_allows(&authorizer, &old_access).await);

    // A verifier that cached the ring before the rotation meets a v2 token: the unknown kid
    // triggers one reload and it verifies.
    env.clock.advance(env.cfg.signing.cache_ttl);
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
        .rotate_now(&env.cfg.signing.secret_id)
        .await
        .unwrap();
    env.clock.advance(env.cfg.signing.cache_ttl);
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
    rotator(&env)
        .run(&env.cfg.signing.secret_id, &token_id, Step::Create)
        .await
        .unwrap();
    let pending =
        integration_tests::secret_at(&env.app, &env.cfg.signing.secret_id, "AWSPENDING").await;
    let key = shared::crypto::keyring::SigningKey::new(
        env.cfg.signing.alg,
        &shared::ports::KeyMaterial {
            kid: pending.version_id.clone().unwrap(),
            secret: shared::crypto::keyring::parse_signing_secret(
                env.cfg.signing.alg,
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
        &[],
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

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// The asymmetric timeline, against moto, for each algorithm: every key is in the published
/// set before it signs (a verifier holding the set from before a rotation verifies the tokens
/// signed after it), the previous key stays published for one rotation, then goes.
#[tokio::test]
async fn asymmetric_rotation_publishes_each_key_before_it_signs_and_keeps_the_previous_one() {
    use shared::config::SigningAlg;
    for alg in [SigningAlg::Es256, SigningAlg::EdDsa, SigningAlg::Rs256] {
        let env = TestEnv::with(|cfg| cfg.signing.alg = alg).await;
        env.create_user("ana", "ana-password-1", &[]).await;
        let rotator = || rotator(&env).forced();
        let access = || async {
            let login = env.login("ana", "ana-password-1").await;
            body(&login)["access_token"].as_str().unwrap().to_string()
        };

        let jwks0 = env.published_jwks().await;
        let set0 = kids(&jwks0);
        assert_eq!(set0.len(), 2, "{alg}: signing + next");
        let token0 = access().await;
        assert_eq!(kid(&token0), set0[0], "{alg}");
        // A verifier that fetched the set before the rotation and keeps it (API Gateway's JWT
        // authorizer caches it up to 2 h): the set as it was, never fetched again.
        let cached = Arc::new(shared::adapters::memory::StaticJwks::new(jwks0.to_string()));
        let early = Arc::new(shared::crypto::keyring::KeyRing::public(
            cached.clone(),
            alg,
            env.clock.clone(),
            u64::MAX / 2,
        ));
        let early_authorizer = Authorizer::new(&env.cfg, early, env.clock.clone());
        assert!(v2_allows(&early_authorizer, &token0).await);

        rotator()
            .rotate_now(&env.cfg.signing.secret_id)
            .await
            .unwrap();
        env.clock.advance(env.cfg.signing.cache_ttl); // the login function's cache expires
        let set1 = kids(&env.published_jwks().await);
        assert_eq!(
            set1,
            vec![set0[1].clone(), set1[1].clone(), set0[0].clone()],
            "{alg}: current (the old next), new next, previous"
        );
        let token1 = access().await;
        assert_eq!(
            kid(&token1),
            set0[1],
            "{alg}: signed by the key published as next"
        );
        // The early verifier already had that key: it verifies without fetching the set again.
        assert!(v2_allows(&early_authorizer, &token1).await, "{alg}");
        assert_eq!(cached.loads(), 1, "{alg}");
        assert!(
            env.authorizer_allows(&token0).await,
            "{alg}: previous key still verifies"
        );

        rotator()
            .rotate_now(&env.cfg.signing.secret_id)
            .await
            .unwrap();
        let set2 = kids(&env.published_jwks().await);
        assert_eq!(set2[0], set1[1], "{alg}");
        assert!(
            !set2.contains(&set0[0]),
            "{alg}: a key two rotations old is gone"
        );
        assert!(
            !env.authorizer_allows(&token0).await,
            "{alg}: and its tokens refused"
        );
        assert!(env.authorizer_allows(&token1).await, "{alg}");
    }
}

/// Without --force a second rotation within MIN_ROTATION_INTERVAL is refused before anything
/// is written: its new key would sign before cached key sets had it.
#[tokio::test]
async fn a_hurried_asymmetric_rotation_is_refused_and_writes_nothing() {
    let env = TestEnv::with(|cfg| cfg.signing.alg = shared::config::SigningAlg::Es256).await;
    let before = stages(&env).await;
    let published = env.published_jwks().await;
    let err = rotator(&env)
        .rotate_now(&env.cfg.signing.secret_id)
        .await
        .unwrap_err();
    assert!(matches!(err, RotationError::TooSoon { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(stages(&env).await, before);
    assert_eq!(env.published_jwks().await, published);
}

/// The template's first value is a placeholder (CloudFormation cannot make an RSA key): the
/// first rotation, run at deploy, starts a key chain whatever its age, and publishes it.
#[tokio::test]
async fn the_first_rotation_replaces_a_placeholder_with_a_key_chain() {
    let env = TestEnv::with(|cfg| cfg.signing.alg = shared::config::SigningAlg::Rs256).await;
    env.app
        .secrets
        .put_secret_value()
        .secret_id(&env.cfg.signing.secret_id)
        .secret_string(r#"{"placeholder":"replaced by the first rotation"}"#)
        .send()
        .await
        .unwrap();
    // Until then, a function starting up says what is wrong.
    let fresh = env.another_instance();
    let e = fresh.warm_up().await.unwrap_err();
    assert!(e.to_string().contains("RS256"), "{e}");

    rotator(&env)
        .rotate_now(&env.cfg.signing.secret_id)
        .await
        .unwrap();
    assert_eq!(kids(&env.published_jwks().await).len(), 2);
    let fresh = env.another_instance();
    fresh.warm_up().await.unwrap();
}

//! Smoke tests of the *built* function binaries: each runs under the mock Lambda Runtime API
//! (`integration_tests::runtime_api`) against DynamoDB Local and moto, is invoked with the
//! sample events in `events/`, and its answers are checked. `make test` builds the binaries
//! first (`cargo build --bins`).

use std::path::PathBuf;

use integration_tests::runtime_api::{run_binary, Outcome};
use integration_tests::*;
use serde_json::{json, Value};

fn binary(name: &str) -> PathBuf {
    built_binary(name)
}

fn response(outcome: &Option<Outcome>) -> &Value {
    match outcome {
        Some(Outcome::Response(v)) => v,
        other => panic!("expected a response, got {other:?}"),
    }
}

#[tokio::test]
async fn login_refresh_logout_binaries_answer_the_sample_events() {
    let env = TestEnv::new().await;
    env.create_user("demo", "demo-password-123", &["demo"])
        .await;
    let vars = function_env(&env.cfg);

    let (login, init) =
        run_binary(&binary("login"), &vars, vec![load_event("login-ok.json")]).await;
    assert_eq!(init, None);
    let login = response(&login[0]).clone();
    assert_eq!(status(&login), 200, "{login}");
    let refresh_token = body(&login)["refresh_token"].as_str().unwrap().to_string();
    assert!(cookies(&login)[0].starts_with("refresh_token="));

    let real_refresh = refresh_event(None, &[&format!("refresh_token={refresh_token}")]);
    let (refresh, _) = run_binary(
        &binary("refresh"),
        &vars,
        vec![
            load_event("refresh-cookie.json"),
            load_event("refresh-body.json"),
            real_refresh,
        ],
    )
    .await;
    assert_eq!(
        status(response(&refresh[0])),
        401,
        "placeholder token (cookie)"
    );
    assert_eq!(
        status(response(&refresh[1])),
        401,
        "placeholder token (body)"
    );
    let rotated = response(&refresh[2]);
    assert_eq!(status(rotated), 200, "{rotated}");

    let (logout, _) = run_binary(
        &binary("logout"),
        &vars,
        vec![load_event("logout-all.json")],
    )
    .await;
    let logout = response(&logout[0]);
    assert_eq!(status(logout), 204);
    assert!(clears_cookie(logout));
}

#[tokio::test]
async fn the_authorizer_binary_answers_every_flavour() {
    let env = TestEnv::new().await;
    env.create_user("demo", "demo-password-123", &["demo", "reader"])
        .await;
    let access = body(&env.login("demo", "demo-password-123").await)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let bearer = format!("Bearer {access}");
    let mut v2 = load_event("authorizer-v2.json");
    v2["headers"]["authorization"] = json!(bearer);
    let mut token = load_event("authorizer-rest-token.json");
    token["authorizationToken"] = json!(bearer);
    let mut request = load_event("authorizer-rest-request.json");
    request["headers"]["Authorization"] = json!(bearer);

    let (out, init) = run_binary(
        &binary("authorizer"),
        &function_env(&env.cfg),
        vec![
            v2,
            token,
            request,
            load_event("authorizer-v2.json"),
            load_event("authorizer-rest-token.json"),
        ],
    )
    .await;
    assert_eq!(init, None);
    let allowed = response(&out[0]);
    assert_eq!(allowed["isAuthorized"], true);
    assert_eq!(allowed["context"]["roles"], "demo,reader");
    for policy in [response(&out[1]), response(&out[2])] {
        assert_eq!(policy["policyDocument"]["Statement"][0]["Effect"], "Allow");
        assert_eq!(
            policy["policyDocument"]["Statement"][0]["Resource"],
            "arn:aws:execute-api:eu-west-1:123456789012:abc123xyz0/prod/*/*"
        );
    }
    assert_eq!(response(&out[3]), &json!({"isAuthorized": false}));
    match &out[4] {
        // API Gateway turns exactly this error message into a 401.
        Some(Outcome::Error(e)) => assert_eq!(e["errorMessage"], "Unauthorized"),
        other => panic!("expected the Unauthorized error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_hello_binary_echoes_the_authorizer_context() {
    let env = TestEnv::new().await;
    let (out, _) = run_binary(
        &binary("hello"),
        &function_env(&env.cfg),
        // The Lambda authorizer's context, then the claims of API Gateway's JWT authorizer
        // (ProtectedRoutesAuthorizer jwt): the same identity.
        vec![load_event("hello.json"), load_event("hello-jwt.json")],
    )
    .await;
    for (i, answer) in out.iter().enumerate() {
        let resp = response(answer);
        assert_eq!(status(resp), 200, "{i}");
        assert_eq!(
            body(resp),
            json!({
                "sub": "5f0c6d1e-1111-4222-8333-944455556666",
                "username": "demo",
                "roles": ["demo", "reader"],
                "session_id": "0123456789abcdef0123456789abcdef",
            }),
            "{i}"
        );
    }
}

#[tokio::test]
async fn a_bad_configuration_stops_the_function_at_start_naming_the_variable() {
    let env = TestEnv::new().await;
    for name in ["login", "refresh", "logout", "authorizer"] {
        let out = tokio::process::Command::new(binary(name))
            .env_clear()
            .envs(function_env(&env.cfg))
            .env("ACCESS_TOKEN_TTL", "15m")
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .output()
            .await
            .unwrap();
        assert!(!out.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stderr.contains("ACCESS_TOKEN_TTL") || stdout.contains("ACCESS_TOKEN_TTL"),
            "{name}: {stderr} {stdout}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[tokio::test]
async fn the_rotation_binary_refuses_a_secret_without_rotation_enabled() {
    let env = TestEnv::new().await;
    let mut event = load_event("rotate-secret-create.json");
    event["SecretId"] = json!(env.cfg.signing.secret_id);
    let (out, _) = run_binary(
        &binary("rotate-secret"),
        &function_env(&env.cfg),
        vec![event],
    )
    .await;
    match &out[0] {
        Some(Outcome::Error(e)) => assert!(
            e["errorMessage"]
                .as_str()
                .unwrap()
                .contains("rotation is not enabled"),
            "{e}"
        ),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn register_and_account_binaries_answer_the_sample_events() {
    let env = TestEnv::new().await;
    env.create_user("demo", "demo-password-123", &["demo"])
        .await;
    let mut vars = function_env(&env.cfg);
    let (off, _) = run_binary(
        &binary("register"),
        &vars,
        vec![load_event("register.json")],
    )
    .await;
    assert_eq!(status(response(&off[0])), 403, "sign-up is off by default");
    vars.push(("SIGNUP_ENABLED".into(), "true".into()));
    let (registered, init) = run_binary(
        &binary("register"),
        &vars,
        vec![load_event("register.json")],
    )
    .await;
    assert_eq!(init, None);
    let registered = response(&registered[0]).clone();
    assert_eq!(status(&registered), 201, "{registered}");
    assert!(cookies(&registered)[0].starts_with("refresh_token="));

    let demo = env.login("demo", "demo-password-123").await;
    let me = identity_of(&demo);
    let (answers, init) = run_binary(
        &binary("account"),
        &vars,
        vec![
            account_event("sessions-list.json", &me),
            account_event("sessions-revoke-one.json", &me),
            account_event("password-change.json", &me),
            account_event("sessions-revoke-others.json", &me),
        ],
    )
    .await;
    assert_eq!(init, None);
    let listed = response(&answers[0]);
    assert_eq!(status(listed), 200, "{listed}");
    assert_eq!(body(listed)["sessions"][0]["current"], true);
    assert_eq!(
        status(response(&answers[1])),
        404,
        "the sample's session id is not demo's"
    );
    assert_eq!(
        status(response(&answers[2])),
        204,
        "{}",
        response(&answers[2])
    );
    assert_eq!(status(response(&answers[3])), 204);
    assert_eq!(
        status(&env.login("demo", "amber lantern quietly 77").await),
        200
    );
}

#[tokio::test]
async fn the_discovery_binary_answers_both_documents() {
    let env = TestEnv::new().await;
    let mut vars = function_env(&env.cfg);
    vars.push((
        "TOKEN_ISSUER".into(),
        "https://abc123xyz0.execute-api.eu-west-1.amazonaws.com".into(),
    ));
    let (answers, init) = run_binary(
        &binary("discovery"),
        &vars,
        vec![load_event("discovery.json"), load_event("jwks.json")],
    )
    .await;
    assert_eq!(init, None);
    let discovery = response(&answers[0]);
    assert_eq!(status(discovery), 200, "{discovery}");
    assert_eq!(
        header(discovery, "cache-control"),
        Some("public, max-age=300")
    );
    let doc = body(discovery);
    assert_eq!(
        doc["issuer"],
        "https://abc123xyz0.execute-api.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        doc["jwks_uri"],
        "https://abc123xyz0.execute-api.eu-west-1.amazonaws.com/.well-known/jwks.json"
    );
    let jwks = response(&answers[1]);
    assert_eq!(status(jwks), 200);
    assert_eq!(body(jwks), json!({"keys": []}), "HS256: nothing is public");
}

/// In an asymmetric mode the built authorizer and discovery binaries work from the public keys
/// alone: pointed at a signing secret that does not exist, they still verify and publish. A
/// login binary whose secret holds a key of another algorithm stops at start-up, saying so.
#[tokio::test]
async fn asymmetric_binaries_verify_and_publish_from_the_public_keys_alone() {
    let env = TestEnv::with(|cfg| cfg.signing.alg = shared::config::SigningAlg::EdDsa).await;
    env.create_user("demo", "demo-password-123", &["reader"])
        .await;
    let access = body(&env.login("demo", "demo-password-123").await)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut vars: Vec<(String, String)> = function_env(&env.cfg)
        .into_iter()
        .filter(|(k, _)| k != "SIGNING_SECRET_ID")
        .collect();
    vars.push(("SIGNING_SECRET_ID".into(), "no-such-secret".into()));
    let mut v2 = load_event("authorizer-v2.json");
    v2["headers"]["authorization"] = json!(format!("Bearer {access}"));
    let (out, init) = run_binary(&binary("authorizer"), &vars, vec![v2]).await;
    assert_eq!(init, None);
    assert_eq!(response(&out[0])["isAuthorized"], true);
    let (out, init) = run_binary(&binary("discovery"), &vars, vec![load_event("jwks.json")]).await;
    assert_eq!(init, None);
    let keys = body(response(&out[0]))["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert!(keys
        .iter()
        .all(|k| k["kty"] == "OKP" && k.get("d").is_none()));

    // The same secret read as RS256: the login function refuses to start, naming the reason.
    let mut vars = function_env(&env.cfg);
    vars.retain(|(k, _)| k != "SIGNING_ALG");
    vars.push(("SIGNING_ALG".into(), "RS256".into()));
    let out = tokio::process::Command::new(binary("login"))
        .env_clear()
        .envs(vars)
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(logs.contains("not a usable RS256 key"), "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
}

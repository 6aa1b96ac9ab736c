//! Security events end to end against moto: the functions' real log lines (from the built
//! binaries) go, as CloudWatch Logs would deliver them through a subscription filter, to the
//! built security-events function, which puts them on an EventBridge bus; a rule on the bus
//! delivers them to an SQS queue, which the test reads.

use std::io::Write;

use base64::Engine;
use integration_tests::runtime_api::{run_binary, run_binary_logged, Outcome};
use integration_tests::*;
use serde_json::{json, Value};

fn subscription_event(log_group: &str, logs: &str) -> Value {
    let events: Vec<Value> = logs
        .lines()
        .enumerate()
        .map(|(i, m)| json!({"id": i.to_string(), "timestamp": 0, "message": m}))
        .collect();
    let data = json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": log_group,
        "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data.to_string().as_bytes()).unwrap();
    json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())}})
}

#[tokio::test]
async fn security_events_reach_a_queue_through_the_event_bus() {
    let env = TestEnv::with(|c| c.lockout.max_failures = 2).await;
    env.create_user("sam", "sam-password-1", &[]).await;
    let queue = integration_tests::event_queue::EventQueue::start().await;

    // Real log lines: two wrong passwords lock `sam`, a login, a refresh replayed after the
    // grace window (reuse: the session is revoked).
    let mut vars = function_env(&env.cfg);
    vars.push(("LOGIN_MAX_FAILURES".into(), "2".into()));
    vars.push(("REUSE_GRACE_SECS".into(), "0".into()));
    let login = |p: &str| login_event(&json!({"username": "sam", "password": p}).to_string());
    let (_, _, mut logs) = run_binary_logged(
        &built_binary("login"),
        &vars,
        vec![login("wrong-1"), login("wrong-2")],
    )
    .await;
    env.create_user("tom", "tom-password-1", &[]).await;
    let t0 = env.login_token("tom", "tom-password-1").await;
    let replay = refresh_event(Some(&json!({"refresh_token": t0}).to_string()), &[]);
    let (_, _, refresh_logs) = run_binary_logged(
        &built_binary("refresh"),
        &vars,
        vec![replay.clone(), replay],
    )
    .await;
    logs.push_str(&refresh_logs);

    let (out, init) = forward(&env, &queue, "/aws/lambda/auth-LoginFunction-x", &logs).await;
    assert_eq!(init, None);
    match &out[0] {
        Some(Outcome::Response(v)) => assert!(v["forwarded"].as_u64().unwrap() >= 3, "{v}"),
        other => panic!("{other:?}"),
    }

    let received = queue.receive(3).await;
    let types: Vec<&str> = received
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    for expected in ["login_locked", "refresh_reuse_detected", "session_revoked"] {
        assert!(types.contains(&expected), "{expected} not in {types:?}");
    }
    for e in &received {
        assert_eq!(e["source"], "lambda-jwt-auth");
        assert_eq!(e["detail"]["function"], "auth-LoginFunction-x");
        // Nothing secret travels: no token, no hash, no password.
        let text = e.to_string();
        assert!(
            !text.contains(&t0) && !text.contains("tom-password-1") && !text.contains("wrong-1"),
            "{text}"
        );
    }
    // Who, which session and which request, as fields of the events themselves.
    let user_id = |name: &str| {
        let env = &env;
        let name = shared::domain::Username::parse(name).unwrap();
        async move {
            use shared::ports::UserStore;
            env.app
                .store
                .get_user(&name)
                .await
                .unwrap()
                .unwrap()
                .user_id
        }
    };
    let (sam, tom) = (user_id("sam").await, user_id("tom").await);
    let tom_sid = identity_of_token(&t0);
    for e in &received {
        let d = &e["detail"];
        assert!(
            d["request_id"].as_str().is_some_and(|r| !r.is_empty()),
            "{e}"
        );
        match e["detail-type"].as_str().unwrap() {
            "login_locked" => assert_eq!(d["user_id"], sam.as_str(), "{e}"),
            "refresh_reuse_detected" | "session_revoked" => {
                assert_eq!(d["user_id"], tom.as_str(), "{e}");
                assert_eq!(d["session_id"], tom_sid.as_str(), "{e}");
            }
            other => panic!("unexpected {other}"),
        }
    }
}

/// The security-events binary, on the bus of `queue`, fed `logs` as one subscription event
/// from `log_group`.
pub(crate) async fn forward(
    env: &TestEnv,
    queue: &integration_tests::event_queue::EventQueue,
    log_group: &str,
    logs: &str,
) -> (Vec<Option<Outcome>>, Option<Value>) {
    let mut vars = function_env(&env.cfg);
    vars.push(("SECURITY_EVENT_BUS".into(), queue.bus.clone()));
    vars.push(("AWS_ENDPOINT_URL_EVENTBRIDGE".into(), queue.moto.clone()));
    run_binary(
        &built_binary("security-events"),
        &vars,
        vec![subscription_event(log_group, logs)],
    )
    .await
}

/// The session id a refresh token names (`<username>.<session id>.<secret>` in base64url).
fn identity_of_token(refresh_token: &str) -> String {
    shared::domain::RefreshToken::parse(refresh_token)
        .unwrap()
        .session_id
        .clone()
}

#[tokio::test]
async fn a_reset_and_a_new_address_reach_the_bus_as_password_reset_and_email_changed() {
    let env = TestEnv::new().await;
    let user = env.create_user("uma", "uma-password-1", &[]).await;
    let (old, new) = (fresh_email("uma"), fresh_email("uma-new"));
    env.set_email(&user, &old).await;
    let login = env.login("uma", "uma-password-1").await;
    let who = identity_of(&login);
    let caller = shared::service::accounts::Caller {
        user_id: who["sub"].as_str().unwrap().into(),
        username: user.username.clone(),
        session_id: who["session_id"].as_str().unwrap().into(),
    };
    env.app
        .service
        .request_email_change(
            &caller,
            shared::domain::Email::parse(&new).unwrap(),
            "uma-password-1".into(),
        )
        .await
        .unwrap();
    let verify = mails_to(&new).await[0].token();
    let queue = integration_tests::event_queue::EventQueue::start().await;

    let mut vars = function_env(&env.cfg);
    vars.push(("EMAIL_FROM".into(), MAIL_FROM.into()));
    vars.push(("APP_URL".into(), APP_URL.into()));
    let post = |sample: &str, body: Value| with_body(load_event(sample), Some(&body.to_string()));
    let (_, _, mut logs) = run_binary_logged(
        &built_binary("recovery"),
        &vars,
        vec![
            post("email-verify.json", json!({"token": verify})),
            post("password-forgot.json", json!({"email": new})),
        ],
    )
    .await;
    let reset = mails_to(&new).await[1].token();
    let (_, _, more) = run_binary_logged(
        &built_binary("recovery"),
        &vars,
        vec![post(
            "password-reset.json",
            json!({"token": reset, "new_password": "a fresh passphrase 31"}),
        )],
    )
    .await;
    logs.push_str(&more);

    let (out, _) = forward(&env, &queue, "/aws/lambda/auth-RecoveryFunction-x", &logs).await;
    assert!(matches!(&out[0], Some(Outcome::Response(_))), "{out:?}");
    let received = queue.receive(3).await;
    let types: Vec<&str> = received
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    for expected in ["email_changed", "password_reset", "session_revoked"] {
        assert!(types.contains(&expected), "{expected} not in {types:?}");
    }
    for e in &received {
        assert_eq!(e["detail"]["user_id"], user.user_id.as_str(), "{e}");
        let text = e.to_string();
        for secret in [&old, &new, &verify, &reset] {
            assert!(!text.contains(secret.as_str()), "{text}");
        }
    }
}

/// The body of a function's response to one event.
fn response_body(outcome: &Option<Outcome>) -> Value {
    match outcome {
        Some(Outcome::Response(resp)) => body(resp),
        other => panic!("no response: {other:?}"),
    }
}

#[tokio::test]
async fn the_second_factors_events_reach_the_bus() {
    use shared::crypto::totp::{self, TotpSecret};
    use shared::ports::Clock;
    const PW: &str = "mo-password-123";
    let env = TestEnv::new().await;
    env.create_user("mo", PW, &[]).await;
    let who = identity_of(&env.login("mo", PW).await);
    let vars = function_env(&env.cfg);
    let account =
        |sample: &str, body: Value| with_body(account_event(sample, &who), Some(&body.to_string()));
    let (out, _, mut logs) = run_binary_logged(
        &built_binary("account"),
        &vars,
        vec![account(
            "mfa-enroll.json",
            json!({ "current_password": PW }),
        )],
    )
    .await;
    let secret = TotpSecret::from_base32(response_body(&out[0])["secret"].as_str().unwrap())
        .expect("a base32 secret");
    let code = secret.code_at_step(totp::step_of(shared::ports::SystemClock.now()));
    let (out, _, more) = run_binary_logged(
        &built_binary("account"),
        &vars,
        vec![account("mfa-confirm.json", json!({ "code": code }))],
    )
    .await;
    logs.push_str(&more);
    let recovery = response_body(&out[0])["recovery_codes"][0]
        .as_str()
        .unwrap()
        .to_string();
    let login = |body: Value| with_body(load_event("login-ok.json"), Some(&body.to_string()));
    let (out, _, more) = run_binary_logged(
        &built_binary("login"),
        &vars,
        vec![login(json!({"username": "mo", "password": PW}))],
    )
    .await;
    logs.push_str(&more);
    let token = response_body(&out[0])["mfa_token"]
        .as_str()
        .unwrap()
        .to_string();
    let second = |body: Value| with_body(load_event("login-mfa.json"), Some(&body.to_string()));
    let (out, _, more) = run_binary_logged(
        &built_binary("login"),
        &vars,
        vec![
            second(json!({"mfa_token": token, "code": "000000"})),
            second(json!({"mfa_token": token, "recovery_code": recovery})),
        ],
    )
    .await;
    logs.push_str(&more);
    assert!(
        response_body(&out[1])["access_token"].is_string(),
        "{out:?}"
    );
    // Nothing of the secret or the codes in any line the functions wrote.
    assert!(
        !logs.contains(&secret.base32()) && !logs.contains(&recovery) && !logs.contains(&token)
    );

    let queue = integration_tests::event_queue::EventQueue::start().await;
    let (out, _) = forward(&env, &queue, "/aws/lambda/auth-LoginFunction-x", &logs).await;
    assert!(matches!(&out[0], Some(Outcome::Response(_))), "{out:?}");
    let received = queue.receive(3).await;
    let user_id = who["sub"].as_str().unwrap();
    for expected in ["mfa_enabled", "mfa_failed", "recovery_code_used"] {
        let event = received
            .iter()
            .find(|e| e["detail-type"] == expected)
            .unwrap_or_else(|| panic!("{expected} not in {received:?}"));
        assert_eq!(event["detail"]["user_id"], user_id, "{event}");
    }
}

//! Sign-up, session self-service and password change against DynamoDB Local, through real API
//! Gateway events: every status code the contract lists for these routes, the concurrency
//! cases (one name registered at once from 8 places, a refresh racing a password change), and
//! nothing half-written when DynamoDB fails. The authorizer in front of them (401 / 403) is
//! driven over HTTP in `devserver.rs`.

use std::sync::Arc;

use integration_tests::proxy::Mode;
use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;
use shared::ports::UserStore;

const STRONG: &str = "violet kettle orbit 42";
const STRONGER: &str = "amber lantern quietly 77";

async fn signup_env() -> TestEnv {
    TestEnv::with(|c| c.signup.enabled = true).await
}

async fn register(env: &TestEnv, body: Value) -> Value {
    env.invoke(Endpoint::Register, register_event(&body.to_string()))
        .await
}

async fn account(env: &TestEnv, sample: &str, who: &Value, body: Option<Value>) -> Value {
    let mut event = account_event(sample, who);
    if let Some(b) = body {
        event = with_body(event, Some(&b.to_string()));
    }
    env.invoke(Endpoint::Account, event).await
}

/// The session ids stored for `name` (the table also holds the login counters).
async fn session_ids(env: &TestEnv, name: &str) -> Vec<String> {
    env.session_items()
        .await
        .iter()
        .filter(|i| {
            i.get("username")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|u| u == name)
        })
        .filter_map(|i| i.get("session_id").and_then(|v| v.as_s().ok()).cloned())
        .collect()
}

fn error_code(resp: &Value) -> String {
    body(resp)["error"].as_str().unwrap_or_default().to_string()
}

async fn user_exists(env: &TestEnv, name: &str) -> bool {
    let name = shared::domain::Username::parse(name).unwrap();
    env.app.store.get_user(&name).await.unwrap().is_some()
}

#[tokio::test]
async fn register_answers_201_with_tokens_and_cookies_then_409() {
    let env = signup_env().await;
    let resp = register(
        &env,
        json!({"username": "New.User@Example.com", "password": STRONG}),
    )
    .await;
    assert_eq!(status(&resp), 201, "{resp}");
    let b = body(&resp);
    assert_eq!(b["token_type"], "Bearer");
    for field in [
        "access_token",
        "refresh_token",
        "session_id",
        "device_token",
    ] {
        assert!(b[field].as_str().is_some_and(|v| !v.is_empty()), "{field}");
    }
    let set = cookies(&resp);
    assert!(set
        .iter()
        .any(|c| c.starts_with("refresh_token=") && c.contains("HttpOnly")));
    assert!(set.iter().any(|c| c.starts_with("device_token=")));
    assert_eq!(identity_of(&resp)["username"], "new.user@example.com");
    // Logged in for real: the refresh token rotates, the password logs in.
    assert_eq!(
        status(
            &env.refresh_with_body(b["refresh_token"].as_str().unwrap())
                .await
        ),
        200
    );
    assert_eq!(
        status(&env.login("new.user@example.com", STRONG).await),
        200
    );

    let again = register(
        &env,
        json!({"username": "NEW.USER@example.com", "password": STRONGER}),
    )
    .await;
    assert_eq!(status(&again), 409);
    assert_eq!(error_code(&again), "username_taken");
    // The first account's password is unchanged.
    assert_eq!(
        status(&env.login("new.user@example.com", STRONG).await),
        200
    );
}

#[tokio::test]
async fn register_refusals_write_nothing() {
    let env = TestEnv::new().await;
    let off = register(&env, json!({"username": "erin", "password": STRONG})).await;
    assert_eq!(
        (status(&off), error_code(&off)),
        (403, "signup_disabled".into())
    );
    assert!(!user_exists(&env, "erin").await);
    // Off means off: a malformed body is not even read.
    let off = register(&env, json!({"username": "erin smith"})).await;
    assert_eq!(
        (status(&off), error_code(&off)),
        (403, "signup_disabled".into())
    );

    let env = signup_env().await;
    for (request, code) in [
        (
            json!({"username": "erin", "password": "password1"}),
            "weak_password",
        ),
        (
            json!({"username": "erin", "password": "erin-rocks-2024"}),
            "weak_password",
        ),
        (
            json!({"username": "erin", "password": "x".repeat(1025)}),
            "weak_password",
        ),
        (
            json!({"username": "erin", "password": "Sh0rt!"}),
            "weak_password",
        ),
        (
            json!({"username": "erin smith", "password": STRONG}),
            "invalid_request",
        ),
        (json!({"username": "erin"}), "invalid_request"),
        (
            json!({"username": "erin", "password": STRONG, "device_id": 7}),
            "invalid_request",
        ),
    ] {
        let resp = register(&env, request.clone()).await;
        assert_eq!(
            (status(&resp), error_code(&resp)),
            (400, code.to_string()),
            "{request}"
        );
        assert!(!body(&resp)["error_description"]
            .as_str()
            .unwrap()
            .is_empty());
    }
    let weak = register(&env, json!({"username": "erin", "password": "password1"})).await;
    assert!(body(&weak)["error_description"]
        .as_str()
        .unwrap()
        .contains("common password"));
    // Cross-site: a form post and a foreign origin.
    let mut form = register_event("username=erin&password=x");
    form["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    assert_eq!(status(&env.invoke(Endpoint::Register, form).await), 415);
    let mut foreign = register_event(&json!({"username": "erin", "password": STRONG}).to_string());
    foreign["headers"]["origin"] = json!("https://evil.example");
    assert_eq!(status(&env.invoke(Endpoint::Register, foreign).await), 403);
    assert!(!user_exists(&env, "erin").await);
}

#[tokio::test]
async fn eight_concurrent_registrations_of_one_name_make_one_account() {
    let env = Arc::new(signup_env().await);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let env = env.clone();
            tokio::spawn(async move {
                let password = format!("{STRONG} {i}");
                let resp = register(&env, json!({"username": "grace", "password": password})).await;
                (status(&resp), password)
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut taken = 0;
    for t in tasks {
        match t.await.unwrap() {
            (201, password) => created.push(password),
            (409, _) => taken += 1,
            (other, _) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created.len(), taken), (1, 7));
    // The winner's password is the account's, and it has exactly one session.
    assert_eq!(status(&env.login("grace", &created[0]).await), 200);
    assert_eq!(
        session_ids(&env, "grace").await.len(),
        2,
        "the sign-up's session and the login's"
    );
}

#[tokio::test]
async fn with_dynamodb_down_register_is_503_and_leaves_no_user() {
    let (env, ddb, _sm) = TestEnv::through_proxies_with(|c| c.signup.enabled = true).await;
    ddb.set(Mode::Cut);
    let resp = register(&env, json!({"username": "henry", "password": STRONG})).await;
    assert_eq!(
        (status(&resp), error_code(&resp)),
        (503, "temporarily_unavailable".into())
    );
    assert!(header(&resp, "retry-after").is_some());
    ddb.set(Mode::Forward);
    assert!(!user_exists(&env, "henry").await);
    assert!(session_ids(&env, "henry").await.is_empty());
    // And the name is still free.
    let resp = register(&env, json!({"username": "henry", "password": STRONG})).await;
    assert_eq!(status(&resp), 201);
}

#[tokio::test]
async fn sessions_list_revoke_one_and_revoke_others() {
    let env = TestEnv::with_user("ivy", "ivy-password-1").await;
    env.create_user("jack", "jack-password-1", &[]).await;
    let first = env.login("ivy", "ivy-password-1").await;
    let second = env.login("ivy", "ivy-password-1").await;
    let third = env.login("ivy", "ivy-password-1").await;
    let jacks = env.login("jack", "jack-password-1").await;
    let me = identity_of(&third);

    let listed = account(&env, "sessions-list.json", &me, None).await;
    assert_eq!(status(&listed), 200, "{listed}");
    let sessions = body(&listed)["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3);
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["session_id"], me["session_id"]);
    for s in &sessions {
        for t in ["created_at", "last_used_at", "expires_at"] {
            let v = s[t].as_str().unwrap();
            assert!(
                v.len() == 20 && v.ends_with('Z') && &v[10..11] == "T",
                "{t}: {v}"
            );
        }
        assert!(s["device_id"].is_string());
    }
    let ids: Vec<_> = sessions.iter().map(|s| s["session_id"].clone()).collect();
    assert!(!ids.contains(&identity_of(&jacks)["session_id"]));

    // One session: 204, and its refresh token is dead at once.
    let mut revoke = account_event("sessions-revoke-one.json", &me);
    let target = identity_of(&first)["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    revoke["rawPath"] = json!(format!("/auth/sessions/{target}"));
    revoke["requestContext"]["http"]["path"] = revoke["rawPath"].clone();
    revoke["pathParameters"]["session_id"] = json!(target);
    let resp = env.invoke(Endpoint::Account, revoke.clone()).await;
    assert_eq!(status(&resp), 204, "{resp}");
    assert_eq!(
        status(&env.refresh_with_body(&refresh_token_of(&first)).await),
        401
    );
    // Again: not found. Another user's session: not found, and it lives on.
    let resp = env.invoke(Endpoint::Account, revoke).await;
    assert_eq!(
        (status(&resp), error_code(&resp)),
        (404, "not_found".into())
    );
    let mut other = account_event("sessions-revoke-one.json", &me);
    let jack_sid = identity_of(&jacks)["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    other["pathParameters"]["session_id"] = json!(jack_sid);
    let resp = env.invoke(Endpoint::Account, other).await;
    assert_eq!(
        (status(&resp), error_code(&resp)),
        (404, "not_found".into())
    );
    assert_eq!(
        status(&env.refresh_with_body(&refresh_token_of(&jacks)).await),
        200
    );

    // All the others: 204; only the current one is left.
    let resp = account(&env, "sessions-revoke-others.json", &me, None).await;
    assert_eq!(status(&resp), 204);
    assert_eq!(
        status(&env.refresh_with_body(&refresh_token_of(&second)).await),
        401
    );
    assert_eq!(
        status(&env.refresh_with_body(&refresh_token_of(&third)).await),
        200
    );
    let listed = account(&env, "sessions-list.json", &me, None).await;
    assert_eq!(body(&listed)["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn password_change_keeps_this_session_ends_the_others_and_swaps_the_password() {
    let env = TestEnv::with_user("kate", "kate-password-1").await;
    let other = env.login("kate", "kate-password-1").await;
    let current = env.login("kate", "kate-password-1").await;
    let me = identity_of(&current);
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    for (body, code) in [
        (change("kate-password-1", "password1"), "weak_password"),
        (
            change("kate-password-1", "kate-password-1"),
            "weak_password",
        ),
        (
            json!({"current_password": "kate-password-1"}),
            "invalid_request",
        ),
        (json!({"new_password": STRONG}), "invalid_request"),
    ] {
        let resp = account(&env, "password-change.json", &me, Some(body.clone())).await;
        assert_eq!(
            (status(&resp), error_code(&resp)),
            (400, code.to_string()),
            "{body}"
        );
    }
    let wrong = account(
        &env,
        "password-change.json",
        &me,
        Some(change("nope", STRONG)),
    )
    .await;
    assert_eq!(
        (status(&wrong), error_code(&wrong)),
        (401, "invalid_credentials".into())
    );
    // Nothing changed so far.
    assert_eq!(
        status(&env.refresh_with_body(&refresh_token_of(&other)).await),
        200
    );

    let ok = account(
        &env,
        "password-change.json",
        &me,
        Some(change("kate-password-1", STRONG)),
    )
    .await;
    assert_eq!(status(&ok), 204, "{ok}");
    assert_eq!(status(&env.login("kate", "kate-password-1").await), 401);
    assert_eq!(status(&env.login("kate", STRONG).await), 200);
    assert_eq!(
        status(&env.refresh_with_body(&refresh_token_of(&current)).await),
        200
    );
    let ids = session_ids(&env, "kate").await;
    let other_sid = identity_of(&other)["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !ids.contains(&other_sid),
        "the other session's item is deleted"
    );
    assert!(ids.iter().any(|id| me["session_id"] == id.as_str()));
}

#[tokio::test]
async fn wrong_current_passwords_lock_like_failed_logins() {
    let env = TestEnv::with_user("liam", "liam-password-1").await;
    let current = env.login("liam", "liam-password-1").await;
    let me = identity_of(&current);
    let wrong = json!({"current_password": "wrong", "new_password": STRONG});
    for _ in 0..env.cfg.lockout.max_failures {
        let resp = account(&env, "password-change.json", &me, Some(wrong.clone())).await;
        assert_eq!(status(&resp), 401);
    }
    let right = json!({"current_password": "liam-password-1", "new_password": STRONG});
    let locked = account(&env, "password-change.json", &me, Some(right)).await;
    assert_eq!(
        (status(&locked), error_code(&locked)),
        (429, "too_many_attempts".into())
    );
    assert!(header(&locked, "retry-after").is_some());
    assert_eq!(status(&env.login("liam", "liam-password-1").await), 429);
}

#[tokio::test]
async fn a_refresh_racing_a_password_change_leaves_no_revoked_session_alive() {
    let env = Arc::new(TestEnv::new().await);
    env.create_user("mia", "mia-password-1", &[]).await;
    let racer = env.login("mia", "mia-password-1").await;
    let current = env.login("mia", "mia-password-1").await;
    let me = identity_of(&current);
    // The other device refreshes in a loop, each time with its newest token, while the
    // password changes underneath it.
    let refresher = {
        let env = env.clone();
        let mut token = refresh_token_of(&racer);
        tokio::spawn(async move {
            let mut last_ok = token.clone();
            for _ in 0..20 {
                let resp = env.refresh_with_body(&token).await;
                if status(&resp) == 200 {
                    token = refresh_token_of(&resp);
                    last_ok = token.clone();
                }
            }
            last_ok
        })
    };
    let change = json!({"current_password": "mia-password-1", "new_password": STRONG});
    let resp = account(&env, "password-change.json", &me, Some(change)).await;
    assert_eq!(status(&resp), 204, "{resp}");
    let newest = refresher.await.unwrap();
    // Whatever the interleaving, the racing session is dead and its item gone.
    assert_eq!(status(&env.refresh_with_body(&newest).await), 401);
    let ids = session_ids(&env, "mia").await;
    assert_eq!(
        ids,
        vec![me["session_id"].as_str().unwrap().to_string()],
        "only the current session is left"
    );
}

#[tokio::test]
async fn with_dynamodb_down_the_account_routes_are_503_and_change_nothing() {
    let (env, ddb, _sm) = TestEnv::through_proxies().await;
    env.create_user("noah", "noah-password-1", &[]).await;
    let other = env.login("noah", "noah-password-1").await;
    let current = env.login("noah", "noah-password-1").await;
    let me = identity_of(&current);
    ddb.set(Mode::Cut);
    let change = json!({"current_password": "noah-password-1", "new_password": STRONG});
    for resp in [
        account(&env, "sessions-list.json", &me, None).await,
        account(&env, "sessions-revoke-others.json", &me, None).await,
        account(&env, "password-change.json", &me, Some(change)).await,
    ] {
        assert_eq!(
            (status(&resp), error_code(&resp)),
            (503, "temporarily_unavailable".into())
        );
        assert!(header(&resp, "retry-after").is_some());
    }
    ddb.set(Mode::Forward);
    assert_eq!(status(&env.login("noah", "noah-password-1").await), 200);
    assert_eq!(
        status(&env.refresh_with_body(&refresh_token_of(&other)).await),
        200
    );
}

#[tokio::test]
async fn a_hash_made_with_other_argon2_settings_is_upgraded_at_login() {
    let env = TestEnv::new().await;
    let mut user = env.create_user("olive", "olive-password-1", &[]).await;
    user.password_hash = shared::crypto::password::Passwords::with_params(1024, 1, 1)
        .unwrap()
        .hash_blocking("olive-password-1")
        .unwrap();
    // Stored as an older deployment would have: other parameters.
    let item = shared::domain::Username::parse("olive").unwrap();
    env.app
        .dynamodb
        .update_item()
        .table_name(&env.cfg.tables.users)
        .key(
            "username",
            aws_sdk_dynamodb::types::AttributeValue::S(item.as_str().into()),
        )
        .update_expression("SET password_hash = :h")
        .expression_attribute_values(
            ":h",
            aws_sdk_dynamodb::types::AttributeValue::S(user.password_hash.clone()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status(&env.login("olive", "olive-password-1").await), 200);
    let stored = env.app.store.get_user(&item).await.unwrap().unwrap();
    assert!(
        stored.password_hash.contains("m=19456,t=2,p=1"),
        "{}",
        stored.password_hash
    );
    assert_eq!(status(&env.login("olive", "olive-password-1").await), 200);
    assert_eq!(status(&env.login("olive", "wrong-password-1").await), 401);
}

#[tokio::test]
async fn a_cross_site_password_change_changes_nothing() {
    let env = TestEnv::with_user("pia", "pia-password-1").await;
    let current = env.login("pia", "pia-password-1").await;
    let me = identity_of(&current);
    let change = json!({"current_password": "pia-password-1", "new_password": STRONG});
    let mut foreign = with_body(
        account_event("password-change.json", &me),
        Some(&change.to_string()),
    );
    foreign["headers"]["origin"] = json!("https://evil.example");
    let resp = env.invoke(Endpoint::Account, foreign).await;
    assert_eq!(
        (status(&resp), error_code(&resp)),
        (403, "invalid_origin".into())
    );
    let mut form = with_body(
        account_event("password-change.json", &me),
        Some("current_password=pia-password-1&new_password=x"),
    );
    form["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    assert_eq!(status(&env.invoke(Endpoint::Account, form).await), 415);
    assert_eq!(status(&env.login("pia", "pia-password-1").await), 200);
}

#[tokio::test]
async fn round_trips_of_the_account_routes() {
    let env = signup_env().await;
    env.dynamodb_calls.reset();
    let resp = register(&env, json!({"username": "quinn", "password": STRONG})).await;
    assert_eq!(status(&resp), 201);
    assert_eq!(
        env.dynamodb_calls.get(),
        1,
        "sign-up: one TransactWriteItems"
    );
    let me = identity_of(&resp);
    env.dynamodb_calls.reset();
    assert_eq!(
        status(&account(&env, "sessions-list.json", &me, None).await),
        200
    );
    assert_eq!(env.dynamodb_calls.get(), 2, "list: GetItem ∥ Query");
    env.dynamodb_calls.reset();
    let change = json!({"current_password": STRONG, "new_password": STRONGER});
    assert_eq!(
        status(&account(&env, "password-change.json", &me, Some(change)).await),
        204
    );
    // GetItem ∥ UpdateItem (the attempt), DeleteItem (counter), UpdateItem (hash + cutoff),
    // then the clean-up: Query, and no BatchWriteItem with no other session.
    assert_eq!(env.dynamodb_calls.get(), 5, "password change");
}

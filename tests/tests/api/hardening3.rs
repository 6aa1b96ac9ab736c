//! The third security review's findings (issue 27), each driven through the real handlers
//! against DynamoDB Local: an ended session acting through the account routes, device tokens
//! outliving a password change (concurrently), the breached-password check against a local
//! range stub, and the username rules.

use std::sync::Arc;

use integration_tests::pwned_stub::PwnedStub;
use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;
use shared::ports::UserStore;

const PW: &str = "pw-123456";
const STRONG: &str = "violet kettle orbit 42";

fn code(resp: &Value) -> String {
    body(resp)["error"].as_str().unwrap_or_default().to_string()
}

async fn account(env: &TestEnv, sample: &str, who: &Value, body: Option<Value>) -> Value {
    let mut event = account_event(sample, who);
    if let Some(b) = body {
        event = with_body(event, Some(&b.to_string()));
    }
    env.invoke(Endpoint::Account, event).await
}

/// `resp` is the error `status` / `code` (`context` says which case, `{resp}` is appended).
#[track_caller]
fn expect(resp: &Value, status_code: u64, error: &str, context: &str) {
    assert_eq!(
        (status(resp), code(resp)),
        (status_code, error.to_string()),
        "{context} {resp}"
    );
}

/// The status of a refresh with the refresh token a login or sign-up answered with.
async fn refresh(env: &TestEnv, issued: &Value) -> u64 {
    status(&env.refresh_with_body(&refresh_token_of(issued)).await)
}

fn change(current: &str, new: &str) -> Value {
    json!({"current_password": current, "new_password": new})
}

/// Owner and thief share a password; the owner changes it. The thief's access token still
/// verifies offline (the authorizer's default mode), but its session is cut off: every
/// account route answers 401 `invalid_token` and the owner's session lives on.
#[tokio::test]
async fn after_a_password_change_the_thiefs_access_token_acts_on_nothing() {
    let env = TestEnv::new().await;
    env.create_user("olive", PW, &[]).await;
    let owner = env.login("olive", PW).await;
    let thief = env.login("olive", PW).await;
    let changed = account(
        &env,
        "password-change.json",
        &identity_of(&owner),
        Some(change(PW, STRONG)),
    )
    .await;
    assert_eq!(status(&changed), 204, "{changed}");

    let thief = identity_of(&thief);
    for (sample, body) in [
        ("sessions-revoke-others.json", None),
        ("sessions-list.json", None),
        ("sessions-revoke-one.json", None),
        (
            "password-change.json",
            Some(change(STRONG, "amber lantern quietly 77")),
        ),
    ] {
        let resp = account(&env, sample, &thief, body).await;
        expect(&resp, 401, "invalid_token", sample);
    }
    // Nothing changed: the owner's session refreshes, the password is the owner's.
    assert_eq!(refresh(&env, &owner).await, 200);
    assert_eq!(status(&env.login("olive", STRONG).await), 200);
}

#[tokio::test]
async fn a_logged_out_session_or_a_disabled_user_gets_invalid_token() {
    let env = TestEnv::new().await;
    env.create_user("pam", PW, &[]).await;
    let kept = env.login("pam", PW).await;
    let gone = env.login("pam", PW).await;
    let out = env
        .invoke(
            Endpoint::Logout,
            refresh_event(
                Some(&json!({"refresh_token": refresh_token_of(&gone)}).to_string()),
                &[],
            ),
        )
        .await;
    assert_eq!(status(&out), 204);
    let resp = account(
        &env,
        "sessions-revoke-others.json",
        &identity_of(&gone),
        None,
    )
    .await;
    expect(&resp, 401, "invalid_token", "");
    assert_eq!(refresh(&env, &kept).await, 200);

    let name = shared::domain::Username::parse("pam").unwrap();
    env.app.store.set_disabled(&name, true).await.unwrap();
    let resp = account(&env, "sessions-list.json", &identity_of(&kept), None).await;
    expect(&resp, 401, "invalid_token", "");
}

/// Eight logins mint eight device tokens; after the password changes, every old device and
/// the username guess at once: the old tokens add nothing, so at most LOGIN_MAX_FAILURES
/// passwords are checked in all (the review measured 45).
#[tokio::test]
async fn old_device_tokens_add_no_guesses_after_a_password_change_even_at_once() {
    let env = Arc::new(TestEnv::new().await);
    env.create_user("quinn", PW, &[]).await;
    let mut devices = Vec::new();
    for _ in 0..8 {
        let resp = env.login("quinn", PW).await;
        devices.push(body(&resp)["device_token"].as_str().unwrap().to_string());
    }
    let current = env.login("quinn", PW).await;
    env.clock.advance(1);
    let changed = account(
        &env,
        "password-change.json",
        &identity_of(&current),
        Some(change(PW, STRONG)),
    )
    .await;
    assert_eq!(status(&changed), 204, "{changed}");

    let max = env.cfg.lockout.max_failures as usize;
    let mut tasks = Vec::new();
    for i in 0..(devices.len() + 1) * (max + 1) {
        let env = env.clone();
        let device = devices.get(i % (devices.len() + 1)).cloned();
        tasks.push(tokio::spawn(async move {
            let mut body = json!({"username": "quinn", "password": format!("guess-{i}")});
            if let Some(token) = device {
                body["device_token"] = json!(token);
            }
            status(
                &env.invoke(Endpoint::Login, login_event(&body.to_string()))
                    .await,
            )
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(checked <= max, "{checked} passwords checked: {statuses:?}");
    assert!(checked >= 1, "{statuses:?}");
}

/// The review's weak passwords, found in a breach corpus (a local range stub): 400
/// `weak_password` and no account; only `/range/` and five hex characters were sent; an
/// unreachable API lets a password through.
#[tokio::test]
async fn breached_passwords_are_weak_and_only_a_hash_prefix_leaves() {
    let breached = [
        "correcthorsebatterystaple",
        "Tr0ub4dor&3",
        "Welcome2025$$",
        "changeme-changeme",
    ];
    let stub = PwnedStub::start(&breached).await;
    let url = stub.url.clone();
    let env = TestEnv::with(move |c| {
        c.signup.enabled = true;
        c.pwned_passwords_url = Some(url);
    })
    .await;
    for (i, password) in breached.iter().enumerate() {
        let name = format!("breach{i}");
        let resp = env
            .invoke(
                Endpoint::Register,
                register_event(&json!({"username": name, "password": password}).to_string()),
            )
            .await;
        expect(&resp, 400, "weak_password", password);
        assert!(body(&resp)["error_description"]
            .as_str()
            .unwrap()
            .contains("breach"));
        let user = shared::domain::Username::parse(&name).unwrap();
        assert!(env.app.store.get_user(&user).await.unwrap().is_none());
    }
    let resp = env
        .invoke(
            Endpoint::Register,
            register_event(&json!({"username": "clean", "password": STRONG}).to_string()),
        )
        .await;
    assert_eq!(status(&resp), 201, "{resp}");
    // A password change meets the same rule.
    let changed = account(
        &env,
        "password-change.json",
        &identity_of(&resp),
        Some(change(STRONG, breached[0])),
    )
    .await;
    expect(&changed, 400, "weak_password", "");
    let asked = stub.asked();
    assert_eq!(asked.len(), breached.len() + 2, "{asked:?}");
    for path in &asked {
        let prefix = path.strip_prefix("/range/").unwrap_or_default();
        assert!(
            prefix.len() == 5 && prefix.bytes().all(|b| b.is_ascii_hexdigit()),
            "{path}"
        );
    }

    // Nothing listens: the password goes through (fail open), after at most the timeout.
    let env = TestEnv::with(|c| {
        c.signup.enabled = true;
        c.pwned_passwords_url = Some("http://127.0.0.1:9".into());
    })
    .await;
    let resp = env
        .invoke(
            Endpoint::Register,
            register_event(&json!({"username": "open", "password": breached[1]}).to_string()),
        )
        .await;
    assert_eq!(status(&resp), 201, "{resp}");
}

#[tokio::test]
async fn usernames_need_a_letter_or_digit_and_passwords_cannot_hide_them_with_separators() {
    let env = TestEnv::with(|c| c.signup.enabled = true).await;
    for name in ["..", "-", "@+"] {
        let resp = env
            .invoke(
                Endpoint::Register,
                register_event(&json!({"username": name, "password": STRONG}).to_string()),
            )
            .await;
        expect(&resp, 400, "invalid_request", name);
    }
    let resp = env
        .invoke(
            Endpoint::Register,
            register_event(
                &json!({"username": "john.smithn59", "password": "johnsmithn59!Q9z"}).to_string(),
            ),
        )
        .await;
    expect(&resp, 400, "weak_password", "");
}

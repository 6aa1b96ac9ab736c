//! The hardening review's findings (issue 15), each driven through the real handlers against
//! DynamoDB Local: the lockout under concurrency, device tokens, cross-site requests, logout-all
//! with a spent token, the grace window to the millisecond, and cookie tossing.

use std::sync::Arc;

use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;

const PW: &str = "pw-123456";

async fn env_with_alice() -> Arc<TestEnv> {
    let env = TestEnv::new().await;
    env.create_user("alice", PW, &[]).await;
    Arc::new(env)
}

/// A login event with extra headers (name, value) on top of the sample's.
fn login_with_headers(body: &str, headers: &[(&str, &str)]) -> Value {
    let mut event = login_event(body);
    for (name, value) in headers {
        event["headers"][*name] = json!(value);
    }
    event
}

fn alice_body(password: &str) -> String {
    json!({"username": "alice", "password": password}).to_string()
}

// ---- The lockout under concurrency -------------------------------------------------------

/// However many guesses arrive at once, at most LOGIN_MAX_FAILURES passwords are checked:
/// every other attempt is a 429 answered before the password is looked at. A 429 is the only
/// answer given without a verification, so the non-429 answers count the verifications.
#[tokio::test]
async fn forty_concurrent_guesses_check_at_most_max_failures_passwords() {
    let env = env_with_alice().await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let env = env.clone();
            // The right password is among them, last in line.
            let password = if i == 39 {
                PW.to_string()
            } else {
                format!("wrong-{i}")
            };
            tokio::spawn(async move { status(&env.login("alice", &password).await) })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(
        checked <= env.cfg.lockout.max_failures as usize,
        "{checked} passwords checked: {statuses:?}"
    );
    assert!(checked >= 1, "{statuses:?}");
    // Unless the right password happened to be among those checked, the name is now locked.
    if !statuses.contains(&200) {
        assert_eq!(status(&env.login("alice", PW).await), 429);
    }
}

// ---- Device tokens ----------------------------------------------------------------------

async fn device_token_of(env: &TestEnv) -> String {
    let resp = env.login("alice", PW).await;
    assert_eq!(status(&resp), 200, "{resp}");
    let token = body(&resp)["device_token"]
        .as_str()
        .expect("login returns a device_token")
        .to_string();
    let cookie = cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("device_token="))
        .expect("and sets it as a cookie");
    assert_eq!(
        cookie,
        format!(
            "device_token={token}; HttpOnly; Secure; SameSite=Strict; Path=/auth/login; Max-Age={}",
            env.cfg.sessions.max_age
        )
    );
    token
}

/// Alice's login with `password` and `device` as the body's device token.
async fn alice_with_device(env: &TestEnv, password: &str, device: &str) -> Value {
    let body = json!({"username": "alice", "password": password, "device_token": device});
    env.invoke(Endpoint::Login, login_event(&body.to_string()))
        .await
}

async fn lock_out_alice(env: &TestEnv) {
    for _ in 0..env.cfg.lockout.max_failures {
        assert_eq!(status(&env.login("alice", "attacker-guess").await), 401);
    }
    assert_eq!(status(&env.login("alice", PW).await), 429);
}

#[tokio::test]
async fn a_known_device_logs_in_while_the_username_is_locked_for_everyone_else() {
    let env = env_with_alice().await;
    let device = device_token_of(&env).await;
    lock_out_alice(&env).await;

    let in_body = alice_with_device(&env, PW, &device).await;
    assert_eq!(status(&in_body), 200, "{in_body}");

    let mut as_cookie = login_event(&alice_body(PW));
    as_cookie["cookies"] = json!([format!("device_token={device}")]);
    assert_eq!(status(&env.invoke(Endpoint::Login, as_cookie).await), 200);

    // Everyone else is still locked out.
    assert_eq!(status(&env.login("alice", PW).await), 429);
}

#[tokio::test]
async fn a_devices_own_failures_still_lock_that_device() {
    let env = env_with_alice().await;
    let device = device_token_of(&env).await;
    for _ in 0..env.cfg.lockout.max_failures {
        let refused = alice_with_device(&env, "nope-nope", &device).await;
        assert_eq!(status(&refused), 401);
    }
    let locked = alice_with_device(&env, PW, &device).await;
    assert_eq!(status(&locked), 429, "{locked}");
}

#[tokio::test]
async fn device_tokens_of_another_user_or_forged_are_ignored() {
    let env = env_with_alice().await;
    env.create_user("mallory", PW, &[]).await;
    let resp = env.login("mallory", PW).await;
    let mallorys = body(&resp)["device_token"].as_str().unwrap().to_string();
    let alices = device_token_of(&env).await;
    lock_out_alice(&env).await;

    // Forged: the right shape, another MAC; tampered: one character of alice's own changed.
    let mut tampered = alices.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for token in [mallorys.as_str(), tampered.as_str(), "dt1.x.y.z", ""] {
        let resp = alice_with_device(&env, PW, token).await;
        assert_eq!(status(&resp), 429, "{token:.20}: {resp}");
    }
}

#[tokio::test]
async fn an_expired_device_token_is_ignored() {
    let env = env_with_alice().await;
    let device = device_token_of(&env).await;
    env.clock.advance(env.cfg.sessions.max_age + 1);
    lock_out_alice(&env).await;
    let resp = alice_with_device(&env, PW, &device).await;
    assert_eq!(status(&resp), 429, "{resp}");
}

// ---- Cross-site requests ----------------------------------------------------------------

#[tokio::test]
async fn a_non_json_content_type_is_415_and_logs_nobody_in() {
    let env = env_with_alice().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let resp = env
            .invoke(
                Endpoint::Login,
                login_with_headers(&alice_body(PW), &[("content-type", content_type)]),
            )
            .await;
        assert_eq!(status(&resp), 415, "{content_type}: {resp}");
        assert_eq!(body(&resp)["error"], "invalid_request");
        assert!(cookies(&resp).is_empty(), "{resp}");
    }
    let mut no_type = login_event(&alice_body(PW));
    no_type["headers"]
        .as_object_mut()
        .unwrap()
        .remove("content-type");
    assert_eq!(status(&env.invoke(Endpoint::Login, no_type).await), 415);
    // Parameters are fine.
    let ok = env
        .invoke(
            Endpoint::Login,
            login_with_headers(
                &alice_body(PW),
                &[("content-type", "application/json; charset=utf-8")],
            ),
        )
        .await;
    assert_eq!(status(&ok), 200, "{ok}");
}

#[tokio::test]
async fn a_foreign_origin_is_403_and_changes_nothing() {
    let env = env_with_alice().await;
    let live = env.login_token("alice", PW).await;
    let foreign = [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
    ];
    for headers in &foreign {
        let login = env
            .invoke(
                Endpoint::Login,
                login_with_headers(&alice_body(PW), headers),
            )
            .await;
        assert_eq!(status(&login), 403, "{headers:?}: {login}");
        assert_eq!(body(&login)["error"], "invalid_origin");
        assert!(cookies(&login).is_empty());

        let mut logout = logout_event(None, &[&format!("refresh_token={live}")]);
        let mut refresh = refresh_event(None, &[&format!("refresh_token={live}")]);
        for (name, value) in headers {
            logout["headers"][*name] = json!(value);
            refresh["headers"][*name] = json!(value);
        }
        let out = env.invoke(Endpoint::Logout, logout).await;
        assert_eq!(status(&out), 403, "{out}");
        assert!(
            cookies(&out).is_empty(),
            "a forced logout must not clear the cookie: {out}"
        );
        let rotated = env.invoke(Endpoint::Refresh, refresh).await;
        assert_eq!(status(&rotated), 403, "{rotated}");
        assert!(cookies(&rotated).is_empty());
    }
    // Nothing changed: the session is alive and its token unspent.
    assert_eq!(status(&env.refresh_with_body(&live).await), 200);
}

#[tokio::test]
async fn the_apis_own_origin_is_allowed() {
    let env = env_with_alice().await;
    let resp = env
        .invoke(
            Endpoint::Login,
            login_with_headers(
                &alice_body(PW),
                &[
                    (
                        "origin",
                        "https://abc123xyz0.execute-api.eu-west-1.amazonaws.com",
                    ),
                    ("sec-fetch-site", "same-origin"),
                ],
            ),
        )
        .await;
    assert_eq!(status(&resp), 200, "{resp}");
}

// ---- Logout-all, the grace window, eviction ----------------------------------------------

#[tokio::test]
async fn logout_all_with_a_long_spent_token_revokes_only_its_own_session() {
    let env = env_with_alice().await;
    let t0 = env.login_token("alice", PW).await;
    let _t1 = refresh_token_of(&env.refresh_with_body(&t0).await);
    let other_device = env.login_token("alice", PW).await;
    env.clock.advance(env.cfg.sessions.reuse_grace_secs + 1);

    let resp = env.logout_everywhere(&t0).await;

    assert_eq!(status(&resp), 204);
    assert_eq!(
        status(&env.refresh_with_body(&other_device).await),
        200,
        "a spent token must not log out every device"
    );
}

#[tokio::test]
async fn logout_all_with_the_predecessor_inside_the_grace_window_revokes_everything() {
    let env = env_with_alice().await;
    let t0 = env.login_token("alice", PW).await;
    let _t1 = refresh_token_of(&env.refresh_with_body(&t0).await);
    let other_device = env.login_token("alice", PW).await;

    let resp = env.logout_everywhere(&t0).await;

    assert_eq!(status(&resp), 204);
    assert_eq!(status(&env.refresh_with_body(&other_device).await), 401);
}

#[tokio::test]
async fn a_zero_grace_window_means_no_grace_at_all() {
    let env = TestEnv::with(|c| c.sessions.reuse_grace_secs = 0).await;
    env.create_user("alice", PW, &[]).await;
    let t0 = env.login_token("alice", PW).await;
    let t1 = refresh_token_of(&env.refresh_with_body(&t0).await);

    // The same instant: no clock movement at all.
    let replay = env.refresh_with_body(&t0).await;

    assert_eq!(status(&replay), 401, "{replay}");
    assert_eq!(
        status(&env.refresh_with_body(&t1).await),
        401,
        "reuse revoked the session"
    );
}

// ---- Cookie tossing -----------------------------------------------------------------------

#[tokio::test]
async fn two_refresh_cookies_are_refused_without_rotating_either() {
    let env = env_with_alice().await;
    env.create_user("mallory", PW, &[]).await;
    let victims = env.login_token("alice", PW).await;
    let tossed = env.login_token("mallory", PW).await;

    let resp = env
        .invoke(
            Endpoint::Refresh,
            refresh_event(
                None,
                &[
                    &format!("refresh_token={tossed}"),
                    &format!("refresh_token={victims}"),
                ],
            ),
        )
        .await;

    assert_eq!(status(&resp), 400, "{resp}");
    assert_eq!(body(&resp)["error"], "invalid_request");
    // Neither was spent.
    assert_eq!(status(&env.refresh_with_body(&victims).await), 200);
    assert_eq!(status(&env.refresh_with_body(&tossed).await), 200);
}

// ---- The lockout denial of service, measured --------------------------------------------

struct DosFigures {
    attacker_requests: u32,
    attacker_passwords_checked: u32,
    user_attempts: u32,
    user_logins: u32,
}

/// One simulated hour: an attacker who knows the username sends a wrong password whenever the
/// lockout has run out (it reads `Retry-After`), and the real user logs in once a minute from
/// a device that logged in before (with or without presenting its device token).
async fn lockout_dos_hour(with_device_token: bool) -> DosFigures {
    let env = env_with_alice().await;
    let device = body(&env.login("alice", PW).await)["device_token"]
        .as_str()
        .unwrap()
        .to_string();
    let start = shared::ports::Clock::now(env.clock.as_ref());
    let (mut next_attack, mut next_user) = (start, start + 60);
    let mut f = DosFigures {
        attacker_requests: 0,
        attacker_passwords_checked: 0,
        user_attempts: 0,
        user_logins: 0,
    };
    while next_attack.min(next_user) < start + 3600 {
        // The attacker goes first when both are due: the worst case for the user.
        if next_attack <= next_user {
            env.clock.set(next_attack);
            let resp = env.login("alice", "attacker-guess").await;
            f.attacker_requests += 1;
            next_attack += match status(&resp) {
                429 => header(&resp, "retry-after")
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
                401 => {
                    f.attacker_passwords_checked += 1;
                    0
                }
                other => panic!("attacker got {other}"),
            };
        } else {
            env.clock.set(next_user);
            let mut body = json!({"username": "alice", "password": PW});
            if with_device_token {
                body["device_token"] = json!(device);
            }
            let resp = env
                .invoke(Endpoint::Login, login_event(&body.to_string()))
                .await;
            f.user_attempts += 1;
            if status(&resp) == 200 {
                f.user_logins += 1;
            }
            next_user += 60;
        }
    }
    f
}

#[tokio::test]
async fn a_device_token_keeps_the_user_in_while_an_attacker_holds_the_username_locked() {
    let without = lockout_dos_hour(false).await;
    let with = lockout_dos_hour(true).await;
    for (name, f) in [
        ("without a device token", &without),
        ("with a device token", &with),
    ] {
        println!(
            "lockout DoS, one hour, {name}: attacker {} requests ({} passwords checked); user {}/{} logins",
            f.attacker_requests, f.attacker_passwords_checked, f.user_logins, f.user_attempts
        );
    }
    // The attack is cheap: a few requests an hour keep the name locked for everyone else...
    assert!(
        without.attacker_requests < 40,
        "{}",
        without.attacker_requests
    );
    assert!(without.user_logins * 4 < without.user_attempts);
    // ... but not for a device that logged in before.
    assert_eq!(with.user_logins, with.user_attempts);
}

#[tokio::test]
async fn a_login_costs_five_round_trips_and_a_refused_one_two() {
    let env = env_with_alice().await;
    env.dynamodb_calls.reset();
    assert_eq!(status(&env.login("alice", PW).await), 200);
    // GetItem ∥ UpdateItem (the attempt reserved), PutItem ∥ DeleteItem (session, counter
    // reset), Query (the session cap).
    assert_eq!(env.dynamodb_calls.get(), 5);
    lock_out_alice(&env).await;
    env.dynamodb_calls.reset();
    assert_eq!(status(&env.login("alice", PW).await), 429);
    // GetItem ∥ the refused UpdateItem, which returns the record it refused on.
    assert_eq!(env.dynamodb_calls.get(), 2);
}

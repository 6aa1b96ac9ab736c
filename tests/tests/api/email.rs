//! A way back in, against DynamoDB Local and moto's SES v2: sign-up with an address and its
//! verification, `GET /auth/me`, an address change, forgot and reset, through real API Gateway
//! events. Every status code of the contract's email routes; the token lifecycle (unknown,
//! expired, used, superseded); the per-address mail limit under 20 concurrent requests; the
//! time of `forgot` for known and unknown addresses; a mail service that refuses.

use std::time::Instant;

use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;
use shared::ports::UserStore;

const STRONG: &str = "violet kettle orbit 42";
const NEWER: &str = "amber lantern quietly 77";

async fn signup_env() -> TestEnv {
    TestEnv::with(|c| c.signup.enabled = true).await
}

async fn register(env: &TestEnv, username: &str, email: &str) -> Value {
    let body = json!({"username": username, "password": STRONG, "email": email});
    env.invoke(Endpoint::Register, register_event(&body.to_string()))
        .await
}

/// A public email route (`/auth/email/verify`, `/auth/password/forgot`, `/auth/password/reset`).
async fn recovery(env: &TestEnv, path: &str, body: Value) -> Value {
    let sample = match path {
        "/auth/password/forgot" => "password-forgot.json",
        "/auth/password/reset" => "password-reset.json",
        _ => "email-verify.json",
    };
    let event = with_body(load_event(sample), Some(&body.to_string()));
    env.invoke(Endpoint::Recovery, event).await
}

async fn account(env: &TestEnv, sample: &str, who: &Value, body: Option<Value>) -> Value {
    let mut event = account_event(sample, who);
    if let Some(b) = body {
        event = with_body(event, Some(&b.to_string()));
    }
    env.invoke(Endpoint::Account, event).await
}

async fn me(env: &TestEnv, who: &Value) -> Value {
    let resp = account(env, "me.json", who, None).await;
    assert_eq!(status(&resp), 200, "{resp}");
    body(&resp)
}

/// The one mail to `to`, now: exactly one expected.
async fn only_mail(to: &str) -> SentMail {
    let mails = mails_to(to).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    mails[0].clone()
}

#[tokio::test]
async fn sign_up_with_an_address_mails_a_link_that_verifies_it_once() {
    let env = signup_env().await;
    let addr = fresh_email("Alice");
    let resp = register(&env, "alice", &addr.to_uppercase()).await;
    assert_eq!(status(&resp), 201, "{resp}");
    let who = identity_of(&resp);
    let profile = me(&env, &who).await;
    assert_eq!(profile["email"], json!(addr.to_lowercase()));
    assert_eq!(profile["email_verified"], json!(false));
    assert_eq!(profile["username"], json!("alice"));
    assert_eq!(
        profile["mfa"],
        json!({"totp": false, "passkeys": 0, "recovery_codes_left": 0})
    );
    assert_eq!(profile["identities"], json!([]));

    let mail = only_mail(&addr.to_lowercase()).await;
    assert_eq!(mail.subject, "Confirm your email address");
    assert!(
        mail.text
            .contains(&format!("{APP_URL}/verify-email#token=")),
        "{}",
        mail.text
    );
    assert_eq!(mail.text.matches("http").count(), 1, "one link");
    let token = mail.token();
    assert!(token.len() >= 22, "≥ 128 bits");

    let ok = recovery(&env, "/auth/email/verify", json!({"token": token})).await;
    assert_eq!(status(&ok), 204, "{ok}");
    assert_eq!(me(&env, &who).await["email_verified"], json!(true));
    let again = recovery(&env, "/auth/email/verify", json!({"token": token})).await;
    assert_eq!(status(&again), 400);
    assert_eq!(body(&again)["error"], "invalid_token");
}

#[tokio::test]
async fn an_address_belongs_to_one_user_and_bad_ones_are_refused() {
    let env = TestEnv::with(|c| {
        c.signup.enabled = true;
        c.email.required_on_signup = true;
    })
    .await;
    let addr = fresh_email("taken");
    assert_eq!(status(&register(&env, "first", &addr).await), 201);
    let taken = register(&env, "second", &addr).await;
    assert_eq!(status(&taken), 409, "{taken}");
    assert_eq!(body(&taken)["error"], "email_taken");
    // Nothing of the refused sign-up was written: the name is still free.
    let name = shared::domain::Username::parse("second").unwrap();
    assert!(env.app.store.get_user(&name).await.unwrap().is_none());

    for bad in [json!("not-an-address"), json!("a@localhost"), json!(42)] {
        let body = json!({"username": "third", "password": STRONG, "email": bad});
        let resp = env
            .invoke(Endpoint::Register, register_event(&body.to_string()))
            .await;
        assert_eq!(status(&resp), 400, "{bad}: {resp}");
        assert_eq!(self::body(&resp)["error"], "invalid_request");
    }
    let without = json!({"username": "third", "password": STRONG});
    let resp = env
        .invoke(Endpoint::Register, register_event(&without.to_string()))
        .await;
    assert_eq!(status(&resp), 400, "SIGNUP_REQUIRE_EMAIL: {resp}");
}

#[tokio::test]
async fn forgot_and_reset_set_a_new_password_and_end_every_session() {
    let env = signup_env().await;
    let addr = fresh_email("bob");
    let first = register(&env, "bob", &addr).await;
    let old_refresh = body(&first)["refresh_token"].as_str().unwrap().to_string();
    let verify = only_mail(&addr).await.token();
    // Three failures on the username: the reset clears them.
    for _ in 0..3 {
        assert_eq!(status(&env.login("bob", "wrong-wrong").await), 401);
    }

    let forgot = recovery(&env, "/auth/password/forgot", json!({"email": addr})).await;
    assert_eq!(status(&forgot), 202);
    assert_eq!(body(&forgot), json!({}));
    let mails = mails_to(&addr).await;
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].subject, "Reset your password");
    assert!(mails[1]
        .text
        .contains(&format!("{APP_URL}/reset-password#token=")));
    let reset = mails[1].token();
    assert_ne!(reset, verify);

    // A weak password spends nothing; the verify token is no reset token.
    let weak = recovery(
        &env,
        "/auth/password/reset",
        json!({"token": reset, "new_password": "bob"}),
    )
    .await;
    assert_eq!(status(&weak), 400);
    assert_eq!(body(&weak)["error"], "weak_password");
    let wrong_kind = recovery(
        &env,
        "/auth/password/reset",
        json!({"token": verify, "new_password": NEWER}),
    )
    .await;
    assert_eq!(body(&wrong_kind)["error"], "invalid_token");

    let done = recovery(
        &env,
        "/auth/password/reset",
        json!({"token": reset, "new_password": NEWER}),
    )
    .await;
    assert_eq!(status(&done), 204, "{done}");
    assert_eq!(status(&env.refresh_with_body(&old_refresh).await), 401);
    assert_eq!(status(&env.login("bob", STRONG).await), 401);
    let fresh = env.login("bob", NEWER).await;
    assert_eq!(status(&fresh), 200, "the lockout was cleared: {fresh}");
    assert_eq!(
        me(&env, &identity_of(&fresh)).await["email_verified"],
        json!(true)
    );
    let used = recovery(
        &env,
        "/auth/password/reset",
        json!({"token": reset, "new_password": "another fine passphrase 9"}),
    )
    .await;
    assert_eq!(status(&used), 400);
    assert_eq!(body(&used)["error"], "invalid_token");
}

#[tokio::test]
async fn tokens_that_are_unknown_expired_or_superseded_are_refused() {
    let env = signup_env().await;
    let addr = fresh_email("carol");
    register(&env, "carol", &addr).await;
    let reset = |token: String| {
        let env = &env;
        async move {
            let body = json!({"token": token, "new_password": NEWER});
            recovery(env, "/auth/password/reset", body).await
        }
    };
    for unknown in ["", "x", &"A".repeat(43), &"A".repeat(600)] {
        let resp = reset(unknown.to_string()).await;
        assert_eq!(status(&resp), 400, "{unknown:.10}: {resp}");
    }
    let forgot = || recovery(&env, "/auth/password/forgot", json!({"email": addr}));
    forgot().await;
    forgot().await;
    let mails = mails_to(&addr).await;
    let (older, newer) = (mails[1].token(), mails[2].token());
    let superseded = reset(older).await;
    assert_eq!(body(&superseded)["error"], "invalid_token", "{superseded}");

    env.clock.advance(env.cfg.email.token_ttl);
    let expired = reset(newer).await;
    assert_eq!(body(&expired)["error"], "invalid_token", "{expired}");
    assert_eq!(status(&env.login("carol", STRONG).await), 200);
}

#[tokio::test]
async fn forgot_answers_alike_for_unknown_addresses_and_mails_at_most_the_hourly_limit() {
    let env = std::sync::Arc::new(signup_env().await);
    let addr = fresh_email("dave");
    register(&env, "dave", &addr).await; // mail 1 of 5
    let unknown = fresh_email("nobody");
    let resp = recovery(&env, "/auth/password/forgot", json!({"email": unknown})).await;
    assert_eq!((status(&resp), body(&resp)), (202, json!({})));
    assert!(mails_to(&unknown).await.is_empty());

    let calls: Vec<_> = (0..20)
        .map(|_| {
            let env = env.clone();
            let addr = addr.clone();
            tokio::spawn(async move {
                status(&recovery(&env, "/auth/password/forgot", json!({"email": addr})).await)
            })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 202);
    }
    let max = env.cfg.email.max_per_hour as usize;
    assert_eq!(mails_to(&addr).await.len(), max, "20 at once, {max} mails");
    // An hour later the address gets mail again.
    env.clock.advance(3601);
    recovery(&env, "/auth/password/forgot", json!({"email": addr})).await;
    assert_eq!(mails_to(&addr).await.len(), max + 1);
}

#[tokio::test]
async fn forgot_takes_as_long_for_a_known_address_as_for_an_unknown_one() {
    let env = TestEnv::with(|c| {
        c.signup.enabled = true;
        c.email.max_per_hour = 1000;
    })
    .await;
    let addr = fresh_email("erin");
    register(&env, "erin", &addr).await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..8 {
        for (email, into) in [
            (addr.clone(), &mut known),
            (fresh_email(&format!("x{i}")), &mut unknown),
        ] {
            let started = Instant::now();
            let resp = recovery(&env, "/auth/password/forgot", json!({"email": email})).await;
            into.push(started.elapsed().as_secs_f64() * 1e3);
            assert_eq!(status(&resp), 202);
        }
    }
    assert_eq!(mails_to(&addr).await.len(), 9, "every known request mailed");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    let ratio = k.max(u) / k.min(u);
    println!("forgot timing: known {k:.1} ms, unknown {u:.1} ms, ratio {ratio:.3} (goal <= 1.2)");
    assert!(ratio <= 1.2, "known {k:.1} ms vs unknown {u:.1} ms");
}

#[tokio::test]
async fn an_address_change_takes_effect_once_verified_and_frees_the_old_one() {
    let env = signup_env().await;
    let (old, new) = (fresh_email("fay"), fresh_email("fay-new"));
    let resp = register(&env, "fay", &old).await;
    let who = identity_of(&resp);
    let change = |email: &str, password: &str| {
        let body = json!({"email": email, "current_password": password});
        account(&env, "email-change.json", &who, Some(body))
    };
    let wrong = change(&new, "not-my-password").await;
    assert_eq!(status(&wrong), 401);
    assert_eq!(body(&wrong)["error"], "invalid_credentials");
    let bad = change("nope", STRONG).await;
    assert_eq!(status(&bad), 400);

    let accepted = change(&new, STRONG).await;
    assert_eq!(status(&accepted), 202, "{accepted}");
    assert_eq!(
        me(&env, &who).await["email"],
        json!(old),
        "not before it is verified"
    );
    let token = only_mail(&new).await.token();
    assert_eq!(
        status(&recovery(&env, "/auth/email/verify", json!({"token": token})).await),
        204
    );
    let profile = me(&env, &who).await;
    assert_eq!(
        (profile["email"].clone(), profile["email_verified"].clone()),
        (json!(new), json!(true))
    );
    // The old address is free again; the new one is taken.
    assert_eq!(status(&register(&env, "gus", &old).await), 201);
    let taken = change(&old, STRONG).await;
    assert_eq!(status(&taken), 409);
    assert_eq!(body(&taken)["error"], "email_taken");
}

#[tokio::test]
async fn a_mail_service_that_refuses_loses_no_request() {
    // moto refuses a sender that is not a verified identity, as SES does.
    let env = TestEnv::with(|c| {
        c.signup.enabled = true;
        c.email.from = Some("nobody@unverified.example".into());
    })
    .await;
    let addr = fresh_email("hal");
    let resp = register(&env, "hal", &addr).await;
    assert_eq!(status(&resp), 503, "{resp}");
    assert_eq!(body(&resp)["error"], "temporarily_unavailable");
    let name = shared::domain::Username::parse("hal").unwrap();
    assert!(
        env.app.store.get_user(&name).await.unwrap().is_none(),
        "the sign-up was undone, so a retry can succeed"
    );
    // forgot still answers 202 (the failure is logged and counted).
    env.create_user("ida", STRONG, &[]).await;
    let forgot = recovery(&env, "/auth/password/forgot", json!({"email": addr})).await;
    assert_eq!(status(&forgot), 202);
}

#[tokio::test]
async fn without_email_from_the_email_routes_answer_503() {
    let env = TestEnv::with(|c| {
        c.signup.enabled = true;
        c.email.from = None;
    })
    .await;
    for (path, body) in [
        ("/auth/password/forgot", json!({"email": "a@example.com"})),
        ("/auth/email/verify", json!({"token": "A".repeat(43)})),
        (
            "/auth/password/reset",
            json!({"token": "A".repeat(43), "new_password": NEWER}),
        ),
    ] {
        let resp = recovery(&env, path, body).await;
        assert_eq!(status(&resp), 503, "{path}: {resp}");
        assert_eq!(self::body(&resp)["error"], "temporarily_unavailable");
    }
    let resp = register(&env, "jan", &fresh_email("jan")).await;
    assert_eq!(status(&resp), 503);
    // Sign-up without an address still works.
    let plain = json!({"username": "jan", "password": STRONG});
    let ok = env
        .invoke(Endpoint::Register, register_event(&plain.to_string()))
        .await;
    assert_eq!(status(&ok), 201);
}

#[tokio::test]
async fn email_routes_refuse_bad_bodies_and_content_types() {
    let env = signup_env().await;
    for (path, body) in [
        ("/auth/password/forgot", "{}"),
        ("/auth/password/forgot", r#"{"email": 1}"#),
        ("/auth/password/reset", r#"{"token": "x"}"#),
        ("/auth/email/verify", r#"{"token": 5}"#),
        ("/auth/email/verify", "[]"),
        ("/auth/email/verify", "not json"),
    ] {
        let sample = if path.ends_with("forgot") {
            "password-forgot.json"
        } else {
            "email-verify.json"
        };
        let mut event = with_body(load_event(sample), Some(body));
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
        let resp = env.invoke(Endpoint::Recovery, event).await;
        assert_eq!(status(&resp), 400, "{path} {body}: {resp}");
        assert_eq!(self::body(&resp)["error"], "invalid_request");
    }
    let mut form = with_body(load_event("password-forgot.json"), Some("email=a@b.co"));
    form["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    assert_eq!(status(&env.invoke(Endpoint::Recovery, form).await), 415);
}

#[tokio::test]
async fn one_reset_token_spent_eight_times_at_once_sets_one_password() {
    let env = std::sync::Arc::new(signup_env().await);
    let addr = fresh_email("kit");
    register(&env, "kit", &addr).await;
    recovery(&env, "/auth/password/forgot", json!({"email": addr})).await;
    let token = mails_to(&addr).await[1].token();
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let (env, token) = (env.clone(), token.clone());
            tokio::spawn(async move {
                let body = json!({"token": token, "new_password": format!("{NEWER} {i}")});
                let resp = recovery(&env, "/auth/password/reset", body).await;
                (status(&resp), i)
            })
        })
        .collect();
    let mut won = Vec::new();
    for call in calls {
        let (code, i) = call.await.unwrap();
        match code {
            204 => won.push(i),
            400 => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one reset wins: {won:?}");
    let winner = format!("{NEWER} {}", won[0]);
    assert_eq!(status(&env.login("kit", &winner).await), 200);
}
